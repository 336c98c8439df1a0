"""Each document's terms in order, section by section, per segment,
memory-mapped.

Discovery reads its candidate phrases (sequences of two to four words said
within one clause of a section, kb.search.analysis.clauses) from every
debrief of a subset, however large. The index keeps no positions, and its
`pairs` field cannot tell a pair said within a section from one that only
meets across two sections or names; reading the debriefs' text again costs
analysing it. Here a segment's documents are kept as rows of term numbers
(those of the segment's `text` term table, kb.search.termtable), each
clause followed by BREAK, so that a set's sequences are a few numpy
operations over its rows.

A segment's documents' names (what the index also reads as their text, kept
apart: a phrase said only in names is not what a debrief says) are a second
table of the same kind, each name a section. A table is a file beside the
segment ("<segment id>.kb_sequences_<kind>", removed by Whoosh with the
segment), written by the bulk builder as it adds the segment's documents
(StreamWriter), or by the first process that needs it from what its caller
reads for each document (a segment written by the incremental writer or a
merge: the index does not store the text); every process maps the same
file. That first-use build happens once per machine: the builder holds an
flock on "<table>.lock" (released by the operating system if it dies), the
other processes and threads wait for it and map what it wrote. A table is
written under another name ("<table>.<pid>.<thread>.partial") and renamed
when complete, so a table is never seen half-written; the partial file of
a builder killed meanwhile is removed by the next one (and by Whoosh with
the segment). Rows are streamed to disk as they are made, so a build holds
one chunk of documents at a time. Deleted documents keep their rows: a caller
reads only the rows of the live documents it asks about.

File layout (little-endian): a header of eight unsigned 64-bit numbers
(MAGIC, VERSION, documents, entries, 0, 0, 0, 0); the row offsets
(documents + 1, uint64); the entries (int32: a term number, BREAK after
each section, MISSING for a term the segment's term table lacks).
"""

import contextlib
import mmap
import os
from array import array
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np

from kb.search.segment_tables import HEADER, Kept, map_file, partial_path

MAGIC = 0x4B42_5345_5155_4E31  # "KBSEQUN1"
VERSION = 1
BREAK = -1  # the end of a clause (or a name)
MISSING = -2  # a term the segment's term table lacks: it ends any sequence too
# Documents whose rows are gathered at once (bounds the temporary arrays).
CHUNK = 4096


KINDS = ("sections", "names")


def path_of(folder: Path, segment_id: str, kind: str) -> Path:
    return folder / f"{segment_id}.kb_sequences_{kind}"


def write(path: Path, size: int, rows: Iterable[list[list[int]]]) -> None:
    """Write a table of `size` documents from each document's sections (a
    list of term numbers each), in document order, streamed to disk."""
    temporary = partial_path(path)
    offsets = np.zeros(size + 1, np.uint64)
    try:
        with open(temporary, "wb") as file:
            file.write(b"\0" * 8 * (HEADER + size + 1))  # filled in at the end
            total = written = 0
            for docnum, sections in enumerate(rows):
                row = []
                for terms in sections:
                    row += terms
                    row.append(BREAK)
                if row:
                    file.write(np.asarray(row, "<i4").tobytes())
                total += len(row)
                offsets[docnum + 1] = total
                written = docnum + 1
            if written != size:
                raise ValueError(f"{size} documents expected, {written} given")
            file.seek(0)
            file.write(_header(size, total))
            file.write(offsets.astype("<u8").tobytes())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _header(size: int, total: int) -> bytes:
    return np.array([MAGIC, VERSION, size, total, 0, 0, 0, 0], "<u8").tobytes()


class Provisional(dict):
    """term → a provisional number, the order in which a builder first met
    it: what its rows hold until the segment's term numbers are known."""

    __slots__ = ()

    def __missing__(self, term):
        found = self[term] = len(self)
        return found


class StreamWriter:
    """A table written by the bulk builder as it adds its documents, in
    order: each row goes to a run file at once, in provisional numbers,
    which `finish` rewrites a chunk at a time as the segment's term numbers
    (the same bytes as `write`, tests/test_search_sequences.py). Holds one
    buffer of entries and a number per document."""

    BUFFER = 1 << 18  # entries written at once

    def __init__(self, path: Path, numbers: Provisional):
        self.path = path
        self.numbers = numbers
        self.run = path.with_name(f".{path.name}.{os.getpid()}.run")
        self.file = open(self.run, "wb")  # noqa: SIM115  (closed by finish or discard)
        self.offsets = array("Q", [0])
        self.buffer = array("i")
        self.total = 0

    def add(self, sections: list[list[str]]) -> None:
        """The next document's sections (or names), as terms."""
        buffer, lookup = self.buffer, self.numbers.__getitem__
        for terms in sections:
            buffer.extend(map(lookup, terms))
            buffer.append(BREAK)
        self.offsets.append(self.total + len(buffer))
        if len(buffer) >= self.BUFFER:
            self._flush()

    def _flush(self) -> None:
        self.total += len(self.buffer)
        self.buffer.tofile(self.file)
        del self.buffer[:]

    def finish(self, final: np.ndarray) -> Path:
        """Write the table under a hidden name, each provisional number p
        as final[p] (a term number, or MISSING); returns that name, to be
        renamed to the table's once the segment is complete."""
        self._flush()
        self.file.close()
        size = len(self.offsets) - 1
        hidden = self.path.with_name(f".{self.path.name}.{os.getpid()}")
        with open(hidden, "wb") as out:
            out.write(_header(size, self.total))
            out.write(np.frombuffer(self.offsets, np.uint64).astype("<u8").tobytes())
            if self.total:
                run = np.memmap(self.run, np.int32, "r", shape=(self.total,))
                # A break indexes the last entry, and is kept as it is.
                lookup = np.append(final.astype(np.int32), np.int32(MISSING))
                for start in range(0, self.total, self.BUFFER * 4):
                    part = np.asarray(run[start : start + self.BUFFER * 4])
                    out.write(np.where(part >= 0, lookup[part], part).astype("<i4").tobytes())
                del run
        self.run.unlink()
        return hidden

    def discard(self) -> None:
        with contextlib.suppress(OSError):
            self.file.close()
        self.run.unlink(missing_ok=True)
        self.path.with_name(f".{self.path.name}.{os.getpid()}").unlink(missing_ok=True)


class Table:
    """One segment's sequences, mapped."""

    def __init__(self, path: Path):
        self._map, header = map_file(path, MAGIC, VERSION, "sequence table")
        buf = self._map
        self.size, entries = header[:2]
        at = HEADER * 8
        self.offsets = np.frombuffer(buf, "<u8", self.size + 1, at).astype(np.int64)
        at += (self.size + 1) * 8
        if at + entries * 4 != len(buf):
            raise ValueError(f"{path} is truncated")
        self.entries = np.frombuffer(buf, "<i4", entries, at)

    def release_pages(self) -> None:
        """Drop this process's mapping of the table's pages (read-only, so
        nothing is lost: the next read faults them in from the page cache)."""
        # Closed meanwhile, or a system without madvise: nothing to drop.
        with contextlib.suppress(ValueError, OSError, AttributeError):
            self._map.madvise(mmap.MADV_DONTNEED)

    def rows(self, docs: np.ndarray) -> Iterator[np.ndarray]:
        """The entries of these documents (local numbers), chunk by chunk,
        one row after another (every row ends with BREAK)."""
        offsets, entries = self.offsets, self.entries
        for start in range(0, docs.size, CHUNK):
            part = docs[start : start + CHUNK]
            first, last = offsets[part], offsets[part + 1]
            lengths = last - first
            total = int(lengths.sum())
            if not total:
                continue
            ends = np.cumsum(lengths)
            index = np.arange(total, dtype=np.int64) + np.repeat(first - (ends - lengths), lengths)
            yield entries[index]


_kept: Kept[Table] = Kept("sequence table")


def table(folder: Path | None, segment_id: str, kind: str, size: int, rows: Callable[[], Iterable]):
    """The segment's table of `kind`, mapped; written from `rows()` (each
    document's sections as term numbers, in document order) when missing,
    by one thread of one process of the machine while the others wait.
    None when there is no folder to keep it in."""
    if folder is None:
        return None
    path = path_of(folder, segment_id, kind)
    return _kept.get(path, lambda: _mapped(path, size), lambda: write(path, size, rows()), size)


def _mapped(path: Path, size: int) -> Table | None:
    try:
        found = Table(path)
    except (OSError, ValueError):
        return None
    return found if found.size == size else None


def release_pages() -> None:
    """Unmap the pages of the sequence tables read so far from this process (the
    page cache keeps them, shared with the machine's other processes; a
    later read maps them again from it). For after a discovery, so that a
    worker's resident memory does not keep them."""
    _kept.release_pages()


def forget(folder: Path, keep: set[str]) -> None:
    """Let go of the maps of segments no longer read (see termtable.forget)."""
    _kept.forget(folder, keep)
