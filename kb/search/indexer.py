"""Writing the index: applying the outbox to a generation, and building a
generation from scratch.

Applying reads the outbox rows beyond the generation's cursor in id order,
re-reads each named document's current state from the database and writes it
(or removes it when it no longer exists), commits the index, and only then
records the new cursor. A crash anywhere in between leaves the rows beyond
the cursor, so they are applied again on the next catch-up; applying a
change twice is harmless because the document is always read afresh.

Applying never merges segments (merging can take longer than a request may
wait); merge() does, when the indexer has nothing else to do.
"""

import contextlib
import copy
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session
from whoosh import index as whoosh_index
from whoosh.codec.whoosh3 import W3Codec
from whoosh.reading import MultiReader, SegmentReader, TermNotFound
from whoosh.searching import Searcher
from whoosh.writing import NO_MERGE
from whoosh.writing import SegmentWriter as WhooshSegmentWriter

from kb.models import IndexChange
from kb.search import bulk
from kb.search.documents import DOCUMENT_TYPES, batches, key_of, parse_key
from kb.search.folder import Cursor, IndexFolder
from kb.search.schema import SCHEMA, same_analysis

log = logging.getLogger(__name__)

# Larger posting blocks than Whoosh's default (128): fewer blocks to unpickle
# when a common term is read whole.
CODEC_BLOCK = 1024
OUTBOX_BATCH = 2000
LOAD_BATCH = 500
# Ids below the cursor seen missing are waited for this long, then taken for
# rolled-back transactions (PostgreSQL never reuses a sequence value).
GAP_SECONDS = 3600
MAX_GAPS = 1000
# Ids just below the newest one a rebuild treats as possibly still in flight.
REBUILD_GAP_WINDOW = 200
# Segment merging: segments whose sizes are within one power of MERGE_TIER
# of each other are merged once MERGE_WIDTH of them have piled up, so a merge
# rewrites documents a few times at most and never the whole index at once.
MERGE_TIER = 8
MERGE_WIDTH = 6
# While changes keep coming, a merge may hold up the next batch: only tiers
# of up to MERGE_STEP_DOCS documents are merged then (a fraction of a
# second); larger ones wait until the outbox has been quiet for a moment,
# or until more than MAX_SEGMENTS segments have piled up (searches open a
# reader of each).
MERGE_STEP_DOCS = 1000
MAX_SEGMENTS = 60
OPEN_ATTEMPTS = 5


_unknown_types: set[str] = set()


class RebuildNeeded(Exception):
    """The generation cannot be brought up to date by applying the outbox."""


class Codec(W3Codec):
    """Whoosh's W3 codec, without the per-block document length statistics
    its collectors use to skip blocks. Searches here read a term's postings
    whole (see docsets.py), and gathering those statistics costs a column
    read for every posting at every commit."""

    length_stats = False


def codec() -> W3Codec:
    return Codec(blocklimit=CODEC_BLOCK)


# Readers of each segment's keys, kept by the writing process from one
# commit to the next (a segment never changes once written): replacing a
# document looks its key up in each segment, and opening a reader of every
# segment for each commit (what Whoosh's update_document does) cost more
# than writing the documents. Used only under the writer lock.
_key_readers: dict[tuple[str, str], SegmentReader] = {}
_key_readers_guard = threading.Lock()


def _key_reader(storage, schema, segment) -> SegmentReader:
    key = (str(getattr(storage, "folder", id(storage))), segment.segment_id())
    reader = _key_readers.get(key)
    if reader is None:
        # Of the segment as written, without deletions: a reader would
        # otherwise keep the deletions of the writer that opened it, even
        # when that writer is cancelled. Deleting a deleted document again
        # changes nothing.
        written = copy.copy(segment)
        written._deleted = None
        reader = _key_readers[key] = SegmentReader(storage, schema, written)
    return reader


def forget_key_readers(storage, segments: list) -> None:
    """Close the key readers of segments no longer in the index (merged away,
    or of another generation)."""
    folder = str(getattr(storage, "folder", id(storage)))
    live = {(folder, segment.segment_id()) for segment in segments}
    with _key_readers_guard:
        for key in [k for k in _key_readers if k not in live]:
            reader = _key_readers.pop(key)
            with contextlib.suppress(Exception):
                reader.close()


class SegmentWriter(WhooshSegmentWriter):
    """Whoosh's writer, which finds the documents it replaces with the
    process's key readers (see _key_readers), and lets go of its searcher
    when it is done.

    The searcher Whoosh opens for deletions keeps its own close method as an
    attribute (a reference cycle), so after every commit the closed searcher
    stayed in memory until a full garbage collection, and with it a memory
    map, and an open file, of every segment it had read: deleted segment
    files too, once merged away. Breaking the cycle frees them at once."""

    def __init__(self, ix, *args, **kwargs):
        super().__init__(ix, *args, **kwargs)
        forget_key_readers(self.storage, self.segments)

    def delete_key(self, key: str) -> None:
        """Delete the committed documents with this key (Whoosh's
        delete_by_term for the unique key field)."""
        for segment in self.segments:
            reader = _key_reader(self.storage, self.schema, segment)
            try:
                docnums = list(reader.postings("key", key).all_ids())
            except TermNotFound:
                continue
            for docnum in docnums:
                segment.delete_document(docnum)

    def update_document(self, **fields):
        self.delete_key(fields["key"])
        self.add_document(**fields)

    def _finish(self):
        searcher = self._searcher
        super()._finish()
        if searcher is not None:
            vars(searcher).pop("_orig_close", None)


class BuiltSegmentWriter(SegmentWriter):
    """A writer whose new segment is written by bulk.SegmentBuilder (what
    `kb reindex` uses) instead of Whoosh's sorting pool: Whoosh sends each
    posting through the pool as a Python tuple and, to merge, reopens every
    term of every merged segment, which made applying and merging cost
    several milliseconds of CPU a document. Deletions, the lock, the table
    of contents and the removal of merged segments' files stay Whoosh's."""

    builder: bulk.SegmentBuilder | None = None
    built = False

    def add_document(self, **fields):
        self._check_state()
        if self.builder is None:
            self.builder = bulk.SegmentBuilder(self.storage, codec(), self.schema)
        self.builder.add(fields)
        self._added = True

    def add_reader(self, reader):
        raise NotImplementedError("merge by reloading documents: see merge()")

    def _finalize_segment(self):
        self._close_segment()  # Whoosh's own, unused, segment files
        segment = self.builder.finish()
        self.built = True
        return segment

    def _finish(self):
        # Cancelled, or failed before the segment was finished: its files
        # go at the next commit, which keeps only the segments it lists.
        if self.builder is not None and not self.built:
            self.builder.cancel()
        super()._finish()


# Postings a writer holds in memory before it sorts them into a temporary
# run on disk (Whoosh's default is 128 MB): a merge of a few thousand
# documents in a web worker's indexer thread otherwise leaves that worker
# about 100 MB larger for good.
WRITER_POOL_MB = 32


def index_writer(ix) -> SegmentWriter:
    """A writer for applying changes or merging (one process, no merging unless asked)."""
    return BuiltSegmentWriter(ix, timeout=30.0, codec=codec(), limitmb=WRITER_POOL_MB)


def open_generation(path: Path):
    """The Whoosh index of a generation; raises when it is missing or damaged."""
    ix = whoosh_index.open_dir(str(path))
    # Reading the schema parses the table of contents, which fails on a damaged
    # index; an index written with other fields (an older version) is rebuilt too.
    if sorted(ix.schema.names()) != sorted(SCHEMA.names()):
        raise RebuildNeeded("the index was written with different fields")
    if not same_analysis(ix.schema):
        raise RebuildNeeded("the index was written with another text analysis")
    return ix


def open_searcher(path: Path, previous=None):
    """A searcher of the generation's newest commit. The indexer may commit
    while it opens, removing the table of contents or the merged segment
    files it was about to read; the commit after that is complete, so open
    that one instead of reporting the index as missing.

    Given the caller's `previous` searcher of the same generation, the
    readers of the segments that have not changed since (same segment, same
    deletions) are taken over rather than opened again, and the caller
    closes the previous one with close_searcher(previous, new)."""
    for attempt in range(OPEN_ATTEMPTS):
        try:
            return _open_searcher(open_generation(path), previous)
        except FileNotFoundError:
            if attempt == OPEN_ATTEMPTS - 1 or not path.is_dir():
                raise


def _segment_state(segment) -> tuple[str, int]:
    # A segment's deletions only grow, so their number tells its state.
    return segment.segment_id(), segment.deleted_count()


def _open_searcher(ix, previous):
    toc = ix._read_toc()
    if not toc.segments:
        return ix.searcher()
    reusable = {}
    if previous is not None:
        for reader, _ in previous.reader().leaf_readers():
            if isinstance(reader, SegmentReader) and not reader.is_closed:
                reusable[_segment_state(reader.segment())] = reader
    readers, opened = [], []
    try:
        for segment in toc.segments:
            reader = reusable.pop(_segment_state(segment), None)
            if reader is None:
                reader = SegmentReader(ix.storage, toc.schema, segment, generation=toc.generation)
                opened.append(reader)
            readers.append(reader)
    except BaseException:
        for reader in opened:
            with contextlib.suppress(Exception):
                reader.close()
        raise
    # A MultiReader even of one segment: it carries the generation, which a
    # reused segment reader does not.
    return Searcher(MultiReader(readers, generation=toc.generation), fromindex=ix)


def close_searcher(searcher, successor=None) -> None:
    """Close `searcher`, except the segment readers `successor` took over."""
    kept = set()
    if successor is not None:
        kept = {id(reader) for reader, _ in successor.reader().leaf_readers()}
    if not kept:
        searcher.close()
        return
    for reader, _ in searcher.reader().leaf_readers():
        if id(reader) not in kept and not getattr(reader, "is_closed", False):
            reader.close()
    searcher.is_closed = True


def latest_outbox_id(session: Session) -> int:
    return session.scalar(select(func.max(IndexChange.id))) or 0


def pending_rows(session: Session, cursor: Cursor, limit: int) -> list:
    condition = IndexChange.id > cursor.applied_id
    if cursor.gaps:
        condition = or_(condition, IndexChange.id.in_(sorted(cursor.gaps)[:MAX_GAPS]))
    return list(
        session.execute(
            select(IndexChange.id, IndexChange.doc_type, IndexChange.doc_id)
            .where(condition)
            .order_by(IndexChange.id)
            .limit(limit)
        )
    )


def has_pending(session: Session, cursor: Cursor) -> bool:
    if latest_outbox_id(session) > cursor.applied_id:
        return True
    return bool(cursor.gaps) and bool(pending_rows(session, Cursor(2**62, cursor.gaps), 1))


def advance(cursor: Cursor, seen: list[int], now: float, gap_seconds: float) -> Cursor:
    """The cursor after applying the rows with ids `seen` (ascending)."""
    seen_set = set(seen)
    gaps = {i: t for i, t in cursor.gaps.items() if i not in seen_set and now - t < gap_seconds}
    top = max(seen[-1] if seen else 0, cursor.applied_id)
    first_missing = max(cursor.applied_id + 1, top - MAX_GAPS)
    for missing in range(first_missing, top):
        if missing not in seen_set:
            gaps[missing] = now
    if len(gaps) > MAX_GAPS:
        gaps = dict(sorted(gaps.items())[-MAX_GAPS:])
    return Cursor(top, gaps)


def apply_changes(ix, session: Session, rows: list) -> None:
    """Write the current state of every document named in `rows` to `ix`."""
    wanted: dict[str, set[int]] = {}
    for row in rows:
        wanted.setdefault(row.doc_type, set()).add(row.doc_id)
    writer = index_writer(ix)
    try:
        for doc_type, ids in wanted.items():
            kind = DOCUMENT_TYPES.get(doc_type)
            if kind is None:
                # A type another part of the app records before search indexes it.
                if doc_type not in _unknown_types:
                    _unknown_types.add(doc_type)
                    log.warning("search outbox: no document type %r is indexed; skipped", doc_type)
                continue
            for batch in batches(sorted(ids), LOAD_BATCH):
                documents = kind.load(session, batch)
                for doc_id in batch:
                    document = documents.get(doc_id)
                    if document is None:
                        writer.delete_key(key_of(doc_type, doc_id))
                    else:
                        writer.update_document(**document)
        writer.commit(mergetype=NO_MERGE)
    except BaseException:
        writer.cancel()
        raise
    finally:
        session.expunge_all()


def drain(
    folder: IndexFolder,
    generation: Path,
    session: Session,
    gap_seconds: float = GAP_SECONDS,
    rebuild_backlog: int | None = None,
    max_rows: int | None = None,
) -> int:
    """Apply the outbox rows beyond the generation's cursor (all of them, or
    the first max_rows). The caller holds the writer lock. Returns the number
    of rows applied."""
    cursor = folder.read_cursor(generation)
    if cursor is None:
        raise RebuildNeeded("the generation has no cursor")
    latest = latest_outbox_id(session)
    if latest < cursor.applied_id:
        # The outbox restarted (a fresh database behind an old index folder).
        raise RebuildNeeded(f"outbox id {latest} is behind the index's {cursor.applied_id}")
    ix = None
    applied = 0
    while True:
        batch = OUTBOX_BATCH if max_rows is None else min(OUTBOX_BATCH, max_rows - applied)
        rows = pending_rows(session, cursor, batch)
        if rows and applied == 0 and rebuild_backlog is not None:
            backlog = session.scalar(select(func.count()).where(IndexChange.id > cursor.applied_id))
            if backlog and backlog > rebuild_backlog:
                raise RebuildNeeded(f"{backlog} changes waiting; rebuilding is faster")
        now = time.time()
        following = advance(cursor, [row.id for row in rows], now, gap_seconds)
        if rows:
            ix = ix or open_generation(generation)
            apply_changes(ix, session, rows)
            applied += len(rows)
        if following != cursor:
            folder.write_cursor(generation, following)
            cursor = following
        if len(rows) < batch or (max_rows is not None and applied >= max_rows):
            return applied


def _tier(segment) -> int:
    tier, size = 0, max(1, segment.doc_count())
    while size >= MERGE_TIER:
        size //= MERGE_TIER
        tier += 1
    return tier


def _due_tier(segments: list, max_docs: int | None) -> list:
    """The segments of the smallest tier with MERGE_WIDTH or more segments
    (of at most max_docs documents together, when given; past MAX_SEGMENTS
    segments in all, whatever their size), or []."""
    tiers: dict[int, list] = {}
    for segment in segments:
        tiers.setdefault(_tier(segment), []).append(segment)
    for tier in sorted(tiers):
        members = tiers[tier]
        if len(members) < MERGE_WIDTH:
            continue
        docs = sum(segment.doc_count_all() for segment in members)
        if max_docs is None or docs <= max_docs or len(segments) > MAX_SEGMENTS:
            return members
    return []


def live_keys(writer, segment) -> list[str]:
    """The keys of a segment's documents that are not deleted."""
    reader = SegmentReader(writer.storage, writer.schema, segment)
    try:
        return [fields["key"] for fields in reader.all_stored_fields()]
    finally:
        reader.close()


def merge_tiers(writer, segments: list, session: Session, max_docs: int | None = None) -> list:
    """A Whoosh merge policy: the segments _due_tier picks are replaced by
    one holding their live documents, read afresh from the database (as
    applying does: a document changed since is written as it is now, and
    its waiting outbox row rewrites it again; one deleted since is left
    out, as its row would). Every other segment stays as it is."""
    merging = _due_tier(segments, max_docs)
    wanted: dict[str, list[int]] = {}
    for segment in merging:
        for key in live_keys(writer, segment):
            doc_type, doc_id = parse_key(key)
            wanted.setdefault(doc_type, []).append(doc_id)
    for doc_type, ids in wanted.items():
        kind = DOCUMENT_TYPES.get(doc_type)
        if kind is None:
            continue
        for batch in batches(sorted(ids), LOAD_BATCH):
            documents = kind.load(session, batch)
            for doc_id in batch:
                if (document := documents.get(doc_id)) is not None:
                    writer.add_document(**document)
    session.expunge_all()
    return [s for s in segments if s not in merging]


def merge_due(ix, max_docs: int | None = None) -> bool:
    return bool(_due_tier(ix._segments(), max_docs))


def merge(ix, session: Session, max_docs: int | None = None) -> bool:
    """Merge one tier of segments when one is full (and, given max_docs, no
    larger than that, unless segments have piled up past MAX_SEGMENTS).
    Returns whether it did."""
    if not merge_due(ix, max_docs):
        return False
    writer = index_writer(ix)
    try:
        writer.commit(mergetype=lambda w, segments: merge_tiers(w, segments, session, max_docs))
    except BaseException:
        writer.cancel()
        raise
    return True


def snapshot_cursor(session: Session) -> Cursor:
    """Where a rebuild that reads the database from now on starts in the
    outbox: at the newest id, with recent missing ids (transactions possibly
    still running) left to be applied when they commit."""
    latest = latest_outbox_id(session)
    recent = set(
        session.scalars(select(IndexChange.id).where(IndexChange.id > latest - REBUILD_GAP_WINDOW))
    )
    now = time.time()
    window = range(max(1, latest - REBUILD_GAP_WINDOW + 1), latest)
    gaps = {i: now for i in window if i not in recent}
    return Cursor(latest, gaps)


def build(
    generation: Path,
    session: Session,
    progress: Callable[[int], None] | None = None,
    processes: int = 0,
    nice: int = 0,
) -> int:
    """Index every document into the empty generation folder, with
    `processes` builder processes (0: in this process), their priority
    lowered by `nice`. Returns the count."""
    plan = [(doc_type, kind.all_ids(session)) for doc_type, kind in DOCUMENT_TYPES.items()]
    session.rollback()  # the builders read on their own connections
    return bulk.build(generation, session.get_bind(), plan, SCHEMA, progress, processes, nice)
