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
from collections.abc import Callable

from flask import Flask

from kb.search.index import INDEXER_LOCK, REBUILD_LOCK, SearchIndex

log = logging.getLogger(__name__)

ELECT_SECONDS = 1.0
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
        try:
            with self.app.app_context():
                self._remove_abandoned_builds()
                self._follow()
        finally:
            handle.close()

    def _remove_abandoned_builds(self) -> None:
        folder = self.index.folder
        with folder.lock(REBUILD_LOCK, 0) as locked:
            if locked:
                folder.remove_old_generations(keep=folder.current())

    def _follow(self) -> None:
        from kb.search.index import outbox_ready

        index, failing, ready, unmerged = self.index, False, False, True
        checked = False  # the first pass opens the index: a damaged one is rebuilt now
        while not self.stopping.is_set():
            pause = index.settings.follow_seconds
            try:
                ready = ready or outbox_ready()
                if not ready:
                    pause = RETRY_SECONDS  # before `kb init`
                elif not checked or index.has_pending():
                    unmerged = index.catch_up(wait=ELECT_SECONDS) > 0 or unmerged
                    checked = True
                elif unmerged:
                    # Idle: merge one tier at a time, looking again in between.
                    unmerged = index.merge_segments()
                    pause = 0 if unmerged else pause
                failing = False
                self._after_cycle()
            except Exception:
                if not failing:  # once per outage, not every few seconds
                    log.exception("search indexer: applying the outbox failed; retrying")
                failing, pause = True, RETRY_SECONDS
            if index.woken.wait(pause):
                index.woken.clear()

    def _after_cycle(self) -> None:
        for hook in self.app.extensions.get(CYCLE_HOOKS, ()):
            try:
                hook()
            except Exception:
                log.exception("search indexer: an after-cycle hook failed")
