"""Keeps what themes store beside the index current (kb.themes.stored, the
overview's figures; kb.themes.stored_discoveries, recently asked
discoveries): a thread of the process that runs this machine's indexer,
woken after each of the indexer's passes, so that computing figures never
delays applying changes, and only one process per machine computes them."""

import logging
import os
import threading
import time

from flask import Flask

from kb import search
from kb.extensions import db
from kb.themes import stored, stored_discoveries

log = logging.getLogger(__name__)

CHECK_SECONDS = 1.0  # looks whether the stored figures are current at most this often


class Keeper:
    def __init__(self, app: Flask):
        self.app = app
        self.wanted = threading.Event()
        self.failing = False
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._guard = threading.Lock()

    def wake(self) -> None:
        """Called in the indexer's thread: starts the keeper here (once per
        process) and asks it to look."""
        with self._guard:
            if self._pid != os.getpid() or self._thread is None or not self._thread.is_alive():
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self.run, name="kb-theme-figures")
                self._thread.daemon = True
                self._thread.start()
        self.wanted.set()

    def run(self) -> None:
        while True:
            self.wanted.wait()
            self.wanted.clear()
            started = time.monotonic()
            self.look()
            time.sleep(max(0.0, CHECK_SECONDS - (time.monotonic() - started)))

    def look(self) -> None:
        with self.app.app_context():
            try:
                if stored.refresh():
                    log.info("themes: overview figures stored")
                if stored_discoveries.refresh_recent():
                    log.info("themes: a recently asked discovery recomputed")
                self.failing = False
            except Exception:
                if not self.failing:  # once per outage
                    log.exception("themes: storing figures failed; retrying")
                self.failing = True
            finally:
                db.session.remove()


def init_app(app: Flask) -> None:
    if app.config.get("KB_THEME_FIGURES_STORED", True):
        search.after_indexer_cycle(app, Keeper(app).wake)
