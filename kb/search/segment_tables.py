"""Tables kept beside an index segment (discovery's sequence and postings
tables): mapped once per process, written once per machine.

A table missing or out of date is written by one thread of one process
while the others wait: threads of a process on a lock of its own per file,
processes on an flock of `<table>.lock` (released on close, or death). The
writer writes a partial file and renames it into place, so a reader never
maps half a table; a dead writer's partial file is removed by the next."""

import fcntl
import logging
import mmap
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

import numpy as np

log = logging.getLogger(__name__)

LOCK = ".lock"
PARTIAL = ".partial"
# 64-bit words at the start of a table: its magic number, its version, then
# what its kind keeps there.
HEADER = 8

T = TypeVar("T")


class Kept(Generic[T]):
    """This process's mapped tables of one kind, by path."""

    def __init__(self, kind: str):
        self.kind = kind  # as the log names it
        self._tables: dict[Path, T] = {}
        self._lock = threading.Lock()
        self._building: dict[Path, threading.Lock] = {}

    def paths(self) -> list[Path]:
        with self._lock:
            return list(self._tables)

    def get(
        self,
        path: Path,
        mapped: Callable[[], T | None],
        write: Callable[[], None],
        size: int,
    ) -> T | None:
        """The table at `path`: kept, else `mapped()` (None when missing or
        out of date), else written by `write()` (through partial_path) and
        mapped. None when it cannot be written."""
        with self._lock:
            found = self._tables.get(path)
            if found is not None:
                return found
            building = self._building.setdefault(path, threading.Lock())
        with building:  # one thread of a process builds it; the others wait
            with self._lock:
                found = self._tables.get(path)
            if found is not None:
                return found
            found = mapped()
            if found is None:
                try:
                    found = self._build(path, mapped, write, size)
                except OSError:
                    return None
            with self._lock:
                self._building.pop(path, None)
                return self._tables.setdefault(path, found)

    def _build(self, path: Path, mapped, write, size: int) -> T:
        """Write the table unless another process wrote it while this one
        waited for the lock (held until the table is in place)."""
        with open(path.with_name(path.name + LOCK), "a") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)  # released on close, or death
            found = mapped()
            if found is not None:
                return found
            # Holding the lock, any partial file is a dead builder's.
            for left in path.parent.glob(f"{path.name}.*{PARTIAL}"):
                left.unlink(missing_ok=True)
            started = time.monotonic()
            write()
            log.info(
                "search: %s %s of %d documents written in %.1f s",
                self.kind,
                path.name,
                size,
                time.monotonic() - started,
            )
            found = mapped()
            if found is None:
                raise OSError(f"{path} could not be read back")
            return found

    def release_pages(self) -> None:
        """Unmap the pages read so far from this process (the page cache
        keeps them, shared with the machine's other processes; a later read
        maps them again from it)."""
        with self._lock:
            found = list(self._tables.values())
        for table in found:
            table.release_pages()

    def forget(self, folder: Path, keep: set[str]) -> None:
        """Let go of the maps of segments no longer read (those of `folder`
        not in `keep`, and those of other folders: an index generation
        replaced)."""
        with self._lock:
            for path in list(self._tables):
                if path.parent != folder or path.name.split(".", 1)[0] not in keep:
                    del self._tables[path]


def partial_path(path: Path) -> Path:
    """Where a writer of `path` writes before renaming it into place: a
    name of this process and thread."""
    return path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}{PARTIAL}")


def map_file(path: Path, magic: int, version: int, kind: str) -> tuple[mmap.mmap, list[int]]:
    """A table file mapped read-only, and its header's words after its magic
    number and version. ValueError when it is not a `kind` of this version."""
    with open(path, "rb") as file:
        mapped = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
    header = np.frombuffer(mapped, "<u8", HEADER)
    if int(header[0]) != magic or int(header[1]) != version:
        raise ValueError(f"{path} is not a {kind} of this version")
    return mapped, [int(v) for v in header[2:]]
