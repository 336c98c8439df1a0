"""Each document's terms as numbers, per segment, memory-mapped.

Discovery needs, for a set of documents (tens of thousands of debriefs), the
number of them holding each word and each word pair of the index, and for a
few hundred of those the documents themselves. Decoding a term's postings
from Whoosh costs a Python step per block, and a set's words and pairs are
hundreds of thousands of terms; reading the debriefs' text again costs
analysing it. Here a segment's `text` and `pairs` fields are kept as a table
from each document to the numbers of its distinct terms (rows of unsigned
32-bit numbers), with the segment's sorted term list, so that the counts of
every term over any set of documents are one `numpy.bincount` over that
set's rows.

A table is a file beside the segment ("<segment id>.kb_terms_<field>",
removed by Whoosh with the segment), written by the bulk builder as it
writes the segment's terms (TableWriter), or from the segment's postings by
the first process that needs it (a segment written by the incremental
writer or a merge, or an index from before tables were written); every
process maps the same file, so the web workers of a machine share its
pages. Deleted documents keep their rows: a caller counts only the rows of
the live documents it asks about.

File layout (little-endian): a header of eight unsigned 64-bit numbers
(MAGIC, VERSION, documents, terms, table entries, bytes of term text, 0, 0);
the row offsets (documents + 1, uint64); the entries (uint32, padded to 8
bytes); each term's offset in the text (terms + 1, uint64); the terms'
hashes, ascending (uint64), and the term number of each (uint32, padded);
the terms' UTF-8 text, in the segment's (sorted) order.
"""

import contextlib
import hashlib
import mmap
import os
import threading
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from kb.search import postings_table
from kb.search.segment_tables import HEADER, map_file

FIELDS = ("text", "pairs")
MAGIC = 0x4B42_5445_524D_5331  # "KBTERMS1"
VERSION = 1
# Documents whose rows are gathered at once (bounds the temporary arrays).
CHUNK = 8192


def _hash(term: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(term, digest_size=8).digest(), "little")


def path_of(folder: Path, segment_id: str, field: str) -> Path:
    return folder / f"{segment_id}.kb_terms_{field}"


def _pad(count: int, itemsize: int) -> int:
    """Items of `itemsize` bytes taking `count` items, padded to 8 bytes."""
    return (count * itemsize + 7) // 8 * 8 // itemsize


def write(path: Path, size: int, terms: list[bytes], term_ids, docs) -> None:
    """Write a table from parallel arrays of (term number, document number)
    pairs, each pair once, ordered by term then document (as postings are)."""
    term_ids = np.asarray(term_ids, dtype=np.uint32)
    docs = np.asarray(docs, dtype=np.uint32)
    order = np.argsort(docs, kind="stable")
    entries = term_ids[order]
    per_doc = np.bincount(docs, minlength=size)[:size] if docs.size else np.zeros(size, np.int64)
    os.replace(_write_hidden(path, _offsets(per_doc), entries, terms), path)


def _offsets(per_doc) -> np.ndarray:
    offsets = np.zeros(len(per_doc) + 1, np.uint64)
    np.cumsum(per_doc, out=offsets[1:])
    return offsets


def _write_hidden(path: Path, offsets: np.ndarray, entries: np.ndarray, terms: list[bytes]) -> Path:
    """Write a table beside `path` under a hidden name of this thread's,
    not yet a file of the segment (Whoosh takes the files named after the
    segment into its compound file); returns that name."""
    starts = np.zeros(len(terms) + 1, np.uint64)
    np.cumsum(np.fromiter(map(len, terms), np.uint64, len(terms)), out=starts[1:])
    hashes = np.fromiter(map(_hash, terms), np.uint64, len(terms))
    by_hash = np.argsort(hashes, kind="stable").astype(np.uint32)
    header = np.array(
        [MAGIC, VERSION, offsets.size - 1, len(terms), entries.size, int(starts[-1]), 0, 0],
        dtype=np.uint64,
    )
    hidden = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    try:
        with open(hidden, "wb") as file:
            file.write(header.astype("<u8").tobytes())
            file.write(offsets.astype("<u8").tobytes())
            # The largest part, written from where it is rather than copied;
            # padded as np.resize pads, with its first entries.
            file.write(entries.astype("<u4", copy=False).data)
            file.write(entries[: _pad(entries.size, 4) - entries.size].astype("<u4").tobytes())
            file.write(starts.astype("<u8").tobytes())
            file.write(hashes[by_hash].astype("<u8").tobytes())
            file.write(np.resize(by_hash, _pad(by_hash.size, 4)).astype("<u4").tobytes())
            file.writelines(terms)
    except OSError:
        hidden.unlink(missing_ok=True)
        raise
    return hidden


class TableWriter:
    """One field's table, filled as the bulk builder writes the segment's
    terms (each once, in order, with the documents holding it).

    The builder counts each document's distinct terms as the document is
    added, so every row's place is known before the first term comes: a
    term's number goes straight into the rows of its documents, which take
    their terms in order, as `write` gives them. The builder holds the
    entries of one field (4 bytes each) and nothing per occurrence."""

    def __init__(self, per_doc):
        self.offsets = _offsets(per_doc)
        self.entries = np.zeros(int(self.offsets[-1]), np.uint32)
        # Where each document's next entry goes.
        self.cursor = self.offsets[:-1].astype(np.int64)
        self.terms: list[bytes] = []

    def add(self, btext: bytes, docs) -> None:
        """The next term and the documents holding it (an array of uint32,
        ascending, each once)."""
        docs = np.frombuffer(docs, np.uint32)
        at = self.cursor[docs]
        self.entries[at] = len(self.terms)
        self.cursor[docs] = at + 1
        self.terms.append(btext)

    def write_hidden(self, path: Path) -> Path:
        """Write the table beside `path` under a hidden name, to be renamed
        to `path` once the segment is complete; returns that name."""
        if not np.array_equal(self.cursor, self.offsets[1:].astype(np.int64)):
            raise ValueError(f"{path.name}: the terms do not fill the rows counted")
        hidden = _write_hidden(path, self.offsets, self.entries, self.terms)
        self.entries = self.cursor = None
        return hidden


def from_reader(reader, field: str, size: int) -> tuple[list[bytes], np.ndarray, np.ndarray]:
    """A segment's terms of a field, and its (term, document) pairs, read
    from its postings (deleted documents included)."""
    from kb.search.docsets import _read_postings

    terms: list[bytes] = []
    parts: list[bytes] = []
    counts: list[int] = []
    if field in reader.schema.names():
        for btext in reader.lexicon(field):
            ids, _ = _read_postings(reader.postings(field, btext))
            terms.append(btext)
            parts.append(ids.tobytes())
            counts.append(len(ids))
    docs = np.frombuffer(b"".join(parts), dtype=np.uint32)
    term_ids = np.repeat(np.arange(len(terms), dtype=np.uint32), counts)
    return terms, term_ids, docs


Hashed = tuple[list[bytes], np.ndarray]


def hashes(terms: list[str]) -> Hashed:
    """Terms as the tables look them up (for several segments at once)."""
    encoded = [t.encode() for t in terms]
    return encoded, np.fromiter(map(_hash, encoded), np.uint64, len(encoded))


class Table:
    """One segment's table of one field, mapped."""

    def __init__(self, path: Path):
        self._map, header = map_file(path, MAGIC, VERSION, "term table")
        buf = self._map
        self.size, self.terms, entries, text = header[:4]
        at = HEADER * 8

        def take(dtype: str, count: int, padded: int | None = None):
            nonlocal at
            found = np.frombuffer(buf, dtype, count, at)
            at += (padded if padded is not None else count) * np.dtype(dtype).itemsize
            return found

        self.offsets = take("<u8", self.size + 1).astype(np.int64, copy=False)
        self.entries = take("<u4", entries, _pad(entries, 4))
        self.starts = take("<u8", self.terms + 1)
        self.hashes = take("<u8", self.terms)
        self.by_hash = take("<u4", self.terms, _pad(self.terms, 4))
        self._text = memoryview(buf)[at : at + text]
        if at + text != len(buf):
            raise ValueError(f"{path} is truncated")

    def term(self, number: int) -> str:
        return bytes(self._text[int(self.starts[number]) : int(self.starts[number + 1])]).decode()

    def terms_of(self, numbers: Iterable[int]) -> list[str]:
        text, starts = self._text, self.starts
        return [bytes(text[int(starts[n]) : int(starts[n + 1])]).decode() for n in numbers]

    def release_pages(self) -> None:
        """Drop this process's mapping of the table's pages (read-only, so
        nothing is lost: the next read faults them in from the page cache)."""
        # Closed meanwhile, or a system without madvise: nothing to drop.
        with contextlib.suppress(ValueError, OSError, AttributeError):
            self._map.madvise(mmap.MADV_DONTNEED)

    def lookup(self, terms: list[str], hashed: "Hashed | None" = None) -> np.ndarray:
        """Each term's number, -1 for a term the segment lacks."""
        if not terms or not self.terms:
            return np.full(len(terms), -1, np.int64)
        encoded, wanted = hashed or hashes(terms)
        at = np.searchsorted(self.hashes, wanted)
        at = np.minimum(at, self.terms - 1)
        found = np.where(self.hashes[at] == wanted, self.by_hash[at].astype(np.int64), -1)
        text, starts = self._text, self.starts
        for i in np.flatnonzero(found >= 0):  # a hash is not proof
            n = int(found[i])
            if bytes(text[int(starts[n]) : int(starts[n + 1])]) != encoded[i]:
                found[i] = -1
        return found

    def _rows(self, docs: np.ndarray):
        """(entries, their positions in the table), chunk by chunk, of these
        documents (local numbers, ascending). A large share of the segment
        is read through a mask over all its entries; a small one by
        gathering its rows (touching only their pages)."""
        offsets, entries = self.offsets, self.entries
        if docs.size * 8 >= self.size:
            wanted = np.zeros(self.size, bool)
            wanted[docs] = True
            for start in range(0, self.size, CHUNK):
                stop = min(self.size, start + CHUNK)
                first, last = int(offsets[start]), int(offsets[stop])
                if last == first:
                    continue
                mask = np.repeat(wanted[start:stop], np.diff(offsets[start : stop + 1]))
                at = np.flatnonzero(mask)
                if at.size:
                    yield entries[first:last][at], at + first
            return
        for start in range(0, docs.size, CHUNK):
            part = docs[start : start + CHUNK]
            first, last = offsets[part], offsets[part + 1]
            lengths = last - first
            total = int(lengths.sum())
            if not total:
                continue
            ends = np.cumsum(lengths)
            index = np.arange(total, dtype=np.int64) + np.repeat(first - (ends - lengths), lengths)
            yield entries[index], index

    def counts(self, docs: np.ndarray) -> np.ndarray:
        """How many of these documents (local numbers) hold each term."""
        found = np.zeros(self.terms, np.int32)
        for entries, _ in self._rows(docs):
            found += np.bincount(entries, minlength=self.terms).astype(np.int32)
        return found

    def postings(self, docs: np.ndarray, numbers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Which of these documents (local numbers) hold each of these term
        numbers (-1 for none): (the position in `numbers`, the document)
        for every such pair, unordered."""
        slot = np.full(self.terms, -1, np.int32)
        numbers = np.asarray(numbers, np.int64)
        valid = numbers >= 0
        slot[numbers[valid]] = np.flatnonzero(valid)
        slots_parts, doc_parts = [np.zeros(0, np.int32)], [np.zeros(0, np.int64)]
        for entries, where in self._rows(docs):
            wanted = slot[entries]
            keep = np.flatnonzero(wanted >= 0)
            if not keep.size:
                continue
            slots_parts.append(wanted[keep])
            # The document of each kept entry, from its position in the table.
            doc_parts.append(np.searchsorted(self.offsets, where[keep], "right") - 1)
        return np.concatenate(slots_parts), np.concatenate(doc_parts)


_tables: dict[Path, Table] = {}
_lock = threading.Lock()


def table(folder: Path | None, segment_id: str, reader, field: str) -> Table | None:
    """The segment's table of `field`, mapped; written from its postings
    when missing. None when there is no folder to keep it in."""
    if folder is None:
        return None
    path = path_of(folder, segment_id, field)
    with _lock:
        found = _tables.get(path)
    if found is not None:
        return found
    size = reader.doc_count_all()
    try:
        found = Table(path)
        if found.size != size:
            found = None
    except (OSError, ValueError):
        found = None
    if found is None:
        terms, term_ids, docs = from_reader(reader, field, size)
        try:
            write(path, size, terms, term_ids, docs)
            found = Table(path)
        except OSError:
            return None
    with _lock:
        return _tables.setdefault(path, found)


def release_pages() -> None:
    """Unmap the pages of the term tables read so far from this process (the
    page cache keeps them, shared with the machine's other processes; a
    later read maps them again from it). For after a discovery, so that a
    worker's resident memory does not keep them. The postings tables made
    from them (kb.search.postings_table) too."""
    with _lock:
        found = list(_tables.values())
    for table in found:
        table.release_pages()
    postings_table.release_pages()


def forget(folder: Path, keep: set[str]) -> None:
    """Let go of the maps of segments no longer read (those of `folder` not
    in `keep`, and those of other folders: an index generation replaced).
    A map still in use elsewhere stays open until that use ends. The
    postings tables made from them (kb.search.postings_table) too."""
    with _lock:
        for path in list(_tables):
            if path.parent != folder or path.name.split(".", 1)[0] not in keep:
                del _tables[path]
    postings_table.forget(folder, keep)
