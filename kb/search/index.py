"""One app's search index in this process: the folder, the searchers that
read it (one per thread: Whoosh searchers are not thread-safe), and the
single-writer protocol that keeps it in step with the outbox.

Who writes depends on Settings.mode:
- "thread" and "external": the machine's indexer (kb.search.follower, a
  background thread of one web worker or `kb indexer`) applies the outbox;
  requests only commit to the database and read the index.
- "inline": the committing process applies its own changes right after the
  commit, and a search catches up with others' changes first; for tests
  and one-process scripts, where a change must be searchable at once.

Whoever holds writer.lock applies the outbox until it is empty. A process
that cannot get the lock leaves its change to the holder, and the holder
looks at the outbox again after letting go, so a change committed while it
was busy is never stranded.
"""

import contextlib
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, inspect, or_, select
from sqlalchemy.orm import Session

from kb.extensions import db
from kb.models import IndexChange
from kb.search import bulk, indexer
from kb.search.docsets import View
from kb.search.documents import DOCUMENT_TYPES
from kb.search.folder import Cursor, IndexFolder
from kb.search.vocabulary import Vocabulary
from kb.search.vocabulary import load as load_vocabulary

log = logging.getLogger(__name__)

VOCABULARY_SECONDS = 30
# A file's time stamps move in ticks of the kernel's clock (a few ms): a
# folder time stamp younger than this may also be that of a change to come.
TIMESTAMP_SLACK_NS = 50_000_000
POLL_ROWS = 200
INDEXER_LOCK = "indexer.lock"
WRITER_LOCK = "writer.lock"
REBUILD_LOCK = "rebuild.lock"
MODES = ("thread", "external", "inline")
# How much an automatic rebuild's builder processes give way to searches.
BACKGROUND_NICE = 10


@dataclass
class Settings:
    mode: str = "thread"  # who applies the outbox (see the module docstring)
    apply_wait: float = 2.0  # inline: seconds a commit waits for the writer lock
    poll_seconds: float = 1.0  # inline: how often a search checks for others' changes
    follow_seconds: float = 0.2  # the indexer: how often it looks at the outbox
    max_lag_seconds: float = 30.0  # older unapplied changes make /healthz fail
    gap_seconds: float = indexer.GAP_SECONDS
    rebuild_backlog: int = 20_000  # more waiting changes than this: rebuild instead
    procs: int = 0  # builder processes for a rebuild; 0: up to 2, by size


class SearchIndex:
    def __init__(self, root: str, settings: Settings | None = None):
        self.folder = IndexFolder(root)
        self.settings = settings or Settings()
        self._local = threading.local()
        self._last_poll = 0.0
        self._vocabulary: tuple[float, Vocabulary] | None = None
        self.last_error: str | None = None
        self.woken = threading.Event()  # set by local commits, for the indexer
        self._verified: Path | None = None  # the generation the writer found sound

    def wake(self) -> None:
        """Tell this process's indexer (if it runs here) to look now."""
        self.woken.set()

    def vocabulary(self) -> Vocabulary:
        """Competitors, choices and taxonomy, re-read after a local change
        to them or after VOCABULARY_SECONDS (changes made by other processes)."""
        cached = self._vocabulary
        if cached is None or time.monotonic() - cached[0] > VOCABULARY_SECONDS:
            with Session(db.engine) as session:
                cached = self._vocabulary = (time.monotonic(), load_vocabulary(session))
        return cached[1]

    def forget_vocabulary(self) -> None:
        self._vocabulary = None

    # Reading

    def view(self) -> View | None:
        """This thread's snapshot of the newest committed index, or None
        when there is no usable index yet."""
        local = self._local
        stamp = self.folder.pointer_stamp()
        searcher = getattr(local, "searcher", None)
        try:
            previous = None
            if searcher is not None and local.stamp == stamp and self._changed(local):
                # Reopen, taking over the readers of the segments that have
                # not changed (Whoosh's own refresh would also keep the reader
                # of a segment with documents deleted since: an edited
                # document would match its old text too).
                previous, searcher = searcher, None
            if searcher is None or local.stamp != stamp:
                generation = self.folder.current()
                if generation is None:
                    self._close_local()
                    return None
                if previous is None:
                    self._close_local()
                fresh = indexer.open_searcher(generation, previous)
                if previous is not None:
                    local.searcher = local.view = None
                    indexer.close_searcher(previous, fresh)
                local.stamp, local.path, local.searcher = stamp, str(generation), fresh
                local.view = View(local.path, fresh)
        except Exception as exc:  # a damaged index must not break the page
            log.warning("search: cannot open the index: %s", exc)
            self._close_local()
            return None
        return local.view

    def _changed(self, local) -> bool:
        """Whether the index may have a newer commit than this thread's
        searcher. Every commit adds and removes files in the generation's
        folder, changing its modification time: one stat a search, and the
        folder is listed (Whoosh's up_to_date) only after it changed. A time
        stamp this recent could still be shared by a later change, so it is
        not trusted until it is older than TIMESTAMP_SLACK."""
        try:
            mtime = os.stat(local.path).st_mtime_ns
        except OSError:
            return True
        if mtime == getattr(local, "folder_mtime", None):
            return False
        if not local.searcher.up_to_date():
            return True
        if time.time_ns() - mtime > TIMESTAMP_SLACK_NS:
            local.folder_mtime = mtime
        return False

    def forget_view(self) -> None:
        """Drop this thread's searcher; the next view() opens a fresh one."""
        self._close_local()

    def _close_local(self) -> None:
        searcher = getattr(self._local, "searcher", None)
        self._local.searcher = self._local.view = self._local.stamp = None
        self._local.folder_mtime = None
        if searcher is not None:
            with contextlib.suppress(Exception):  # already closed, or its files are gone
                searcher.close()

    def poll(self) -> None:
        """Inline mode only: catch up with changes other processes or
        machines committed, at most every poll_seconds; never waits for a
        busy writer. Elsewhere the indexer keeps the index current."""
        if self.settings.mode != "inline":
            return
        now = time.monotonic()
        if now - self._last_poll < self.settings.poll_seconds:
            return
        self._last_poll = now
        try:
            if self.has_pending():
                # A bounded share, so that a search never waits long: a large
                # backlog is left to commits, restarts or `kb reindex`.
                self.catch_up(wait=0, allow_rebuild=False, max_rows=POLL_ROWS)
        except Exception as exc:
            log.warning("search: outbox poll failed: %s", exc)

    # Writing

    def has_pending(self) -> bool:
        generation = self.folder.current()
        cursor = self.folder.read_cursor(generation) if generation else None
        if cursor is None:
            return True
        with Session(db.engine) as session:
            return indexer.has_pending(session, cursor)

    def catch_up(
        self,
        wait: float = 0.0,
        allow_rebuild: bool = True,
        max_rows: int | None = None,
        one_pass: bool = False,
    ) -> int:
        """Apply the outbox to the index (rebuilding a missing or damaged
        index when allowed; stopping after max_rows when given). With
        one_pass (the indexer, which paces its passes), apply what is there
        now and merge a small tier if more came meanwhile, then return.
        Returns the number of outbox rows applied here."""
        applied = 0
        while True:
            rebuild = False
            with self.folder.lock(WRITER_LOCK, wait) as locked:
                if not locked:
                    return applied  # the holder looks again after it lets go
                generation = self._usable_generation()
                if generation is None:
                    rebuild = True
                else:
                    try:
                        with Session(db.engine) as session:
                            applied += indexer.drain(
                                self.folder,
                                generation,
                                session,
                                self.settings.gap_seconds,
                                self.settings.rebuild_backlog if allow_rebuild else None,
                                None if max_rows is None else max_rows - applied,
                            )
                        self.last_error = None
                    except indexer.RebuildNeeded as exc:
                        log.info("search: rebuilding the index: %s", exc)
                        self._verified = None
                        rebuild = True
                    except Exception as exc:
                        self.last_error = f"{type(exc).__name__}: {exc}"
                        self._verified = None
                        raise
            if rebuild:
                if allow_rebuild:
                    self.rebuild(background=self.settings.mode != "inline")
                return applied
            budget_spent = max_rows is not None and applied >= max_rows
            if budget_spent or not self.has_pending():
                return applied
            if self.settings.mode != "inline":
                # More came in while applying: under a steady stream of
                # writes the indexer is never idle, so merge a full tier
                # between batches, or small segments (and the files
                # searches hold open) pile up; a small one, so that the
                # next batch is not held up for long.
                self.merge_segments(max_docs=indexer.MERGE_STEP_DOCS)
            if one_pass:
                return applied

    def merge_segments(self, wait: float = 0.0, max_docs: int | None = None) -> bool:
        """Merge one tier of small segments when one is full (the indexer
        calls this when it has nothing to apply, and between batches while
        changes keep coming, then with max_docs: see indexer.merge).
        Returns whether it merged."""
        with self.folder.lock(WRITER_LOCK, wait) as locked:
            generation = self.folder.current() if locked else None
            if generation is None:
                return False
            ix = indexer.open_generation(generation)
            try:
                with Session(db.engine) as session:
                    return indexer.merge(ix, session, max_docs)
            finally:
                ix.close()

    def wait_until_current(self, timeout: float = 10.0) -> bool:
        """Wait until every change committed before this call is in the
        index (applied by the indexer, wherever it runs). Returns False
        when `timeout` seconds pass first."""
        deadline = time.monotonic() + timeout
        with Session(db.engine) as session:
            target = indexer.latest_outbox_id(session)
        while True:
            generation = self.folder.current()
            cursor = self.folder.read_cursor(generation) if generation else None
            if cursor is not None and cursor.applied_id >= target:
                earlier = {i: t for i, t in cursor.gaps.items() if i <= target}
                if not earlier:
                    return True
                with Session(db.engine) as session:
                    if not indexer.pending_rows(session, Cursor(target, earlier), 1):
                        return True
            if time.monotonic() >= deadline:
                return False
            self.wake()
            time.sleep(0.02)

    def _usable_generation(self) -> Path | None:
        generation = self.folder.current()
        if generation is None or self.folder.read_cursor(generation) is None:
            return None
        if generation == self._verified:
            # Opened without fault before, and applied to since without an
            # error (an error clears this, and the next pass opens it again).
            return generation
        try:
            indexer.open_generation(generation).close()
        except indexer.RebuildNeeded as exc:
            # Written by an older version (other fields, another analysis):
            # nothing is wrong with it, it is rebuilt in the current form.
            log.warning("search: index %s is rebuilt: %s", generation, exc)
            return None
        except Exception as exc:
            log.warning("search: index %s is damaged: %s", generation, exc)
            return None
        self._verified = generation
        return generation

    def rebuild(
        self, progress: Callable[[int], None] | None = None, background: bool = False
    ) -> int | None:
        """Build a new generation from the database and switch searches to
        it. Returns the number of documents, or None when another process is
        already rebuilding. A background rebuild (the indexer's own, after a
        backlog or damage) builds in processes of lower priority, so that
        the searches of the process and machine it runs on keep their pace."""
        with self.folder.lock(REBUILD_LOCK, 0) as locked:
            if not locked:
                return None
            # Holding the lock, any other unfinished generation was abandoned
            # by a killed rebuild.
            self.folder.remove_old_generations(keep=self.folder.current())
            generation = self.folder.new_generation()
            try:
                with Session(db.engine) as session:
                    start = indexer.snapshot_cursor(session)
                    processes = self._processes(session, background)
                    count = indexer.build(
                        generation, session, progress, processes, BACKGROUND_NICE * background
                    )
                self.folder.write_cursor(generation, start)
                with self.folder.lock(WRITER_LOCK, 600) as writing:
                    if not writing:
                        raise TimeoutError("the index writer lock was held for ten minutes")
                    with Session(db.engine) as session:
                        indexer.drain(self.folder, generation, session, self.settings.gap_seconds)
                    self.folder.activate(generation)
            except BaseException:
                shutil.rmtree(generation, ignore_errors=True)
                raise
            self.folder.remove_old_generations(keep=generation)
            self.last_error = None
            return count

    def _processes(self, session: Session, background: bool) -> int:
        """Builder processes for a rebuild; 0 builds in this process."""
        wanted = self.settings.procs
        if not wanted:
            total = sum(kind.count(session) for kind in DOCUMENT_TYPES.values())
            wanted = min(2, os.cpu_count() or 1) if total >= bulk.SMALL else 1
        if wanted == 1 and not background:
            return 0
        return wanted

    # Reporting

    def indexer_running(self) -> bool:
        """Whether some process on this machine holds the indexer lock."""
        handle = self.folder.hold(INDEXER_LOCK)
        if handle is None:
            return True
        handle.close()
        return False

    def status(self) -> dict:
        generation = self.folder.current()
        cursor = self.folder.read_cursor(generation) if generation else None
        report = {
            "ok": False,
            "documents": None,
            "outbox_lag": None,
            "lag_seconds": None,
            "max_lag_seconds": self.settings.max_lag_seconds,
            "indexer": self.settings.mode,
        }
        if self.settings.mode != "inline":
            report["indexer_running"] = self.indexer_running()
        if self.last_error:
            report["error"] = self.last_error
        try:
            with Session(db.engine) as session:
                report["latest_id"] = indexer.latest_outbox_id(session)
                if cursor is not None:
                    report["outbox_lag"], report["lag_seconds"] = _lag(session, cursor)
                    report["applied_id"] = cursor.applied_id
        except Exception as exc:
            report["error"] = type(exc).__name__
        view = self.view()
        if view is not None:
            report["documents"] = view.doc_count
            report["generation"] = generation.name if generation else None
            lag_seconds = report.get("lag_seconds")
            report["ok"] = (
                not self.last_error
                and lag_seconds is not None
                and lag_seconds <= self.settings.max_lag_seconds
            )
        return report


def _lag(session: Session, cursor: Cursor) -> tuple[int, float]:
    """Changes committed but not in the index, and the age in seconds of the
    oldest of them (0 when there are none), by the database's clock."""
    pending = IndexChange.id > cursor.applied_id
    if cursor.gaps:
        pending = or_(pending, IndexChange.id.in_(sorted(cursor.gaps)[: indexer.MAX_GAPS]))
    count, oldest, now = session.execute(
        select(func.count(), func.min(IndexChange.created_at), func.now()).where(pending)
    ).one()
    if not count or oldest is None:
        return 0, 0.0
    # PostgreSQL's now() carries the session's time zone; created_at is that
    # zone's wall-clock time without it.
    age = now.replace(tzinfo=None) - oldest.replace(tzinfo=None)
    return count, round(max(0.0, age.total_seconds()), 1)


def outbox_ready() -> bool:
    """Whether the database has the outbox table (not before `kb init`)."""
    return inspect(db.engine).has_table(IndexChange.__tablename__)
