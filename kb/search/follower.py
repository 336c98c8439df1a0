"""This machine's index writer: it follows the outbox, applies what it finds
in batches (one Whoosh commit each), merges segments when it has nothing
else to do, and rebuilds a missing or damaged index; requests never do.

One runs per index folder. Every candidate (a background thread in each web
worker, or `kb indexer`) tries to take indexer.lock, an flock the operating
system releases when its holder dies; the others wait and take over within
ELECT_SECONDS of its end.
"""

import logging
import os
import threading
import time
from collections.abc import Callable

from flask import Flask

from kb.search.index import INDEXER_LOCK, REBUILD_LOCK, SearchIndex
from kb.search.indexer import MERGE_STEP_DOCS

log = logging.getLogger(__name__)

ELECT_SECONDS = 1.0
CHANNEL = "kb_index_changes"  # notified by the outbox's trigger on PostgreSQL
LISTENER = "kb-indexer-listen"  # its thread's name, and its connection's application_name
LISTEN_TIMEOUT = 1.0  # how long the listener waits before looking whether to end
# The listener's connection attempts give up after this long (libpq's
# connect_timeout, at least 2), so that stopping waits for one to end.
CONNECT_SECONDS = 5
# Large merges wait until no change has come for this long (see
# indexer.MERGE_STEP_DOCS): a merge holds up the changes that arrive meanwhile.
QUIET_SECONDS = 3.0
# Passes begin at most this often while commits keep waking the indexer.
GATHER_SECONDS = 0.1
RETRY_SECONDS = 5.0  # after a failure (database down, disk full)
# app.extensions key: callables run after each pass of the elected indexer,
# for work done once per machine after the index changes (theme figures).
CYCLE_HOOKS = "kb_search_indexer_hooks"


class Follower:
    def __init__(self, app: Flask, index: SearchIndex):
        self.app = app
        self.index = index
        self.stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._guard = threading.Lock()

    def ensure_running(self) -> None:
        """Start the background thread in this process, once (again after a
        fork: threads do not survive one)."""
        if self._pid == os.getpid() and self._thread is not None and self._thread.is_alive():
            return
        with self._guard:
            if self._pid == os.getpid() and self._thread is not None and self._thread.is_alive():
                return
            self.stopping = threading.Event()
            self._pid = os.getpid()
            self._thread = threading.Thread(target=self.run, name="kb-indexer", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self.stopping.set()
        self.index.wake()
        thread = self._thread
        if thread is not None and thread.is_alive() and thread is not threading.current_thread():
            thread.join(timeout)

    def run(self, waiting: Callable[[], None] | None = None) -> None:
        """Follow the outbox until stop(); first wait to be elected."""
        handle = self.index.folder.hold(INDEXER_LOCK)
        if handle is None and waiting is not None:
            waiting()
        while handle is None:
            if self.stopping.wait(ELECT_SECONDS):
                return
            handle = self.index.folder.hold(INDEXER_LOCK)
        listener, done = None, threading.Event()
        try:
            with self.app.app_context():
                listener = self._start_listening(done)
                self._remove_abandoned_builds()
                self._follow()
        finally:
            # However the follower ends (stop(), or a failure while it
            # starts), its listener ends with it and closes its connection:
            # otherwise each later start would leave one more behind.
            done.set()
            if listener is not None:
                listener.join(CONNECT_SECONDS + LISTEN_TIMEOUT + 1)
            handle.close()

    def _start_listening(self, done: threading.Event) -> threading.Thread | None:
        """On PostgreSQL, a thread that wakes the indexer when a transaction
        that added outbox rows commits (see migration 0008), until `done`;
        the indexer still looks every follow_seconds, for changes made while
        it reconnects."""
        from kb.extensions import db

        url = db.engine.url
        if url.get_backend_name() != "postgresql":
            return None
        conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        thread = threading.Thread(
            target=self._listen, args=(conninfo, done), name=LISTENER, daemon=True
        )
        thread.start()
        return thread

    def _listen(self, conninfo: str, done: threading.Event) -> None:
        import psycopg

        failing = False
        while not done.is_set():
            try:
                with psycopg.connect(
                    conninfo,
                    autocommit=True,
                    connect_timeout=CONNECT_SECONDS,
                    application_name=LISTENER,
                ) as conn:
                    if done.is_set():  # stopped while connecting
                        return
                    conn.execute(f"LISTEN {CHANNEL}")
                    failing = False
                    self.index.wake()  # anything committed before LISTEN
                    while not done.is_set():
                        for _ in conn.notifies(timeout=LISTEN_TIMEOUT, stop_after=1):
                            self.index.wake()
            except Exception as exc:
                if not failing:
                    log.warning("search indexer: not listening for outbox commits: %s", exc)
                failing = True
                done.wait(RETRY_SECONDS)

    def _remove_abandoned_builds(self) -> None:
        folder = self.index.folder
        with folder.lock(REBUILD_LOCK, 0) as locked:
            if locked:
                folder.remove_old_generations(keep=folder.current())

    def _follow(self) -> None:
        from kb.search.index import outbox_ready

        index, failing, ready, unmerged = self.index, False, False, True
        checked = False  # the first pass opens the index: a damaged one is rebuilt now
        last_change = 0.0
        while not self.stopping.is_set():
            started = time.monotonic()
            pause = index.settings.follow_seconds
            try:
                ready = ready or outbox_ready()
                if not ready:
                    pause = RETRY_SECONDS  # before `kb init`
                elif not checked or index.has_pending():
                    if index.catch_up(wait=ELECT_SECONDS, one_pass=True) > 0:
                        unmerged, last_change = True, time.monotonic()
                    checked = True
                elif unmerged:
                    # Idle: merge one tier at a time, looking again in between;
                    # a large one only once changes have stopped for a while.
                    quiet = time.monotonic() - last_change >= QUIET_SECONDS
                    step = None if quiet else MERGE_STEP_DOCS
                    merged = index.merge_segments(max_docs=step)
                    unmerged = merged or not quiet
                    pause = 0 if merged else pause
                failing = False
                self._after_cycle()
            except Exception:
                if not failing:  # once per outage, not every few seconds
                    log.exception("search indexer: applying the outbox failed; retrying")
                failing, pause = True, RETRY_SECONDS
            if index.woken.wait(pause):
                index.woken.clear()
                # Woken by a commit: under a stream of them, let those of the
                # next GATHER_SECONDS join one batch (each Whoosh commit has
                # a cost of its own, whatever its size).
                self.stopping.wait(GATHER_SECONDS - (time.monotonic() - started))

    def _after_cycle(self) -> None:
        for hook in self.app.extensions.get(CYCLE_HOOKS, ()):
            try:
                hook()
            except Exception:
                log.exception("search indexer: an after-cycle hook failed")
