"""Discoveries computed once per machine and shared by its web workers.

A discovery costs about a second at 100,000 debriefs, and several in a fresh
worker. A worker that computes one stores it beside the index, in
KB_INDEX_DIR/discoveries/ (one file per subset, background, minimum support
and day, replaced atomically), so that any worker asked the same shows it at
once. After a change to the index the process that runs the machine's
indexer recomputes those asked in the last ASKED_SECONDS, most recent
first, one at a time, idle after each for at least as long as it took (a
discovery can take seconds: the keeper must keep the overview's figures
current meanwhile, and leave the indexer's process time to serve). Pages
show the last good result with its "as of" time meanwhile, under the same
rules as the stored theme figures (kb.themes.stored: current, or lagging for
at most KB_THEME_FIGURES_MAX_LAG seconds, and never lagging in inline mode).
"""

import contextlib
import hashlib
import json
import logging
import os
import pickle
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from flask import current_app

from kb.themes import discovery, engine, stored
from kb.themes.terms import term_cache

log = logging.getLogger(__name__)

FOLDER = "discoveries"
FORMAT = 1
ASKED_SECONDS = 3600.0  # recomputed after changes while asked this recently
FORGET_SECONDS = 86400.0  # removed when not asked for this long
MIN_IDLE_SECONDS = 1.0
_next_pass = [0.0]  # time.monotonic() before which the keeper recomputes none


@dataclass
class StoredDiscovery:
    format: int
    params: tuple  # (query, filters as JSON, background, min support, day)
    state: tuple  # engine.index_state() it was computed from
    reference: str  # stored.reference_version() then
    as_of: datetime
    result: discovery.Discovery


def params_of(
    query: str, filters: Mapping[str, Any], background: str, min_support: int, today: date
) -> tuple:
    return (query, json.dumps(dict(filters), sort_keys=True), background, min_support, today)


def folder() -> Path:
    return engine.index_folder() / FOLDER


def _file(params: tuple) -> Path:
    return folder() / (hashlib.sha256(repr(params).encode()).hexdigest()[:40] + ".pickle")


def _read(path: Path) -> StoredDiscovery | None:
    try:
        with open(path, "rb") as f:
            found = pickle.load(f)  # noqa: S301  (our own file; see kb.themes.stored)
    except FileNotFoundError:
        return None
    except Exception as exc:  # cut short, or from an older version: computed again
        log.warning("themes: cannot read %s: %s", path, exc)
        return None
    if not isinstance(found, StoredDiscovery) or found.format != FORMAT:
        return None
    return found


def shared(params: tuple) -> discovery.Discovery | None:
    """The stored discovery for these parameters when a page may show it,
    with `as_of` set when it lags the latest change; None otherwise."""
    config = current_app.config
    if not (config.get("KB_THEME_CACHE", True) and config.get("KB_THEME_FIGURES_STORED", True)):
        return None
    path = _file(params)
    found = _read(path)
    if found is None or found.params != params:
        return None
    _mark_asked(path, time.time())
    if stored.is_current(found.state, found.reference):
        return found.result
    age = (datetime.now(UTC) - found.as_of).total_seconds()
    max_lag = float(config.get("KB_THEME_FIGURES_MAX_LAG", stored.MAX_LAG_SECONDS))
    if engine.applies_inline() or age > max_lag:
        return None
    return replace(found.result, as_of=found.as_of)


def compute(params: tuple) -> discovery.Discovery | None:
    """Compute the discovery and store it for the machine's other workers.
    None while there is no index; raises discovery.DiscoveryError for input
    it cannot use."""
    state, as_of = engine.index_state(), datetime.now(UTC)
    reference = stored.reference_version()
    snap = engine.snapshot()
    if snap is None:
        return None
    query, filters, background, min_support, today = params
    result = discovery.discover(
        snap, term_cache(), query, json.loads(filters), background, min_support, today
    )
    if state is not None and current_app.config.get("KB_THEME_FIGURES_STORED", True):
        folder().mkdir(parents=True, exist_ok=True)
        found = StoredDiscovery(FORMAT, params, state, reference, as_of, result)
        stored.write_atomically(_file(params), found)
        _mark_asked(_file(params), time.time())
    return result


def _mark_asked(path: Path, when: float) -> None:
    """A file's modification time is when its discovery was last asked for
    (set from this clock, which every reader compares with)."""
    with contextlib.suppress(OSError):
        os.utime(path, (when, when))


def refresh_recent(force: bool = False) -> int:
    """Recompute the most recently asked discovery that is no longer
    current, and forget those nobody asked for a long time; for the keeper
    (kb.themes.keeper), which calls it after every look. Returns how many it
    recomputed (0 or 1)."""
    if not folder().is_dir() or (not force and time.monotonic() < _next_pass[0]):
        return 0
    now, today = time.time(), date.today()
    asked = []
    for path in folder().glob("*.pickle"):
        with contextlib.suppress(FileNotFoundError):
            when = path.stat().st_mtime
            if now - when > FORGET_SECONDS:
                path.unlink()
            elif now - when <= ASKED_SECONDS:
                asked.append((when, path))
    for when, path in sorted(asked, reverse=True):
        found = _read(path)
        if (
            found is None
            or found.params[-1] != today
            or stored.is_current(found.state, found.reference)
        ):
            continue
        started = time.monotonic()
        try:
            compute(found.params)
        except discovery.DiscoveryError:
            path.unlink(missing_ok=True)  # no longer valid input (a filter's value went away)
            continue
        _mark_asked(path, when)  # recomputing is not asking
        took = time.monotonic() - started
        _next_pass[0] = time.monotonic() + max(MIN_IDLE_SECONDS, took)
        return 1
    return 0
