"""The index folder (KB_INDEX_DIR) on disk:

    CURRENT            the name of the generation searches use
    gen-<stamp>-<id>/  a complete Whoosh index, plus applied.json: how far into
                       the outbox this generation has applied
    indexer.lock       held (flock) for its lifetime by this machine's one indexer
    writer.lock        held (flock) while a batch of changes is applied
    rebuild.lock       held (flock) by the one process rebuilding

Every lock is an flock on an open file: the operating system lets go when
the holder dies, so a killed process never leaves a lock behind.

A rebuild writes a new generation beside the current one and switches
CURRENT to it with an atomic rename, so searches never see a half-built
index. The cursor lives with its generation, not in the database: several
machines may share one database, each with its own index folder.
"""

import contextlib
import fcntl
import json
import os
import secrets
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

POINTER = "CURRENT"
CURSOR = "applied.json"
BUILDING = "BUILDING"
PREFIX = "gen-"

_thread_locks: dict[str, threading.Lock] = {}
_thread_locks_guard = threading.Lock()


@dataclass
class Cursor:
    """Outbox ids applied: all ids up to `applied_id`, except `gaps`: ids
    below it not yet seen committed (mapped to when they were first missed).
    PostgreSQL hands out ids at insert time, so a transaction that started
    earlier can commit a smaller id after a larger one is already visible."""

    applied_id: int = 0
    gaps: dict[int, float] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(
            {"applied_id": self.applied_id, "gaps": {str(k): v for k, v in self.gaps.items()}}
        )

    @classmethod
    def from_json(cls, text: str) -> "Cursor":
        data = json.loads(text)
        gaps = {int(k): float(v) for k, v in data.get("gaps", {}).items()}
        return cls(int(data["applied_id"]), gaps)


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class IndexFolder:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    # Generations

    def current(self) -> Path | None:
        """The active generation's folder, or None when there is none."""
        try:
            name = (self.root / POINTER).read_text(encoding="utf-8").strip()
        except (FileNotFoundError, NotADirectoryError):
            return None
        path = self.root / name
        return path if name.startswith(PREFIX) and path.is_dir() else None

    def pointer_stamp(self) -> tuple[int, int] | None:
        """Changes whenever CURRENT is switched (a new file each time)."""
        try:
            stat = (self.root / POINTER).stat()
        except FileNotFoundError:
            return None
        return stat.st_ino, stat.st_mtime_ns

    def new_generation(self) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        name = f"{PREFIX}{time.strftime('%Y%m%d%H%M%S')}-{secrets.token_hex(3)}"
        path = self.root / name
        path.mkdir()
        (path / BUILDING).write_text(str(os.getpid()))
        return path

    def activate(self, generation: Path) -> None:
        (generation / BUILDING).unlink(missing_ok=True)
        _write_atomically(self.root / POINTER, generation.name + "\n")

    def remove_old_generations(self, keep: Path | None) -> None:
        """Delete every generation but `keep`, half-built ones included. The
        caller holds rebuild.lock, so no other process is building one."""
        for path in self.root.glob(PREFIX + "*"):
            if path != keep and path.is_dir():
                shutil.rmtree(path, ignore_errors=True)

    # Cursor

    def read_cursor(self, generation: Path) -> Cursor | None:
        try:
            return Cursor.from_json((generation / CURSOR).read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError, KeyError, TypeError):
            return None

    def write_cursor(self, generation: Path, cursor: Cursor) -> None:
        _write_atomically(generation / CURSOR, cursor.to_json())

    # Locks

    @contextlib.contextmanager
    def lock(self, name: str, timeout: float) -> Iterator[bool]:
        """Hold `name` exclusively across threads and processes; yields False
        (without waiting longer) when it cannot be had within `timeout`."""
        self.root.mkdir(parents=True, exist_ok=True)
        path = str(self.root / name)
        with _thread_locks_guard:
            thread_lock = _thread_locks.setdefault(path, threading.Lock())
        acquired = (
            thread_lock.acquire(timeout=timeout) if timeout > 0 else thread_lock.acquire(False)
        )
        if not acquired:
            yield False
            return
        try:
            with open(path, "a+") as handle:
                deadline = time.monotonic() + timeout
                while True:
                    try:
                        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except BlockingIOError:
                        if time.monotonic() >= deadline:
                            yield False
                            return
                        time.sleep(0.01)
                try:
                    yield True
                finally:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        finally:
            thread_lock.release()

    def hold(self, name: str):
        """An open file holding `name` exclusively, or None when another
        process or thread holds it. The lock lasts until the file is closed
        or its process ends."""
        self.root.mkdir(parents=True, exist_ok=True)
        handle = open(self.root / name, "a+")  # noqa: SIM115  (returned to the holder)
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return None
        return handle
