"""Document sets and term statistics read from Whoosh segments, kept in memory.

Whoosh answers a query by stepping a matcher through every matching posting
in Python, once per query, and facets by looking up each match's value: at
100,000 debriefs a common word takes hundreds of milliseconds. Here a
segment's postings are decoded once and kept as a bitmap (a Python int, one
bit per document) plus the term's BM25 impact per posting, so counting,
intersecting, faceting and excluding are single big-integer operations, and
scoring is one pass over an array.

A segment never changes once written, so what is decoded from it is cached by
segment id and shared by every searcher (and thread) of the process; only the
set of deleted documents moves, and it is applied per commit as `live`.
What is built over the whole index for one commit (live documents, a
field's values, columns) is shared by the views of every thread that reads
that commit. Decoded postings are kept within one budget for the process
(POSTINGS_BUDGET_BYTES), least recently used dropped first.

A segment's numeric columns and their sort orders (for sorting and ranges)
are the same in every process, so the first process that needs one writes
it as a file beside the segment (named after it, so that Whoosh deletes it
with the segment) and every process maps that file: the web workers of a
machine share its pages instead of each holding a copy.
"""

import heapq
import math
import mmap
import os
import sys
import threading
from array import array
from bisect import bisect_left, bisect_right
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator
from itertools import accumulate, compress, islice, repeat
from pathlib import Path

from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield
from whoosh.matching.wrappers import FilterMatcher
from whoosh.util.numeric import byte_to_length

from kb.search import (
    mapped,  # noqa: F401  (segment files read from their map, not copied)
    termtable,
)
from kb.search.schema import FILTER_FIELDS

K1, B = 1.2, 0.75
AVERAGE_STEP = 1.02  # see View.average
# Decoded postings kept by a process, all segments together, in bytes: 8 a
# posting (document number and impact) plus the term's bitmap (a bit per
# document of its segment), so that many rare terms count as well.
POSTINGS_BUDGET_BYTES = 32 * 2**20
# Commits whose whole-index state is kept: the newest, and the one searches
# still in flight read while the next opens.
COMMITS_KEPT = 2
# A document without a value in a numeric column (a practice has no amount
# and no close date) reads as the column's default, the largest unsigned
# number, which no signed array holds. In memory it becomes this, below
# every real value: never inside a range, last when sorting descending.
NO_VALUE = -(2**63)

_TO_DIGITS = bytes.maketrans(b"\x00\x01", b"01")
_TO_FLAGS = bytes.maketrans(b"01", b"\x00\x01")


def bitmap(ids: Iterable[int], size: int) -> int:
    """A bitmap with the bits of `ids` set (each below `size`)."""
    flags = bytearray(size)
    deque(map(flags.__setitem__, ids, repeat(1)), maxlen=0)
    digits = flags.translate(_TO_DIGITS)[::-1]
    return int(digits, 2) if digits else 0


def flags_of(bits: int, size: int) -> bytes:
    """One byte per document, 1 where the bit is set: O(1) membership by index."""
    digits = format(bits, "b")[::-1].encode() if bits else b""
    return digits.translate(_TO_FLAGS) + bytes(max(0, size - len(digits)))


def members(bits: int) -> list[int]:
    """The document numbers in a bitmap, ascending."""
    if not bits:
        return []
    flags = format(bits, "b")[::-1].encode().translate(_TO_FLAGS)
    return list(compress(range(len(flags)), flags))


class Postings:
    """A term's postings in one segment: document numbers (local), each
    posting's BM25 impact (before idf), and the same documents as a bitmap."""

    __slots__ = ("ids", "impacts", "bits")

    def __init__(self, ids: array, impacts: array | None, bits: int):
        self.ids, self.impacts, self.bits = ids, impacts, bits

    def __len__(self) -> int:
        return len(self.ids)

    def nbytes(self) -> int:
        return 8 * len(self.ids) + self.bits.bit_length() // 8 + 100


EMPTY = Postings(array("I"), array("f"), 0)


def _read_postings(matcher) -> tuple[array, array]:
    """(document numbers, term frequencies) of a matcher, deleted documents
    included (they are masked by `live`)."""
    if isinstance(matcher, FilterMatcher):
        matcher = matcher.child
    ids, weights = array("I"), array("f")
    try:
        # Whoosh's W3 codec keeps postings in pickled blocks; reading them a
        # block at a time avoids a Python call per posting.
        while True:
            matcher._read_data()
            block_ids, block_weights = matcher._data[0], matcher._data[1]
            ids.extend(accumulate(block_ids))
            if block_weights is None or isinstance(block_weights, float):
                weights.extend(repeat(block_weights or 1.0, len(block_ids)))
            else:
                weights.extend(block_weights)
            if matcher._lastblock:
                return ids, weights
            matcher._goto(matcher._nextoffset)
    except AttributeError:
        pass  # another matcher type (e.g. postings inlined in the term index)
    ids, weights = array("I"), array("f")
    while matcher.is_active():
        ids.append(matcher.id())
        weights.append(matcher.weight())
        matcher.next()
    return ids, weights


def _raw_column(reader, name: str, column) -> array | None:
    """A numeric column's values for every document, read in one go."""
    try:
        colreader = reader._perdoc.column_reader(name, column)
        raw = colreader._dbfile.get(colreader._basepos, colreader._count * colreader._fixedlen)
        values = array(colreader._typecode, raw)
        if sys.byteorder == "little" and values.itemsize > 1:
            values.byteswap()
        missing = reader.doc_count_all() - len(values)
        if missing > 0:
            values.extend(repeat(colreader._default, missing))
        return values
    except (AttributeError, KeyError, OSError):
        return None


def _signed(value: int, missing: int | None) -> int:
    """An unsigned column value as the signed one kept in memory."""
    return NO_VALUE if value == missing else min(value, 2**63 - 1)


def _mapped(path: Path, typecode: str, count: int) -> memoryview | None:
    """The file's numbers, mapped read-only, or None when it is missing or
    not the expected size (then it is written again)."""
    try:
        with open(path, "rb") as file:
            if os.fstat(file.fileno()).st_size != count * array(typecode).itemsize:
                return None
            mapped = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):
        return None
    return memoryview(mapped).cast(typecode)


def shared_array(path: Path | None, typecode: str, count: int, build: Callable[[], array]):
    """Numbers kept in a file at `path`, mapped, so that every process of the
    machine reads the same pages; built (and written atomically) by the first
    process that asks. An array in memory when there is no file to share
    (no folder, an empty column, a read-only or full disk)."""
    if path is None or count == 0:
        return build()
    found = _mapped(path, typecode, count)
    if found is not None:
        return found
    values = build()
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    try:
        with open(temporary, "wb") as file:
            values.tofile(file)
        os.replace(temporary, path)
    except OSError:
        temporary.unlink(missing_ok=True)
        return values
    return _mapped(path, typecode, count) or values


class SegmentData:
    """What is decoded from one segment. Methods take the segment's current
    reader, because the reader that first opened the segment may be closed."""

    def __init__(self, segment_id: str, size: int, folder: Path | None = None):
        self.segment_id, self.size, self.folder = segment_id, size, folder
        self._values: dict[str, dict[str, int]] = {}
        self._lengths: dict[str, bytes | None] = {}
        self._columns: dict[str, array] = {}

    def values(self, reader, field: str) -> dict[str, int]:
        """Every term of a structured field, with the documents that have it."""
        found = self._values.get(field)
        if found is None:
            found = {}
            for btext in reader.lexicon(field):
                ids, _ = _read_postings(reader.postings(field, btext))
                found[btext.decode("utf-8")] = bitmap(ids, self.size)
            self._values[field] = found
        return found

    def postings(self, reader, field: str, term: str, average: float) -> Postings:
        """A term's postings, with BM25 impacts against `average`, the field's
        average length over the whole index (as Whoosh's BM25F has it), so a
        document scores the same whichever segment holds it."""
        key = (self.segment_id, field, term, average)
        with _postings_lock:
            found = _postings.get(key)
            if found is not None:
                _postings.move_to_end(key)
                return found
        if (field, term) not in reader:
            return EMPTY
        ids, tfs = _read_postings(reader.postings(field, term))
        k1p1 = K1 + 1
        coded = self._coded_lengths(reader, field)
        if coded is not None:
            # A length is kept as one byte: one norm per byte value.
            table = [K1 * (1 - B + B * byte_to_length(b) / average) for b in range(256)]
            norms = map(table.__getitem__, map(coded.__getitem__, ids))
        else:
            lengths = (reader.doc_field_length(d, field) for d in ids)
            norms = (K1 * (1 - B + B * n / average) for n in lengths)
        impacts = array("f", [tf * k1p1 / (tf + n) for tf, n in zip(tfs, norms, strict=True)])
        found = Postings(ids, impacts, bitmap(ids, self.size))
        _keep_postings(key, found)
        return found

    def _coded_lengths(self, reader, field: str) -> bytes | None:
        """The field's length of each document, as Whoosh codes it in a byte."""
        if field not in self._lengths:
            coded = _raw_column(reader, _lenfield(field), LENGTHS_COLUMN)
            self._lengths[field] = None if coded is None else coded.tobytes()
        return self._lengths[field]

    def term_table(self, reader, field: str):
        """The segment's table from each document to its terms of `field`
        (kb.search.termtable), mapped; None without a folder."""
        return termtable.table(self.folder, self.segment_id, reader, field)

    def _shared_path(self, name: str) -> Path | None:
        # "<segment id>.<name>": Whoosh removes it with the segment's files.
        return None if self.folder is None else self.folder / f"{self.segment_id}.kb_{name}"

    def column(self, reader, field: str):
        """A numeric column's values (signed), one per document: an array
        or a mapped memoryview of one."""
        values = self._columns.get(field)
        if values is None:

            def build() -> array:
                fieldobj = reader.schema[field]
                raw = _raw_column(reader, field, fieldobj.column_type)
                if raw is None:
                    raw = reader.column_reader(field, translate=False)
                if not fieldobj.signed:
                    missing = getattr(fieldobj.column_type, "_default", None)
                    raw = (_signed(value, missing) for value in raw)
                return array("q", raw)

            path = self._shared_path(f"column_{field}")
            values = self._columns[field] = shared_array(path, "q", self.size, build)
        return values

    def order(self, reader, field: str):
        """(document numbers, values) ascending by (value, document number)."""
        key = "order:" + field
        found = self._columns.get(key)
        if found is None:
            values = self.column(reader, field)
            ids = shared_array(
                self._shared_path(f"order_{field}"),
                "I",
                self.size,
                # A stable sort of ascending numbers orders ties by document number.
                lambda: array("I", sorted(range(len(values)), key=values.__getitem__)),
            )
            ordered = shared_array(
                self._shared_path(f"sorted_{field}"),
                "q",
                self.size,
                lambda: array("q", (values[d] for d in ids)),
            )
            found = self._columns[key] = (ids, ordered)
        return found


_segments: dict[tuple[str, str], SegmentData] = {}
_segments_lock = threading.Lock()
_postings: OrderedDict[tuple[str, str, str, float], Postings] = OrderedDict()
_postings_held = 0
_postings_lock = threading.Lock()


def _keep_postings(key: tuple[str, str, str, float], postings: Postings) -> None:
    global _postings_held
    with _postings_lock:
        if key in _postings:
            return
        _postings[key] = postings
        _postings_held += postings.nbytes()
        while _postings_held > POSTINGS_BUDGET_BYTES and len(_postings) > 1:
            _, dropped = _postings.popitem(last=False)
            _postings_held -= dropped.nbytes()


def postings_held() -> int:
    """Bytes of decoded postings this process keeps."""
    return _postings_held


def _segment_data(index_path: str, reader) -> SegmentData:
    key = (index_path, reader.segment().segment_id())
    with _segments_lock:
        found = _segments.get(key)
        if found is None:
            folder = Path(index_path) if Path(index_path).is_dir() else None
            found = _segments[key] = SegmentData(key[1], reader.doc_count_all(), folder)
        return found


def forget_segments(index_path: str, keep: set[str]) -> None:
    global _postings_held
    with _segments_lock:
        gone = {k[1] for k in _segments if k[0] == index_path and k[1] not in keep}
        for segment_id in gone:
            del _segments[(index_path, segment_id)]
    termtable.forget(Path(index_path), keep)
    if gone:
        with _postings_lock:
            for key in [k for k in _postings if k[0] in gone]:
                _postings_held -= _postings.pop(key).nbytes()


class _Commit:
    """What is built over the whole index for one commit, shared by the
    views of every thread reading it."""

    def __init__(self, live: int, size: int):
        self.live, self.size, self.doc_count = live, size, live.bit_count()
        self.values: dict[str, dict[str, int]] = {}
        self.columns: dict[str, array] = {}
        self.averages: dict[str, float] = {}


_commits: OrderedDict[tuple, _Commit] = OrderedDict()
_commits_lock = threading.Lock()


def _commit_of(index_path: str, leaves: list) -> _Commit:
    # A segment's deletions only grow, so their number tells its state.
    key = (
        index_path,
        *(
            (data.segment_id, reader.doc_count_all() - reader.doc_count())
            for data, reader, _ in leaves
        ),
    )
    with _commits_lock:
        found = _commits.get(key)
        if found is not None:
            _commits.move_to_end(key)
            return found
    live = 0
    for data, reader, offset in leaves:
        seg_live = (1 << data.size) - 1
        for docnum in reader.deleted_docs_set if reader.has_deletions() else ():
            seg_live &= ~(1 << docnum)
        live |= seg_live << offset
    found = _Commit(live, sum(data.size for data, _, _ in leaves))
    with _commits_lock:
        found = _commits.setdefault(key, found)
        while len(_commits) > COMMITS_KEPT:
            _commits.popitem(last=False)
    return found


class View:
    """One searcher's snapshot of the index, as bitmaps over global document
    numbers (a segment's local number plus the segment's offset)."""

    def __init__(self, index_path: str, searcher):
        self.searcher = searcher
        self.leaves = []
        for reader, offset in searcher.reader().leaf_readers():
            if reader.segment() is None:  # an empty index has a reader without segments
                continue
            self.leaves.append((_segment_data(index_path, reader), reader, offset))
        forget_segments(index_path, {data.segment_id for data, _, _ in self.leaves})
        commit = _commit_of(index_path, self.leaves)
        self.live, self.size, self.doc_count = commit.live, commit.size, commit.doc_count
        self._values = commit.values
        self._columns = commit.columns
        self._averages = commit.averages
        self._flags: tuple[int, bytes] | None = None

    def average(self, field: str) -> float:
        """The field's average length over the index, in steps of 2 %: a
        commit seldom moves it to another step, so segments keep their
        decoded postings (a step changes a score by under 1 %)."""
        found = self._averages.get(field)
        if found is None:
            total = sum(reader.field_length(field) for _, reader, _ in self.leaves)
            exact = max(total / max(1, self.size), 1.0)
            found = round(AVERAGE_STEP ** round(math.log(exact, AVERAGE_STEP)), 4)
            self._averages[field] = found
        return found

    def values(self, field: str) -> dict[str, int]:
        """Term → live documents, for a structured field."""
        found = self._values.get(field)
        if found is None:
            found = {}
            for data, reader, offset in self.leaves:
                for term, bits in data.values(reader, field).items():
                    found[term] = found.get(term, 0) | (bits << offset)
            live = self.live
            found = {term: bits & live for term, bits in found.items()}
            self._values[field] = {term: bits for term, bits in found.items() if bits}
        return self._values[field]

    def docs(self, field: str, term: str) -> int:
        if field in FILTER_FIELDS:
            return self.values(field).get(term, 0)
        bits = 0
        average = self.average(field)
        for data, reader, offset in self.leaves:
            bits |= data.postings(reader, field, term, average).bits << offset
        return bits & self.live

    def doc_frequency(self, field: str, term: str) -> int:
        """Documents with the term, deleted ones included (as BM25 in Whoosh)."""
        return self.searcher.reader().doc_frequency(field, term)

    def idf(self, field: str, term: str) -> float:
        df = self.doc_frequency(field, term)
        return math.log(1 + (self.doc_count - df + 0.5) / (df + 0.5))

    def lexicon(self, field: str, prefix: str = "") -> Iterator[str]:
        seen = set()
        for _, reader, _ in self.leaves:
            for btext in reader.expand_prefix(field, prefix) if prefix else reader.lexicon(field):
                term = btext.decode("utf-8")
                if term not in seen:
                    seen.add(term)
                    yield term

    def column(self, field: str) -> array:
        values = self._columns.get(field)
        if values is None:
            values = array("q")
            for data, reader, _ in self.leaves:
                column = data.column(reader, field)
                values.frombytes(column.cast("B") if isinstance(column, memoryview) else column)
            self._columns[field] = values
        return values

    def flags(self, bits: int) -> bytes:
        """Membership by document number; the last one asked for is kept."""
        if self._flags is None or self._flags[0] != bits:
            self._flags = (bits, flags_of(bits, self.size))
        return self._flags[1]

    def top_scored(self, bits: int, terms: list[tuple[str, str, float]], k: int) -> list:
        """The k best (score, docnum) among `bits`, by BM25 over the weighted terms."""
        if not bits or k <= 0:
            return []
        weighted = []  # per term: (idf weight, postings) for each segment
        for field, term, boost in terms:
            weight, average = boost * self.idf(field, term), self.average(field)
            weighted.append(
                [
                    (weight, data.postings(reader, field, term, average))
                    for data, reader, _ in self.leaves
                ]
            )
        best = []
        for i, (data, _, offset) in enumerate(self.leaves):
            seg_bits = (bits >> offset) & ((1 << data.size) - 1)
            parts = [per_term[i] for per_term in weighted if len(per_term[i][1])]
            if not seg_bits or not parts:
                continue
            if len(parts) == 1:
                found = _top_single(seg_bits, *parts[0], k, data.size)
            else:
                found = _top_summed(seg_bits, parts, k, data.size)
            best += [(score, docnum + offset) for score, docnum in found]
        return heapq.nlargest(k, best)

    def top_sorted(self, bits: int, field: str, k: int, descending: bool = True) -> list[int]:
        """The first k documents of `bits` by a column; ties go to the later document."""
        if not bits or k <= 0:
            return []
        if bits.bit_count() <= max(20_000, 4 * k):
            values = self.column(field)
            sign = 1 if descending else -1
            return heapq.nlargest(k, members(bits), key=lambda d: (sign * values[d], sign * d))
        return list(islice(self.iter_sorted(bits, field, descending), k))

    def iter_sorted(self, bits: int, field: str, descending: bool = True) -> Iterator[int]:
        """Every document of `bits` by a column, lazily: a merge of the
        segments' sorted columns (decoded once per segment and cached), so
        walking all of a large set holds no list of it."""
        if not bits:
            return
        flags = self.flags(bits)
        streams = []
        for data, reader, offset in self.leaves:
            ids, values = data.order(reader, field)
            if descending:
                ids, values = reversed(ids), reversed(values)
            # map binds this segment's offset now; a generator expression
            # would read the loop variable late and give every segment the last one.
            streams.append(zip(values, map(offset.__add__, ids)))  # noqa: B905
        for _, docnum in heapq.merge(*streams, reverse=descending):
            if flags[docnum]:
                yield docnum

    def range_docs(self, field: str, low: int | None, high: int | None) -> int:
        """Documents whose column value lies in [low, high] (None: unbounded)."""
        bits = 0
        for data, reader, offset in self.leaves:
            ids, values = data.order(reader, field)
            start = bisect_right(values, NO_VALUE) if low is None else bisect_left(values, low)
            end = len(values) if high is None else bisect_right(values, high)
            if end > start:
                bits |= bitmap(ids[start:end], data.size) << offset
        return bits & self.live

    def key(self, docnum: int) -> str:
        return self.searcher.stored_fields(docnum)["key"]


def _top_single(bits: int, weight: float, postings: Postings, k: int, size: int) -> list:
    """The k best of one segment's `bits` for a single term."""
    ids, impacts = postings.ids, postings.impacts
    flags = flags_of(bits, size)
    share = bits.bit_count() / len(ids)
    if share > 0.5:
        # Most of the term's documents are wanted: take a few more than k by
        # impact and drop the unwanted ones.
        want = min(len(ids), int(k / share) + 16)
        best = heapq.nlargest(want, zip(impacts, range(len(ids))))  # noqa: B905
        kept = [i for _, i in best if flags[ids[i]]]
        if len(kept) >= k or want == len(ids):
            return [(weight * impacts[i], ids[i]) for i in kept[:k]]
    candidates = compress(range(len(ids)), map(flags.__getitem__, ids))
    # Ties go to the later document (postings are in document order), as in
    # the final merge: the first k are then the start of the first k + n,
    # so page 2 continues page 1 even when many scores are equal.
    best = heapq.nlargest(k, ((impacts[i], i) for i in candidates))
    return [(weight * impacts[i], ids[i]) for _, i in best]


def _top_summed(bits: int, parts: list[tuple[float, Postings]], k: int, size: int) -> list:
    """The k best of one segment's `bits` by the sum over several terms."""
    scores = [0.0] * size
    for weight, postings in parts:
        for docnum, impact in zip(postings.ids, postings.impacts, strict=True):
            scores[docnum] += weight * impact
    return heapq.nlargest(k, ((scores[d], d) for d in members(bits)))
