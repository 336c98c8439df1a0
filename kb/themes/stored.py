"""The themes overview's figures, computed once per machine and shared by
every web worker on it.

Every theme's overview figures cost a few hundred milliseconds after each
change to the index, per worker, and a fresh worker pays seconds for its
first ones (decoding postings, reading every deal). So the process that runs
the machine's indexer recomputes them in a background thread
(kb.themes.keeper) after the index changes (within the indexer's next pass),
and stores them beside the index, in KB_INDEX_DIR/theme-figures.pickle,
replaced atomically; every worker reads the last good figures from there
instead of computing its own.

Stored figures are *current* when they were computed from the index state
searches now read, that state holds every committed change, and the day and
the reference data (competitors and their aliases, choices, the taxonomy:
they decide what a theme's query and filters match) are unchanged. Figures
that are not current are shown with their "as of" time while the indexer's
process recomputes them, for at most KB_THEME_FIGURES_MAX_LAG seconds;
where no indexer recomputes them (inline mode: tests and scripts) only
current figures are used. A theme created or edited since they were stored
is computed as before, as is everything while nothing is stored yet.
KB_THEME_FIGURES_STORED=0 turns all of this off (every worker computes).

The file holds a pickle, as the index's own segment files do: it is written
and read only by this application, in a folder nothing else writes.
"""

import contextlib
import hashlib
import logging
import os
import pickle
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from flask import current_app
from sqlalchemy import func, select

from kb.analytics.periods import Period, choose_period
from kb.analytics.reasons import WinRate
from kb.extensions import db
from kb.models import (
    Choice,
    Competitor,
    CompetitorAlias,
    ExcludedPhrase,
    IndexChange,
    ReasonCategory,
    Theme,
)
from kb.themes import engine, figures
from kb.themes.facts import deal_facts

log = logging.getLogger(__name__)

FILE = "theme-figures.pickle"
FORMAT = 1  # bump when what is stored changes shape
EXTENSION = "kb_theme_stored"
DEFAULT_PERIOD = "90d"  # the overview's and the API's default
MAX_LAG_SECONDS = 300.0


@dataclass
class StoredFigures:
    format: int
    state: tuple  # engine.index_state() they were computed from
    reference: str  # reference_version() then
    themes_version: str  # theme_definitions() then, digested
    today: date
    period: Period
    as_of: datetime  # UTC, when the index state was read
    overviews: dict[int, tuple[tuple, figures.Overview]]  # theme id -> (definition, figures)
    baseline: WinRate


@dataclass
class Shared:
    """Stored figures a page may show; `as_of` is set when they lag."""

    stored: StoredFigures
    as_of: datetime | None

    def overview(self, theme: Theme) -> figures.Overview | None:
        found = self.stored.overviews.get(theme.id)
        if found is None or found[0] != figures.definition(theme):
            return None  # created or edited since: computed afresh
        return found[1]

    @property
    def baseline(self) -> WinRate:
        return self.stored.baseline


def default_period(today: date) -> Period:
    return choose_period({}, today, DEFAULT_PERIOD)[0]


def _digest(rows) -> str:
    # Not hash(): it differs between processes, and workers compare this.
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def reference_version() -> str:
    """Changes when any competitor, alias, choice or reason category does, or
    the words admins leave out of discovery."""
    session = db.session
    rows = (
        session.execute(select(Competitor.id, Competitor.name).order_by(Competitor.id)).all(),
        session.execute(
            select(CompetitorAlias.id, CompetitorAlias.competitor_id, CompetitorAlias.key).order_by(
                CompetitorAlias.id
            )
        ).all(),
        session.execute(select(Choice.id, Choice.kind, Choice.value).order_by(Choice.id)).all(),
        session.execute(
            select(
                ReasonCategory.id,
                ReasonCategory.slug,
                ReasonCategory.name,
                ReasonCategory.parent_id,
            ).order_by(ReasonCategory.id)
        ).all(),
        session.execute(select(ExcludedPhrase.key).order_by(ExcludedPhrase.key)).all(),
    )
    return _digest([[tuple(r) for r in part] for part in rows])


def theme_definitions() -> str:
    themes = db.session.execute(
        select(Theme.id, Theme.query, Theme.filters).order_by(Theme.id)
    ).all()
    return _digest([(t.id, figures.definition(t)) for t in themes])


def latest_change() -> int:
    return db.session.scalar(select(func.max(IndexChange.id))) or 0


# --- reading --------------------------------------------------------------------


def path() -> Path:
    return engine.index_folder() / FILE


def load() -> StoredFigures | None:
    """The stored figures, unpickled once per version of the file."""
    target = path()
    try:
        stat = target.stat()
    except OSError:
        return None
    stamp = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
    kept = current_app.extensions.get(EXTENSION)
    if kept is not None and kept[0] == stamp:
        return kept[1]
    try:
        with open(target, "rb") as f:
            stored = pickle.load(f)  # noqa: S301  (our own file; see the module docstring)
    except Exception as exc:  # a file of an older version, or cut short: ignored
        log.warning("themes: cannot read %s: %s", target, exc)
        return None
    if not isinstance(stored, StoredFigures) or stored.format != FORMAT:
        return None
    current_app.extensions[EXTENSION] = (stamp, stored)
    return stored


def is_current(state: tuple, reference: str) -> bool:
    """Whether what was computed from this index state and reference data
    is what would be computed now."""
    now = engine.index_state()
    return (
        now is not None
        and state == now
        and latest_change() <= now[1]
        and reference == reference_version()
    )


def shared(period: Period, today: date) -> Shared | None:
    """The stored overview figures for this period and day, when a page may
    use them (see the module docstring), or None."""
    config = current_app.config
    if not (config.get("KB_THEME_CACHE", True) and config.get("KB_THEME_FIGURES_STORED", True)):
        return None
    stored = load()
    if stored is None or stored.today != today or stored.period != period:
        return None
    if is_current(stored.state, stored.reference):
        return Shared(stored, None)
    max_lag = float(config.get("KB_THEME_FIGURES_MAX_LAG", MAX_LAG_SECONDS))
    age = (datetime.now(UTC) - stored.as_of).total_seconds()
    if engine.applies_inline() or age > max_lag:
        return None
    return Shared(stored, stored.as_of)


# --- writing --------------------------------------------------------------------


def refresh() -> bool:
    """Compute and store the overview figures unless the stored ones are
    current for today's themes. Returns whether it stored new ones."""
    state = engine.index_state()
    if state is None:
        return False
    today = date.today()
    reference, themes_version = reference_version(), theme_definitions()
    stored = load()
    if (
        stored is not None
        and stored.state == state
        and stored.today == today
        and stored.reference == reference
        and stored.themes_version == themes_version
    ):
        return False
    as_of = datetime.now(UTC)
    # The state was read before the snapshot is taken: at worst the figures
    # are newer than they claim, and the next look computes them again.
    snap = engine.snapshot()
    if snap is None:
        return False
    facts = deal_facts()
    period = default_period(today)
    themes = list(db.session.scalars(select(Theme).order_by(Theme.id)))
    overviews = {
        t.id: (figures.definition(t), figures.overview(snap, facts, t, period, today))
        for t in themes
    }
    baseline = figures.baseline(snap, facts, period)
    found = StoredFigures(
        FORMAT,
        state,
        reference,
        themes_version,
        today,
        period,
        as_of,
        overviews,
        baseline,
    )
    write_atomically(path(), found)
    return True


def write_atomically(target: Path, value) -> None:
    """Pickle `value` to `target`; readers see the old file or the new one, never half."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with open(tmp, "wb") as f:
            pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
