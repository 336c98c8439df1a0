"""Building a generation from scratch, at the speed of reading the database.

Whoosh's writer sends every posting through a sorting pool: a Python tuple
per posting, pickled to temporary run files when the pool is full, read back
and merged one posting at a time. At 100,000 debriefs that is 25 million
tuples, several minutes and gigabytes of temporary files. Here a builder
keeps, for each term, one compact array of the document number of each of
its occurrences (a document repeated as often as the term occurs in it),
appended to by C loops, and counts frequencies once per term when it writes
the segment. It writes the postings blocks and the terms table itself,
a term at a time without Whoosh's Python calls per posting, in Whoosh's
format and read by its code: tests/test_search_bulk.py compares what it
writes with what Whoosh's writer writes, posting for posting (only blocks
too small to gain from compression are left as they are).

Documents are read in order of their ids and split into one contiguous
range per builder process; each builder writes one segment and the
segments, listed in that order, make the generation. Document numbers
therefore follow ids, as in an index built by one Whoosh writer. A builder
whose postings would take more than SPILL_BYTES writes them to a run file
and merges its runs term by term at the end, so memory stays flat at any
size.

Builder processes get SIGKILL when the process that started them dies,
and wait for that process to take their segment before they exit.
"""

import contextlib
import ctypes
import heapq
import logging
import multiprocessing
import os
import pickle
import queue
import signal
import sys
import time
import traceback
import zlib
from array import array
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from hashlib import md5
from itertools import accumulate, chain, repeat, starmap
from operator import itemgetter, sub
from pathlib import Path

import numpy as np
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from whoosh import analysis, fields, formats
from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC, W3Codec, W3TermInfo
from whoosh.compat import dumps
from whoosh.filedb import filetables
from whoosh.filedb.filestore import FileStorage
from whoosh.index import _DEF_INDEX_NAME as INDEX_NAME
from whoosh.index import TOC, clean_files
from whoosh.system import pack_int, pack_long, pack_ushort
from whoosh.util.numeric import length_to_byte

from kb.search import sequences, termtable
from kb.search.documents import DOCUMENT_TYPES, batches

log = logging.getLogger(__name__)

READ_BATCH = 1000
# The memory a builder's postings may take before they are written to a
# run: each occurrence of a term is a document number in an array, each
# term a string, an array and a dictionary entry (checked every TERM_CHECK
# documents). With two builders at 100,000 debriefs, each writes two runs
# and stays near 160 MB; holding everything would take 40 MB more each, for
# no measurable gain in time.
SPILL_BYTES = 40_000_000
OCCURRENCE_BYTES = 4
TERM_BYTES = 200
TERM_CHECK = 256
# Occurrences a run file keeps in one piece.
RUN_CHUNK = 1_000_000
# Below this many documents one builder in the calling process is quicker
# than starting processes.
SMALL = 5_000
# Values of structured fields repeat (an outcome, a quarter, a segment), so
# what Whoosh makes of each is remembered.
VALUE_CACHE = 100_000

# (document type, ids in ascending order)
Part = list[tuple[str, list[int]]]


class _Postings(dict):
    """term → the number of the document of each of its occurrences, in
    order: a document is repeated as often as the term occurs in it, which
    gives the term's frequency there when the segment is written."""

    __slots__ = ()

    def __missing__(self, term):
        found = self[term] = array("I")
        return found


_consume = deque(maxlen=0).extend
_append = array.append


class _Field:
    """What a builder needs to know about one field of the schema, and the
    postings it holds for it."""

    def __init__(self, name: str, field: fields.FieldType):
        if field.vector or field.separate_spelling():
            raise ValueError(f"field {name!r}: vectors and spelling words are not supported")
        fmt = field.format if field.indexed else None
        if fmt is not None:
            if type(fmt) not in (formats.Frequency, formats.Existence):
                raise ValueError(f"field {name!r}: only frequency and existence formats")
            if fmt.field_boost != 1.0:
                raise ValueError(f"field {name!r}: field boosts are not supported")
        self.name = name
        self.field = field
        self.indexed = fmt is not None
        self.frequencies = isinstance(fmt, formats.Frequency)
        self.scorable = field.scorable
        self.stored = field.stored
        self.column = field.column_type
        # Numeric terms are bytes that are not text; every other term is
        # kept as text, whose order is that of its UTF-8 bytes.
        self.raw = isinstance(field, fields.NUMERIC)
        # A value of a field that is not analysed (the document's key) is
        # its one term; other values are analysed once and remembered,
        # except those of a unique field, which never repeat.
        self.whole = (
            type(fmt) is formats.Existence
            and type(getattr(field, "analyzer", None)) is analysis.IDTokenizer
            and not self.raw
        )
        self.remember = not field.unique
        self.values: dict = {}
        # For the fields with term tables, each document's count of distinct
        # terms, kept across runs: the length of its row in the table.
        tabled = self.indexed and name in termtable.FIELDS
        self.row_lengths = np.zeros(0, np.int64) if tabled else None
        self.clear()

    def clear(self) -> None:
        self.docs = _Postings()

    def add(self, docnum: int, value) -> tuple[int, int]:
        """Record the occurrences of one document's value; returns their
        number and the value's length as Whoosh counts it."""
        if isinstance(value, list) and not self.raw:
            # A list is taken as its terms, already analysed.
            if self.frequencies:
                occurrences, length = value, len(value)
            else:
                occurrences = dict.fromkeys(value)
                length = len(occurrences)
        else:
            occurrences, length = self._terms(value)
        # The loop over occurrences runs in C: this is done for every word
        # of every document.
        _consume(map(_append, map(self.docs.__getitem__, occurrences), repeat(docnum)))
        return len(occurrences), length

    def count_rows(self, size: int) -> None:
        """Add the terms held of each of the first `size` documents to the
        length of its row (before they go to a run, and at the end): a
        million occurrences at a time, quicker than for each document as
        it is added."""
        if self.row_lengths is None:
            return
        lengths = np.zeros(size, np.int64)
        lengths[: self.row_lengths.size] = self.row_lengths
        chunk, held = [], 0
        for docs in chain(self.docs.values(), [None]):
            if docs is not None:
                chunk.append(docs)
                held += len(docs)
            if chunk and (held >= RUN_CHUNK or docs is None):
                lengths += _terms_per_document(chunk, size)
                chunk, held = [], 0
        self.row_lengths = lengths

    def _terms(self, value) -> tuple[tuple, int]:
        """(occurrences, length) of a value that is not a list of terms, as
        Whoosh's field.index() makes them: each term repeated as often as it
        occurs."""
        if self.whole and isinstance(value, str):
            return (value,), 1
        key = value if not isinstance(value, list) else tuple(value)
        found = self.values.get(key)
        if found is None:
            occurrences = []
            length = 0
            for term, freq, _, _ in self.field.index(value):
                occurrences += [term if self.raw else term.decode("utf-8")] * (
                    freq if self.frequencies else 1
                )
                length += freq
            found = (tuple(occurrences), length)
            if self.remember:
                if len(self.values) >= VALUE_CACHE:
                    self.values.clear()
                self.values[key] = found
        return found

    def sorted_postings(self) -> Iterator[tuple[object, array]]:
        """Every term in order with its occurrences, each let go of once
        it is taken."""
        docs = self.docs
        for term in sorted(docs):
            yield term, docs.pop(term)


def _terms_per_document(postings: list[array], size: int) -> np.ndarray:
    """How many of these terms each of `size` documents holds, from each
    term's occurrences (its documents in order, one repeated as often as the
    term occurs in it)."""
    docs = np.frombuffer(b"".join(map(array.tobytes, postings)), np.uint32)
    first = np.ones(docs.size, bool)
    first[1:] = docs[1:] != docs[:-1]
    # A term's first occurrence counts even in the document of the last
    # occurrence of the term before it.
    first[np.cumsum(np.fromiter(map(len, postings), np.int64, len(postings)))[:-1]] = True
    return np.bincount(docs[first], minlength=size)


def _dump_chunk(run, field: str, terms: list, arrays: list[array]) -> None:
    counts = array("I", map(len, arrays))
    data = b"".join(map(array.tobytes, arrays))
    pickle.dump((field, terms, counts, data), run, pickle.HIGHEST_PROTOCOL)


class SegmentBuilder:
    """Writes one Whoosh segment into `storage` from documents (the dicts
    of kb.search.documents) added in order."""

    def __init__(
        self,
        storage: FileStorage,
        codec: W3Codec,
        schema: fields.Schema,
        spill: int | None = None,
        said: bool = False,
    ):
        self.storage = storage
        self.codec = codec
        self.segment = codec.new_segment(storage, INDEX_NAME)
        self.perdoc = codec.per_document_writer(storage, self.segment)
        self.fields = {name: _Field(name, schema[name]) for name in schema.names()}
        # The fields of a document in the order Whoosh's writer takes
        # them, by the fields the document has.
        self.orders: dict[tuple, list[_Field]] = {}
        self.docnum = 0
        self.held = 0
        self.spill = spill or SPILL_BYTES
        self.runs: list[str] = []
        # With `said`, what each document says, section by section, and its
        # names, as rows of the segment's sequence tables
        # (kb.search.sequences), streamed to disk as documents are added.
        # Without (applying changes, merging: their documents come without
        # sections) the first process to need the tables writes them.
        folder = getattr(storage, "folder", None)
        self.numbers = sequences.Provisional()
        self.sequences = {}
        if said and folder:
            segment_id = self.segment.segment_id()
            for kind in sequences.KINDS:
                path = sequences.path_of(Path(folder), segment_id, kind)
                self.sequences[kind] = sequences.StreamWriter(path, self.numbers)

    def add(self, document: dict, said: tuple[list, list] | None = None) -> None:
        """Index one document, as SegmentWriter.add_document would, with
        what it says section by section and its names, each a list of terms
        (kb.search.documents.facts_said; nothing for other documents)."""
        docnum = self.docnum
        perdoc = self.perdoc
        perdoc.start_doc(docnum)
        names = tuple(document)
        order = self.orders.get(names)
        if order is None:
            order = self.orders[names] = [self.fields[name] for name in sorted(names)]
        held = 0
        for spec in order:
            value = document[spec.name]
            if value is None:
                continue
            length = 0
            if spec.indexed:
                occurrences, length = spec.add(docnum, value)
                held += occurrences
            # What perdoc.add_field does, when it does anything.
            if spec.stored or (spec.scorable and length):
                stored = value if spec.stored else None
                perdoc.add_field(spec.name, spec.field, stored, length if spec.scorable else 0)
            if spec.column is not None:
                perdoc.add_column_value(spec.name, spec.column, spec.field.to_column_value(value))
        perdoc.finish_doc()
        if self.sequences:
            for kind, rows in zip(sequences.KINDS, said or ([], []), strict=True):
                self.sequences[kind].add(rows)
        self.docnum += 1
        self.held += held
        if self.held * OCCURRENCE_BYTES >= self.spill or not docnum % TERM_CHECK:
            terms = sum(len(spec.docs) for spec in self.fields.values())
            if self.held * OCCURRENCE_BYTES + terms * TERM_BYTES >= self.spill:
                self._write_run()

    def _sorted_terms(self) -> Iterator[tuple[str, object, array]]:
        for name in sorted(self.fields):
            spec = self.fields[name]
            if spec.indexed:
                for term, docs in spec.sorted_postings():
                    yield name, term, docs

    def _write_run(self) -> None:
        """Move the postings held in memory to a run file: for each field,
        chunks of terms in order with their occurrences as one array."""
        name = f"{INDEX_NAME}_{self.segment.segment_id()}.{len(self.runs)}.run"
        with open(os.path.join(self.storage.folder, name), "wb") as run:
            for field in sorted(self.fields):
                spec = self.fields[field]
                if not spec.indexed:
                    continue
                spec.count_rows(self.docnum)
                terms, arrays, size = [], [], 0
                for term, docs in spec.sorted_postings():
                    terms.append(term)
                    arrays.append(docs)
                    size += len(docs)
                    if size >= RUN_CHUNK:
                        _dump_chunk(run, field, terms, arrays)
                        terms, arrays, size = [], [], 0
                if terms:
                    _dump_chunk(run, field, terms, arrays)
        self.runs.append(name)
        for spec in self.fields.values():
            spec.clear()
        self.held = 0

    def _read_run(self, name: str) -> Iterator[tuple[str, object, array]]:
        # One chunk at a time: an unpickler kept across them would keep
        # every chunk it has read.
        with open(os.path.join(self.storage.folder, name), "rb") as run:
            while True:
                try:
                    field, terms, counts, data = pickle.load(run)  # noqa: S301  (this builder's own run)
                except EOFError:
                    return
                docs = array("I")
                docs.frombytes(data)
                start = 0
                for term, end in zip(terms, accumulate(counts), strict=True):
                    yield field, term, docs[start:end]
                    start = end

    def _merged_terms(self) -> Iterator[tuple[str, object, array]]:
        """Every (field, term) in order, its occurrences joined across the
        runs and what is still in memory. Runs hold earlier documents than
        later runs, so joining keeps document numbers ascending."""
        if not self.runs:
            yield from self._sorted_terms()
            return
        sources = [self._read_run(name) for name in self.runs] + [self._sorted_terms()]
        current = None
        for field, term, docs in heapq.merge(*sources, key=itemgetter(0, 1)):
            if current is not None and current[0] == field and current[1] == term:
                current[2].extend(docs)
                continue
            if current is not None:
                yield current
            current = (field, term, docs)
        if current is not None:
            yield current

    def finish(self):
        """Write the segment's files; returns the segment, or None when no
        document was added."""
        self.perdoc.close()
        if not self.docnum:
            self._remove_runs()
            self._discard_sequences()
            return None
        writer = self.codec.field_writer(self.storage, self.segment)
        # Each document's words and pairs as numbers, beside the segment.
        for spec in self.fields.values():
            spec.count_rows(self.docnum)
        tables = _Tables(self.storage, self.segment.segment_id(), self.docnum, self.fields)
        # Each provisional number of the sequence tables as the number of
        # its term in the segment's `text` term table (its place among the
        # field's sorted terms).
        numbers = self.numbers
        final = np.full(len(numbers), sequences.MISSING, np.int32)
        hidden: list[tuple[Path, Path]] = []
        try:
            terms = _TermsWriter(writer, self.codec)
            field = table = None
            text_terms = 0
            for name, term, docs in self._merged_terms():
                if name != field:
                    field = name
                    spec = self.fields[name]
                    terms.start_field(name, spec.frequencies)
                    table = tables.start_field(name)
                if name == "text":
                    provisional = numbers.get(term)
                    if provisional is not None:
                        final[provisional] = text_terms
                    text_terms += 1
                btext = term if spec.raw else term.encode("utf-8")
                found = terms.add(btext, docs)
                if table is not None:
                    table.add(btext, found)
            terms.close()
            tables.close()
            numbers.clear()
            for stream in self.sequences.values():
                hidden.append((stream.finish(final), stream.path))
        except BaseException:
            tables.discard()
            self._discard_sequences()
            raise
        finally:
            writer.close()
            self._remove_runs()
        for spec in self.fields.values():
            spec.clear()
        self.segment.set_doc_count(self.docnum)
        if self.segment.should_assemble():
            self.segment.create_compound_file(self.storage)
        # After assembling: the compound file takes in the segment's files.
        tables.publish()
        for name, path in hidden:
            os.replace(name, path)
        return self.segment

    def cancel(self) -> None:
        with contextlib.suppress(Exception):
            self.perdoc.close()
        self._remove_runs()
        self._discard_sequences()

    def _discard_sequences(self) -> None:
        for stream in self.sequences.values():
            stream.discard()

    def _remove_runs(self) -> None:
        for name in self.runs:
            with contextlib.suppress(FileNotFoundError):
                self.storage.delete_file(name)
        self.runs = []


class _Tables:
    """A segment's term tables, as its terms are written: one field's table
    held at a time, written under a hidden name once the field's terms are
    (the compound file would take in files named after the segment), and
    named as the segment's once the segment is complete. Nothing is written
    to a storage without a folder."""

    def __init__(self, storage: FileStorage, segment_id: str, size: int, specs: dict):
        folder = getattr(storage, "folder", None)
        self.folder = Path(folder) if folder else None
        self.segment_id = segment_id
        self.lengths = {}
        for name in termtable.FIELDS:
            spec = specs.get(name)
            found = spec.row_lengths if spec is not None else None
            self.lengths[name] = found if found is not None else np.zeros(size, np.int64)
        self.current: tuple[str, termtable.TableWriter] | None = None
        self.hidden: dict[str, Path] = {}

    def start_field(self, name: str) -> termtable.TableWriter | None:
        """The table to give this field's terms to, if it has one."""
        self._write_current()
        if self.folder is None or name not in self.lengths:
            return None
        self.current = (name, termtable.TableWriter(self.lengths.pop(name)))
        return self.current[1]

    def close(self) -> None:
        """Write the last field's table, and empty ones for fields without terms."""
        self._write_current()
        if self.folder is not None:
            for name in list(self.lengths):
                self.current = (name, termtable.TableWriter(self.lengths.pop(name)))
                self._write_current()

    def _write_current(self) -> None:
        if self.current is not None:
            name, table = self.current
            self.current = None
            path = termtable.path_of(self.folder, self.segment_id, name)
            self.hidden[name] = table.write_hidden(path)

    def publish(self) -> None:
        for name, hidden in self.hidden.items():
            os.replace(hidden, termtable.path_of(self.folder, self.segment_id, name))

    def discard(self) -> None:
        for hidden in self.hidden.values():
            hidden.unlink(missing_ok=True)


# Whoosh packs frequencies, and everything else, big-endian.
_SWAP = sys.byteorder == "little"
# A block's pickle shorter than this is stored as it is: compressing it
# would make it longer (Whoosh meant to do the same below 20 bytes).
COMPRESS_FROM = 64
_TERMINFO = W3TermInfo._struct.pack
_KEY_VALUE_LENGTHS = filetables._lengths.pack
_NO_LENGTH = length_to_byte(None)  # no block records document lengths
_ZERO_LENGTH = length_to_byte(0)
_FLUSH_BYTES = 1 << 20


def _md5_hash(key: bytes) -> int:
    # filetables.md5_hash: the low 32 bits of the key's MD5 digest.
    return int.from_bytes(md5(key, usedforsecurity=False).digest()[12:], "big")


class _TermsWriter:
    """Writes terms and their postings as Whoosh's W3 field writer does,
    postings block by block and term infos as rows of its ordered hash
    table, with the same bytes (tests/test_search_bulk.py), but without a
    stack of Python calls per posting and per term: a term is a few C calls
    and one loop of Python."""

    def __init__(self, writer, codec: W3Codec):
        self.postfile = writer._postfile
        self.tindex = writer._tindex
        if self.tindex.hashfn is not filetables.md5_hash:
            raise ValueError("the terms table must be hashed with MD5")
        self.fieldmap = writer._fieldmap
        self.blocklimit = codec._blocklimit
        self.compression = codec._compression
        self.post_offset = self.postfile.tell()
        self.term_offset = self.tindex.dbfile.tell()
        self.posts: list[bytes] = []
        self.rows: list[bytes] = []
        self.positions = array("Q")
        self.buffered = 0
        self.prefix = b""
        self.frequencies = False
        self.lastkey = self.tindex.lastkey

    def start_field(self, name: str, frequencies: bool) -> None:
        fieldmap = self.fieldmap
        if name not in fieldmap:
            fieldmap[name] = len(fieldmap)
        self.prefix = pack_ushort(fieldmap[name])
        self.frequencies = frequencies

    def add(self, btext: bytes, occurrences: array) -> array:
        """One term, from the document number of each of its occurrences;
        returns the numbers of its documents, each once."""
        if len(occurrences) == 1 or not self.frequencies:
            docs, counts = occurrences, None
        else:
            counted = Counter(occurrences)
            if len(counted) == len(occurrences):
                docs, counts = occurrences, None
            else:
                docs, counts = array("I", counted), array("I", counted.values())
        frequencies = self.frequencies
        start = self.post_offset
        posts = self.posts
        posts.append(WHOOSH3_HEADER_MAGIC)
        written = len(WHOOSH3_HEADER_MAGIC)
        limit = self.blocklimit
        total = len(docs)
        weight = 0.0
        maxweight = 0
        for first in range(0, total, limit):
            ids = docs[first : first + limit] if total > limit else docs
            size = len(ids)
            deltas = tuple(map(sub, ids, chain((0,), ids)))
            if counts is None:
                weights, blockmax, blockweight = None, 1.0, float(size)
            else:
                block = counts[first : first + limit] if total > limit else counts
                blockmax = float(max(block))
                blockweight = float(sum(block))
                if block.count(1) == size:
                    weights = None
                elif block.count(block[0]) == size:
                    weights = float(block[0])
                else:
                    weights = tuple(map(float, block))
            if frequencies:
                values = array("I", [1]) * size if counts is None else array("I", block)
                if _SWAP:
                    values.byteswap()
                values = values.tobytes()
            else:
                values = None
            data = dumps((deltas, weights, values), 2)
            comp = self.compression if len(data) >= COMPRESS_FROM else 0
            if comp:
                data = zlib.compress(data, comp)
            info = dumps((size, ids[-1], blockmax, comp, _NO_LENGTH, _ZERO_LENGTH), 2)
            length = len(info) + len(data)
            posts += (pack_int(-length if first + limit >= total else length), info, data)
            written += 4 + length
            weight += blockweight
            if blockmax > maxweight:
                maxweight = blockmax
        self.post_offset = start + written
        key = self.prefix + btext
        if key <= self.lastkey:
            raise ValueError(f"terms must increase: {self.lastkey!r}..{key!r}")
        self.lastkey = key
        value = (
            _TERMINFO(0, weight, total, 0, _ZERO_LENGTH, maxweight, docs[0], docs[-1])
            + pack_long(start)
            + pack_int(written)
        )
        row = _KEY_VALUE_LENGTHS(len(key), len(value)) + key + value
        self.rows.append(row)
        self.positions.append(self.term_offset)
        hashed = _md5_hash(key)
        self.tindex.buckets[hashed & 255].append((hashed, self.term_offset))
        self.term_offset += len(row)
        self.buffered += written + len(row)
        if self.buffered >= _FLUSH_BYTES:
            self._flush()
        return docs

    def _flush(self) -> None:
        self.postfile.write(b"".join(self.posts))
        self.tindex.dbfile.write(b"".join(self.rows))
        self.posts.clear()
        self.rows.clear()
        self.buffered = 0

    def close(self) -> None:
        """Hand what was written to the terms table, which writes its hash
        tables and index when the field writer is closed."""
        self._flush()
        tindex = self.tindex
        tindex.lastkey = self.lastkey
        positions = self.positions
        index = tindex.index
        if len(index):
            positions = array("Q", index) + positions
        # The type Whoosh's growable array would have ended with.
        last = positions[-1] if positions else 0
        typecode = "H" if last < 2**16 else "i" if last < 2**31 else "I" if last < 2**32 else "q"
        index.array = array(typecode, positions)
        tindex.__class__ = _HashWriter


class _HashWriter(filetables.OrderedHashWriter):
    """Whoosh's ordered hash writer, writing its hash tables with C loops."""

    def _write_hashes(self):
        dbfile = self.dbfile
        null = (0, 0)
        pack = filetables._pointer.pack
        for entries in self.buckets:
            pos = dbfile.tell()
            numslots = 2 * len(entries)
            self.directory.append((pos, numslots))
            hashtable = [null] * numslots
            for hashval, position in entries:
                slot = (hashval >> 8) % numslots
                while hashtable[slot] != null:
                    slot = (slot + 1) % numslots
                hashtable[slot] = (hashval, position)
            dbfile.write(b"".join(starmap(pack, hashtable)))


# Building a generation


def build(
    generation: Path,
    engine: Engine,
    plan: Part,
    schema: fields.Schema,
    progress: Callable[[int], None] | None = None,
    processes: int = 0,
    nice: int = 0,
) -> int:
    """Index the documents of `plan` into the empty generation folder, with
    `processes` builder processes (0: in this process). Returns the count."""
    started = time.perf_counter()
    storage = FileStorage(str(generation))
    TOC.create(storage, schema, INDEX_NAME)
    parts = _split(plan, processes) if processes else [plan]
    if processes and len(parts) > 0:
        results = _in_processes(generation, engine, parts, schema, progress, nice)
    else:
        results = [_build_part(storage, engine, plan, schema, progress)]
    segments = [segment for segment, _ in results if segment is not None]
    TOC(schema, segments, 1).write(storage, INDEX_NAME)
    clean_files(storage, INDEX_NAME, 1, segments)
    for leftover in generation.glob("*.tmp"):  # the codec's temporary folders
        with contextlib.suppress(OSError):
            if leftover.is_dir():
                leftover.rmdir()
    count = sum(count for _, count in results)
    log.info(
        "search: built %d documents into %d segments with %d builder processes in %.1f s",
        count,
        len(segments),
        processes,
        time.perf_counter() - started,
    )
    return count


def _split(plan: Part, processes: int) -> list[Part]:
    """`processes` contiguous parts of about the same number of documents."""
    flat = [(doc_type, doc_id) for doc_type, ids in plan for doc_id in ids]
    size = -(-len(flat) // processes) if flat else 0
    parts = []
    for start in range(0, len(flat), size or 1):
        part: Part = []
        for doc_type, doc_id in flat[start : start + size]:
            if not part or part[-1][0] != doc_type:
                part.append((doc_type, []))
            part[-1][1].append(doc_id)
        parts.append(part)
    return parts


def _documents(engine: Engine, part: Part, progress) -> Iterable[tuple[dict, tuple | None]]:
    """Each document, with what a debrief says and its names (facts_said)."""
    with Session(engine) as session:
        for doc_type, ids in part:
            kind = DOCUMENT_TYPES[doc_type]
            for batch in batches(ids, READ_BATCH):
                load_said = getattr(kind, "load_said", None)
                if load_said is not None:
                    documents = load_said(session, batch)
                else:
                    documents = {i: (d, None) for i, d in kind.load(session, batch).items()}
                session.expunge_all()
                for doc_id in batch:
                    found = documents.get(doc_id)
                    if found is not None:
                        yield found
                if progress:
                    progress(len(batch))


def _build_part(storage: FileStorage, engine: Engine, part: Part, schema, progress):
    from kb.search.indexer import codec

    builder = SegmentBuilder(storage, codec(), schema, said=True)
    try:
        for document, said in _documents(engine, part, progress):
            builder.add(document, said)
        return builder.finish(), builder.docnum
    except BaseException:
        builder.cancel()
        raise


# Builder processes

_PR_SET_PDEATHSIG = 1
BUILDER_EXIT_SECONDS = 30


def _builder(generation: str, engine, part: Part, schema, index, messages, taken, parent, nice):
    """A builder process: write one segment, report it, wait until it is taken."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)
    if nice:
        os.nice(nice)
    engine.dispose(close=False)  # the parent's connections stay the parent's
    try:
        result = _build_part(
            FileStorage(generation), engine, part, schema, lambda n: messages.put(("progress", n))
        )
        messages.put(("done", index, result))
    except BaseException:
        messages.put(("failed", index, traceback.format_exc()))
        messages.close()
        messages.join_thread()  # the report reaches the parent before this exits
        os._exit(1)
    taken.wait()


def _in_processes(generation: Path, engine: Engine, parts: list[Part], schema, progress, nice):
    context = multiprocessing.get_context("fork")
    messages = context.Queue()
    taken = context.Event()
    workers = [
        context.Process(
            target=_builder,
            args=(str(generation), engine, part, schema, i, messages, taken, os.getpid(), nice),
            name=f"kb-index-builder-{i}",
            daemon=True,
        )
        for i, part in enumerate(parts)
    ]
    results: dict[int, tuple] = {}
    try:
        for worker in workers:
            worker.start()
        while len(results) < len(workers):
            try:
                message = messages.get(timeout=0.5)
            except queue.Empty:
                dead = [w.name for w in workers if w.exitcode is not None]
                if dead:
                    raise RuntimeError(f"index builder died: {', '.join(dead)}") from None
                continue
            if message[0] == "progress":
                if progress:
                    progress(message[1])
            elif message[0] == "done":
                results[message[1]] = message[2]
            else:
                raise RuntimeError(f"index builder {message[1]} failed:\n{message[2]}")
        taken.set()
        for worker in workers:
            worker.join(BUILDER_EXIT_SECONDS)
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.kill()
                worker.join()
        messages.close()
    return [results[i] for i in range(len(workers))]
