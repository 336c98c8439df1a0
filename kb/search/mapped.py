"""Segment files read from their memory map, without a copy.

Whoosh maps each segment's compound file and opens the files inside it as
`BufferFile`s over slices of the map, but `BufferFile` wraps its slice in a
`BytesIO`, and a `BytesIO` made from a memoryview copies it. Every searcher
therefore held a private copy of the segment files it opened (about a third
of the index: 23 MB of a 25 MB index at 20,000 debriefs, per thread with a
searcher), where the map itself is shared by every process of the machine
through the page cache. `MappedReader` is the file object `BufferFile` reads
through instead: it keeps the slice and a position, and copies only the
bytes each read asks for.
"""

import os

from whoosh.filedb import structfile


class MappedReader:
    """A read-only, seekable binary file over a buffer (a memoryview of a
    map), that copies only what is read."""

    __slots__ = ("_buf", "_pos", "_size", "closed")

    def __init__(self, buf):
        self._buf = memoryview(buf).cast("B") if not isinstance(buf, bytes) else buf
        self._size = len(self._buf)
        self._pos = 0
        self.closed = False

    def read(self, size: int | None = -1) -> bytes:
        start = self._pos
        end = self._size if size is None or size < 0 else min(self._size, start + size)
        if end <= start:
            return b""
        self._pos = end
        return bytes(self._buf[start:end])

    def read1(self, size: int = -1) -> bytes:
        return self.read(size)

    def readinto(self, target) -> int:
        data = self.read(len(target))
        target[: len(data)] = data
        return len(data)

    def readline(self, size: int | None = -1) -> bytes:
        start = self._pos
        end = self._size if size is None or size < 0 else min(self._size, start + size)
        buf, stop = self._buf, end
        if isinstance(buf, bytes):
            found = buf.find(b"\n", start, end)
            stop = found + 1 if found >= 0 else end
        else:
            for chunk in range(start, end, 4096):
                found = bytes(buf[chunk : min(end, chunk + 4096)]).find(b"\n")
                if found >= 0:
                    stop = chunk + found + 1
                    break
        self._pos = max(start, stop)
        return bytes(buf[start : self._pos])

    def __iter__(self):
        while line := self.readline():
            yield line

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        if whence == os.SEEK_CUR:
            offset += self._pos
        elif whence == os.SEEK_END:
            offset += self._size
        if offset < 0:
            raise ValueError(f"negative seek position {offset}")
        self._pos = offset
        return offset

    def tell(self) -> int:
        return self._pos

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return False

    def write(self, _data) -> int:
        raise OSError("a mapped segment file is read-only")

    def truncate(self, _size=None) -> int:
        raise OSError("a mapped segment file is read-only")

    def flush(self) -> None:
        pass

    def close(self) -> None:
        # Let go of the slice, so that the map can be closed.
        self.closed = True
        self._buf = b""
        self._size = self._pos = 0

    def getvalue(self) -> bytes:
        return bytes(self._buf)


def _buffer_file_init(self, buf, name=None, onclose=None):
    self._buf = buf
    self._name = name
    self.file = MappedReader(buf)
    self.onclose = onclose
    self.is_real = False
    self.is_closed = False


def install() -> None:
    """Make Whoosh's BufferFile read through MappedReader (once per process)."""
    if structfile.BufferFile.__init__ is not _buffer_file_init:
        structfile.BufferFile.__init__ = _buffer_file_init


install()
