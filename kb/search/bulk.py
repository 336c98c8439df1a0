"""Building a generation from scratch, at the speed of reading the database.

Whoosh's writer sends every posting through a sorting pool: a Python tuple
per posting, pickled to temporary run files when the pool is full, read back
and merged one posting at a time. At 100,000 debriefs that is 25 million
tuples, several minutes and gigabytes of temporary files. Here a builder
keeps each field's postings in memory as two compact arrays per term
(documents and frequencies), counted with a Counter per document, and
writes the segment with Whoosh's own codec one term at a time, so the
files are in Whoosh's format and read by its code (tests/test_search_bulk.py
compares what it writes with what Whoosh's writer writes, posting for
posting; only blocks too small to gain from compression are left as they are).

Documents are read in order of their ids and split into one contiguous
range per builder process; each builder writes one segment and the
segments, listed in that order, make the generation. Document numbers
therefore follow ids, as in an index built by one Whoosh writer. A builder
whose postings pass SPILL_POSTINGS writes them to a compressed run file and
merges its runs term by term at the end, so memory stays flat at any size.

Builder processes get SIGKILL when the process that started them dies,
and wait for that process to take their segment before they exit.
"""

import contextlib
import ctypes
import gzip
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
from itertools import chain, repeat
from operator import itemgetter, sub
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session
from whoosh import fields, formats
from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC, W3Codec, W3PostingsWriter
from whoosh.compat import dumps
from whoosh.filedb.filestore import FileStorage
from whoosh.index import _DEF_INDEX_NAME as INDEX_NAME
from whoosh.index import TOC, clean_files
from whoosh.util.numeric import length_to_byte

from kb.search.documents import DOCUMENT_TYPES, batches

log = logging.getLogger(__name__)

READ_BATCH = 1000
# Postings a builder holds in memory before writing them to a run: about
# 60 MB of arrays and dictionaries.
SPILL_POSTINGS = 3_000_000
# Below this many documents one builder in the calling process is quicker
# than starting processes.
SMALL = 5_000
# Values of structured fields repeat (an outcome, a quarter, a segment), so
# what Whoosh makes of each is remembered.
VALUE_CACHE = 100_000

# (document type, ids in ascending order)
Part = list[tuple[str, list[int]]]


class _Postings(dict):
    """term → document numbers (or frequencies), one array per term."""

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
        self.values: dict = {}
        self.clear()

    def clear(self) -> None:
        self.docs = _Postings()
        self.freqs = _Postings() if self.frequencies else None

    def add(self, docnum: int, value) -> tuple[int, int]:
        """Record the postings of one document's value; returns their
        number and the value's length as Whoosh counts it."""
        if isinstance(value, list) and not self.raw:
            # A list is taken as its terms, already analysed.
            if self.frequencies:
                counts = Counter(value)
                terms, freqs, length = counts, counts.values(), len(value)
            else:
                terms = dict.fromkeys(value)
                freqs, length = None, len(terms)
        else:
            terms, freqs, length = self._terms(value)
        # The loops over terms run in C: this is done for every posting.
        _consume(map(_append, map(self.docs.__getitem__, terms), repeat(docnum)))
        if self.frequencies:
            _consume(map(_append, map(self.freqs.__getitem__, terms), freqs))
        return len(terms), length

    def _terms(self, value) -> tuple[tuple, tuple, int]:
        """(terms, frequencies, length) of a value that is not a list of
        terms, as Whoosh's field.index() makes them."""
        key = value if not isinstance(value, list) else tuple(value)
        found = self.values.get(key)
        if found is None:
            items = [
                (term if self.raw else term.decode("utf-8"), freq)
                for term, freq, _, _ in self.field.index(value)
            ]
            terms = tuple(term for term, _ in items)
            freqs = tuple(freq for _, freq in items)
            found = (terms, freqs, sum(freqs))
            if len(self.values) >= VALUE_CACHE:
                self.values.clear()
            self.values[key] = found
        return found

    def sorted_postings(self) -> Iterator[tuple[object, array, array | None]]:
        freqs = self.freqs
        for term in sorted(self.docs):
            yield term, self.docs[term], freqs[term] if freqs is not None else None


class SegmentBuilder:
    """Writes one Whoosh segment into `storage` from documents (the dicts
    of kb.search.documents) added in order."""

    def __init__(
        self, storage: FileStorage, codec: W3Codec, schema: fields.Schema, spill: int | None = None
    ):
        self.storage = storage
        self.codec = codec
        self.segment = codec.new_segment(storage, INDEX_NAME)
        self.perdoc = codec.per_document_writer(storage, self.segment)
        self.fields = {name: _Field(name, schema[name]) for name in schema.names()}
        self.docnum = 0
        self.held = 0
        self.spill = spill or SPILL_POSTINGS
        self.runs: list[str] = []

    def add(self, document: dict) -> None:
        """Index one document, as SegmentWriter.add_document would."""
        docnum = self.docnum
        perdoc = self.perdoc
        perdoc.start_doc(docnum)
        for name in sorted(document):
            value = document[name]
            if value is None:
                continue
            spec = self.fields[name]
            length = 0
            if spec.indexed:
                postings, length = spec.add(docnum, value)
                self.held += postings
                if not spec.scorable:
                    length = 0
            perdoc.add_field(name, spec.field, value if spec.stored else None, length)
            if spec.column is not None:
                perdoc.add_column_value(name, spec.column, spec.field.to_column_value(value))
        perdoc.finish_doc()
        self.docnum += 1
        if self.held >= self.spill:
            self._write_run()

    def _sorted_terms(self) -> Iterator[tuple[str, object, array, array | None]]:
        for name in sorted(self.fields):
            spec = self.fields[name]
            if spec.indexed:
                for term, docs, freqs in spec.sorted_postings():
                    yield name, term, docs, freqs

    def _write_run(self) -> None:
        """Move the postings held in memory to a compressed run file."""
        name = f"{INDEX_NAME}_{self.segment.segment_id()}.{len(self.runs)}.run"
        with gzip.open(os.path.join(self.storage.folder, name), "wb", compresslevel=1) as run:
            for record in self._sorted_terms():
                pickle.dump(record, run, pickle.HIGHEST_PROTOCOL)
        self.runs.append(name)
        for spec in self.fields.values():
            spec.clear()
        self.held = 0

    def _read_run(self, name: str) -> Iterator[tuple[str, object, array, array | None]]:
        # One pickle per term, each loaded on its own: an unpickler kept
        # across them would keep every term it has read.
        with gzip.open(os.path.join(self.storage.folder, name), "rb") as run:
            while True:
                try:
                    yield pickle.load(run)  # noqa: S301  (this builder's own run file)
                except EOFError:
                    return

    def _merged_terms(self) -> Iterator[tuple[str, object, array, array]]:
        """Every (field, term) in order, its postings joined across the runs
        and what is still in memory. Runs hold earlier documents than later
        runs, so joining keeps document numbers ascending."""
        if not self.runs:
            yield from self._sorted_terms()
            return
        sources = [self._read_run(name) for name in self.runs] + [self._sorted_terms()]
        current = None
        for field, term, docs, freqs in heapq.merge(*sources, key=itemgetter(0, 1)):
            if current is not None and current[0] == field and current[1] == term:
                current[2].extend(docs)
                if freqs is not None:
                    current[3].extend(freqs)
                continue
            if current is not None:
                yield current
            current = (field, term, docs, freqs)
        if current is not None:
            yield current

    def finish(self):
        """Write the segment's files; returns the segment, or None when no
        document was added."""
        self.perdoc.close()
        if not self.docnum:
            self._remove_runs()
            return None
        writer = self.codec.field_writer(self.storage, self.segment)
        try:
            field = None
            for name, term, docs, freqs in self._merged_terms():
                if name != field:
                    if field is not None:
                        writer.finish_field()
                    field = name
                    spec = self.fields[name]
                    writer.start_field(name, spec.field)
                    writer._postwriter = BlockWriter(
                        writer._postfile,
                        blocklimit=self.codec._blocklimit,
                        compression=self.codec._compression,
                        inlinelimit=self.codec._inlinelimit,
                    )
                writer.start_term(term if spec.raw else term.encode("utf-8"))
                writer._postwriter.write(docs, freqs, spec.frequencies)
                writer.finish_term()
            if field is not None:
                writer.finish_field()
        finally:
            writer.close()
            self._remove_runs()
        for spec in self.fields.values():
            spec.clear()
        self.segment.set_doc_count(self.docnum)
        if self.segment.should_assemble():
            self.segment.create_compound_file(self.storage)
        return self.segment

    def cancel(self) -> None:
        with contextlib.suppress(Exception):
            self.perdoc.close()
        self._remove_runs()

    def _remove_runs(self) -> None:
        for name in self.runs:
            with contextlib.suppress(FileNotFoundError):
                self.storage.delete_file(name)
        self.runs = []


_FREQ_BYTES_SWAP = sys.byteorder == "little"  # Whoosh packs frequencies big-endian
# A block's pickle shorter than this is stored as it is: compressing it
# would make it longer (Whoosh meant to do the same below 20 bytes).
COMPRESS_FROM = 64


class BlockWriter(W3PostingsWriter):
    """Whoosh's W3 postings writer, fed a block at a time (write()), with
    its per-posting Python loops done by C functions; the blocks it writes
    are the ones Whoosh writes, and read by the same code."""

    def write(self, docs: array, freqs: array, frequencies: bool) -> None:
        limit = self._blocklimit
        for start in range(0, len(docs), limit):
            if start:
                self._write_block()
            ids = docs[start : start + limit]
            self._ids = ids
            if frequencies:
                counts = freqs[start : start + limit]
                self._weights = array("f", counts)
                self._maxweight = float(max(counts))
                values = array("I", counts)
                if _FREQ_BYTES_SWAP:
                    values.byteswap()
                self._values = [values.tobytes()]
            else:
                self._weights = array("f", [1.0]) * len(ids)
                self._maxweight = 1.0
                self._values = []

    def _mini_ids(self):
        ids = self._ids
        return tuple(map(sub, ids, chain((0,), ids)))  # delta_encode

    def _mini_weights(self):
        weights = self._weights
        if weights.count(1.0) == len(weights):
            return None
        if weights.count(weights[0]) == len(weights):
            return weights[0]
        return tuple(weights)

    def _write_block(self, last=False):
        # W3PostingsWriter._write_block, leaving small blocks uncompressed.
        if not self._blockcount:
            self._postfile.write(WHOOSH3_HEADER_MAGIC)
        self._terminfo.add_block(self)
        data = dumps((self._mini_ids(), self._mini_weights(), self._mini_values()), 2)
        comp = self._compression if len(data) >= COMPRESS_FROM else 0
        if comp:
            data = zlib.compress(data, comp)
        ids = self._ids
        info = dumps(
            (
                len(ids),
                ids[-1],
                self._maxweight,
                comp,
                length_to_byte(self._minlength),
                length_to_byte(self._maxlength),
            ),
            2,
        )
        length = len(info) + len(data)
        self._postfile.write_int(-length if last else length)
        self._postfile.write(info)
        self._postfile.write(data)
        self._blockcount += 1
        self._new_block()


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


def _documents(engine: Engine, part: Part, progress) -> Iterable[dict]:
    with Session(engine) as session:
        for doc_type, ids in part:
            kind = DOCUMENT_TYPES[doc_type]
            for batch in batches(ids, READ_BATCH):
                documents = kind.load(session, batch)
                session.expunge_all()
                for doc_id in batch:
                    document = documents.get(doc_id)
                    if document is not None:
                        yield document
                if progress:
                    progress(len(batch))


def _build_part(storage: FileStorage, engine: Engine, part: Part, schema, progress):
    from kb.search.indexer import codec

    builder = SegmentBuilder(storage, codec(), schema)
    try:
        for document in _documents(engine, part, progress):
            builder.add(document)
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
