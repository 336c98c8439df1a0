"""Each term's documents, per segment, memory-mapped: a segment's term table
(kb.search.termtable, from each document to its terms) turned around.

Discovery keeps, for each set of debriefs it counts phrases in, bitmaps of
the set's own documents holding each of the word pairs its phrases are made
of (kb.themes.tallies). Read from the term table, a round of counting passes
over every entry of a segment (a large set) to find a few thousand pairs'
documents; read from here it touches only those pairs' documents: a term's
documents are one slice of this table.

A table is a file beside the segment ("<segment id>.kb_postings_<field>",
removed by Whoosh with the segment), written from the segment's term table
by the first process that needs it, as kb.search.sequences writes its
tables: one thread of one process of the machine builds it, holding an
flock on "<table>.lock" (released by the operating system if it dies), the
others wait and map what it wrote; it is written under another name
("<table>.<pid>.<thread>.partial") and renamed when complete, so a table is
never seen half-written, and a dead builder's partial file is removed by
the next one (and by Whoosh with the segment). The build streams the term
table a chunk of documents at a time into the mapped file, so it holds one
chunk and a number per term. Deleted documents keep their entries, as in
the term table: a caller keeps only the live documents it asks about.

File layout (little-endian): a header of eight unsigned 64-bit numbers
(MAGIC, VERSION, documents, terms, entries, 0, 0, 0); each term's offset in
the entries (terms + 1, uint64); the entries (uint32: the documents of each
term, ascending, term after term, padded to 8 bytes).
"""

import contextlib
import mmap
import os
from pathlib import Path

import numpy as np

from kb.search.segment_tables import HEADER, Kept, map_file, partial_path

MAGIC = 0x4B42_504F_5354_5331  # "KBPOSTS1"
VERSION = 1
# Documents of the term table turned around at once (bounds the temporary arrays).
CHUNK = 8192


def path_of(folder: Path, segment_id: str, field: str) -> Path:
    return folder / f"{segment_id}.kb_postings_{field}"


def _pad(count: int) -> int:
    """uint32 items taking `count` items, padded to 8 bytes."""
    return (count + 1) // 2 * 2


def write(path: Path, terms) -> None:
    """Write the table of a term table (kb.search.termtable.Table or any
    object with its `size`, `terms`, `offsets` and `entries`)."""
    size, count = terms.size, terms.terms
    offsets, entries = terms.offsets, terms.entries
    total = int(offsets[-1]) if size else 0
    # Each term's documents in the table: counted first, then placed chunk by chunk.
    per_term = np.zeros(count, np.int64)
    for start in range(0, size, CHUNK):
        stop = min(size, start + CHUNK)
        part = entries[int(offsets[start]) : int(offsets[stop])]
        if part.size:
            per_term += np.bincount(part, minlength=count)
    starts = np.zeros(count + 1, np.uint64)
    np.cumsum(per_term, out=starts[1:])
    del per_term
    temporary = partial_path(path)
    header = np.array([MAGIC, VERSION, size, count, total, 0, 0, 0], "<u8")
    at = (HEADER + count + 1) * 8
    try:
        with open(temporary, "wb") as file:
            file.write(header.tobytes())
            file.write(starts.astype("<u8").tobytes())
            file.truncate(at + _pad(total) * 4)
        if total:
            out = np.memmap(temporary, "<u4", "r+", at, (total,))
            cursor = starts[:-1].astype(np.int64)
            for start in range(0, size, CHUNK):
                stop = min(size, start + CHUNK)
                first, last = int(offsets[start]), int(offsets[stop])
                if last == first:
                    continue
                part = np.asarray(entries[first:last], np.int64)
                docs = np.repeat(
                    np.arange(start, stop, dtype=np.uint32), np.diff(offsets[start : stop + 1])
                )
                # By term, each term's documents kept ascending (a stable sort),
                # after those of the chunks before.
                order = np.argsort(part, kind="stable")
                part, docs = part[order], docs[order]
                new = np.flatnonzero(np.r_[True, part[1:] != part[:-1]])
                runs = np.diff(np.r_[new, part.size])
                rank = np.arange(part.size) - np.repeat(new, runs)
                out[cursor[part] + rank] = docs
                cursor[part[new]] += runs
            out.flush()
            del out
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


class Table:
    """One segment's postings of one field, mapped."""

    def __init__(self, path: Path):
        self._map, header = map_file(path, MAGIC, VERSION, "postings table")
        buf = self._map
        self.size, self.terms, self.total = header[:3]
        at = HEADER * 8
        self.offsets = np.frombuffer(buf, "<u8", self.terms + 1, at).astype(np.int64, copy=False)
        at += (self.terms + 1) * 8
        if at + _pad(self.total) * 4 != len(buf):
            raise ValueError(f"{path} is truncated")
        self.docs = np.frombuffer(buf, "<u4", self.total, at)

    def release_pages(self) -> None:
        """Drop this process's mapping of the table's pages (read-only, so
        nothing is lost: the next read faults them in from the page cache)."""
        # Closed meanwhile, or a system without madvise: nothing to drop.
        with contextlib.suppress(ValueError, OSError, AttributeError):
            self._map.madvise(mmap.MADV_DONTNEED)

    def lengths(self, numbers: np.ndarray) -> np.ndarray:
        """How many documents hold each of these term numbers (-1: none)."""
        numbers = np.asarray(numbers, np.int64)
        valid = numbers >= 0
        found = np.zeros(numbers.size, np.int64)
        found[valid] = self.offsets[numbers[valid] + 1] - self.offsets[numbers[valid]]
        return found

    def runs(self, numbers: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The documents (local numbers) holding each of these term numbers
        (-1 for none), term after term: (the positions in `numbers` of the
        terms found, how many documents each, the documents, each term's
        ascending)."""
        numbers = np.asarray(numbers, np.int64)
        at = np.flatnonzero(numbers >= 0)
        first = self.offsets[numbers[at]]
        lengths = self.offsets[numbers[at] + 1] - first
        total = int(lengths.sum())
        if not total:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.uint32)
        ends = np.cumsum(lengths)
        index = np.arange(total, dtype=np.int64) + np.repeat(first - (ends - lengths), lengths)
        return at, lengths, self.docs[index]

    def postings(self, numbers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """runs as (the position in `numbers`, the document) for every
        document holding one of these terms, by position, then document."""
        at, lengths, docs = self.runs(numbers)
        return np.repeat(at, lengths), docs


_kept: Kept[Table] = Kept("postings table")


def table(folder: Path | None, segment_id: str, field: str, terms) -> Table | None:
    """The segment's postings of `field`, mapped; written from its term
    table `terms` when missing, by one thread of one process of the machine
    while the others wait. None when there is no folder to keep it in."""
    if folder is None or terms is None:
        return None
    path = path_of(folder, segment_id, field)
    return _kept.get(path, lambda: _mapped(path, terms), lambda: write(path, terms), terms.size)


def _mapped(path: Path, terms) -> Table | None:
    try:
        found = Table(path)
    except (OSError, ValueError):
        return None
    total = int(terms.offsets[-1]) if terms.size else 0
    if (found.size, found.terms, found.total) != (terms.size, terms.terms, total):
        return None
    return found


def release_pages() -> None:
    """Unmap the pages of the postings tables read so far from this process
    (see termtable.release_pages)."""
    _kept.release_pages()


def forget(folder: Path, keep: set[str]) -> None:
    """Let go of the maps of segments no longer read (see termtable.forget)."""
    _kept.forget(folder, keep)
