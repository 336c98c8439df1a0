"""This machine's index writer: it follows the outbox, applies what it finds
in batches (one Whoosh commit each), merges segments when it has nothing
else to do, and rebuilds a missing or damaged index; requests never do.

One runs per index folder. Every candidate (a background thread in each web
worker, or `kb indexer`) tries to take indexer.lock, an flock the operating
system releases when its holder dies; the others wait and take over within
ELECT_SECONDS of its end.

stop() returns within about a second while the indexer waits for the
database: it cancels the statement the indexer's thread is waiting for (a
lock, a slow query), which ends that pass as a failed one would (the
cursor moves only after a commit, so what the pass had not committed is
applied by the next indexer), and the listener's attempts to connect or
listen are abandoned at once. (A connection the indexer's thread is still
opening cannot be cancelled: stop() then gives up waiting after its
timeout, as before.)
"""

import asyncio
import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable

from flask import Flask
from sqlalchemy import event

from kb.search.index import INDEXER_LOCK, REBUILD_LOCK, SearchIndex
from kb.search.indexer import MERGE_STEP_DOCS

log = logging.getLogger(__name__)

ELECT_SECONDS = 1.0
CHANNEL = "kb_index_changes"  # notified by the outbox's trigger on PostgreSQL
LISTENER = "kb-indexer-listen"  # its thread's name, and its connection's application_name
# The listener's connection attempts give up after this long (libpq's
# connect_timeout, at least 2); stopping abandons one at once.
CONNECT_SECONDS = 5
STOP_POLL = 0.1  # how often the listener looks whether to end
# stop() gives a cancellation request to the server this long to be taken.
CANCEL_SECONDS = 0.5
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
        # The database connections the running follower has checked out
        # (pool record -> driver connection), for stop() to cancel.
        self._connections: dict = {}
        self._connections_guard = threading.RLock()  # also taken in a signal handler

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
        """End the follower (from another thread, or a signal handler of its
        own), cancelling the statement it waits for; wait for it to end."""
        self.stopping.set()
        self.index.wake()
        self._cancel_statements()
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
            with self.app.app_context(), self._connections_watched():
                listener = self._start_listening(done)
                self._remove_abandoned_builds()
                self._follow()
        finally:
            # However the follower ends (stop(), or a failure while it
            # starts), its listener ends with it and closes its connection:
            # otherwise each later start would leave one more behind.
            done.set()
            if listener is not None:
                listener.join(CONNECT_SECONDS + 1)
            handle.close()

    @contextlib.contextmanager
    def _connections_watched(self):
        """Note the connections this thread checks out of the app's pool
        while the follower runs (see stop())."""
        from kb.extensions import db

        engine, running = db.engine, threading.current_thread()

        def checked_out(dbapi_connection, record, proxy):
            if threading.current_thread() is running:
                with self._connections_guard:
                    self._connections[record] = record.driver_connection

        def checked_in(dbapi_connection, record):
            with self._connections_guard:
                self._connections.pop(record, None)

        event.listen(engine, "checkout", checked_out)
        event.listen(engine, "checkin", checked_in)
        try:
            yield
        finally:
            event.remove(engine, "checkout", checked_out)
            event.remove(engine, "checkin", checked_in)
            with self._connections_guard:
                self._connections.clear()

    def _cancel_statements(self) -> None:
        """Cancel what the follower's connections are running (nothing, when
        they are idle). The guard keeps a connection from going back to the
        pool, and to another thread, while its statement is cancelled."""
        with self._connections_guard:
            for connection in list(self._connections.values()):
                try:
                    if hasattr(connection, "cancel_safe"):  # psycopg
                        connection.cancel_safe(timeout=CANCEL_SECONDS)
                    elif hasattr(connection, "interrupt"):  # sqlite3
                        connection.interrupt()
                except Exception as exc:
                    log.debug("search indexer: cancelling a statement failed: %s", exc)

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
        asyncio.run(self._listen_until(conninfo, done))

    async def _listen_until(self, conninfo: str, done: threading.Event) -> None:
        """Listen until `done`, then abandon whatever the listener waits for
        (connecting, LISTEN, a notification, a retry) and close its
        connection."""
        listening = asyncio.ensure_future(self._listening(conninfo, done))
        while not listening.done():
            if done.is_set():
                listening.cancel()
                break
            await asyncio.wait({listening}, timeout=STOP_POLL)
        with contextlib.suppress(asyncio.CancelledError):
            await listening

    async def _listening(self, conninfo: str, done: threading.Event) -> None:
        import psycopg

        failing = False
        while not done.is_set():
            try:
                conn = await psycopg.AsyncConnection.connect(
                    conninfo,
                    autocommit=True,
                    connect_timeout=CONNECT_SECONDS,
                    application_name=LISTENER,
                )
                try:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    failing = False
                    self.index.wake()  # anything committed before LISTEN
                    async for _ in conn.notifies():
                        self.index.wake()
                finally:
                    await conn.close()
            except Exception as exc:
                if not failing:
                    log.warning("search indexer: not listening for outbox commits: %s", exc)
                failing = True
                await asyncio.sleep(RETRY_SECONDS)

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
                if self.stopping.is_set():
                    break  # its statement cancelled by stop()
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
                if self.stopping.is_set():
                    return
                log.exception("search indexer: an after-cycle hook failed")
