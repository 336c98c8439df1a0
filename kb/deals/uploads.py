"""Uploaded CRM files, kept in the instance folder between the upload, the
mapping step and the import: under a random name, readable by the person who
uploaded them (and admins), removed after a day."""

import json
import os
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from flask import current_app

from kb.models import Role, User

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
KEEP_SECONDS = 24 * 3600
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32}$")


class TooLarge(Exception):
    pass


@dataclass
class Upload:
    token: str
    filename: str
    user_id: int
    folder: Path

    @property
    def data(self) -> bytes:
        return (self.folder / f"{self.token}.csv").read_bytes()

    @property
    def errors_path(self) -> Path:
        return self.folder / f"{self.token}.errors.csv"

    def save_errors(self, text: str) -> None:
        self.errors_path.write_text(text, encoding="utf-8-sig")


def max_bytes() -> int:
    return int(current_app.config.get("KB_IMPORT_MAX_BYTES", DEFAULT_MAX_BYTES))


def folder() -> Path:
    path = Path(current_app.instance_path) / "imports"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def read_limited(stream, limit: int) -> bytes:
    """The uploaded bytes; TooLarge past `limit`, without reading much further."""
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise TooLarge
    return data


def _write_new(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def save(data: bytes, filename: str, user: User) -> Upload:
    remove_old()
    token = secrets.token_urlsafe(24)
    name = os.path.basename(filename.replace("\\", "/"))[:120] or "upload.csv"
    path = folder()
    _write_new(path / f"{token}.csv", data)
    meta = {"filename": name, "user_id": user.id}
    _write_new(path / f"{token}.json", json.dumps(meta).encode())
    return Upload(token, name, user.id, path)


def load(token: str, user: User) -> Upload | None:
    """The upload behind `token`, if it exists and `user` may use it."""
    if not _TOKEN.match(token):
        return None
    path = folder()
    try:
        meta = json.loads((path / f"{token}.json").read_text())
    except (OSError, ValueError):
        return None
    if not (path / f"{token}.csv").exists():
        return None
    if meta.get("user_id") != user.id and user.role != Role.ADMIN:
        return None
    return Upload(token, meta.get("filename", ""), meta.get("user_id"), path)


def remove_old(now: float | None = None) -> None:
    cutoff = (now or time.time()) - KEEP_SECONDS
    for entry in folder().iterdir():
        try:
            if entry.is_file() and entry.stat().st_mtime < cutoff:
                entry.unlink()
        except OSError:
            pass
