"""Full-text search. The rest of the app calls it through this package only:

    search(user, params) -> SearchResult      a results page, for the page and the API
    all_matches(user, params) -> AllMatches   every debrief id a search finds (exports)
    more_like_this(user, debrief_id) -> [Hit]  debriefs like this one
    search_practices(q) -> [(id, score)]       published practices matching q, best first
    catch_up() -> int                          apply outstanding outbox changes now
    reindex(progress) -> int                   rebuild the index from the database
    documents_in_database() -> int             what a rebuild will index (for a progress bar)
    index_status() -> dict                     documents, outbox lag (for /healthz)

Changes reach the index through the outbox (kb.search.outbox.enqueue, called
in the same transaction as the change); init_app applies it after every
commit that wrote to it, at start-up, and when a search finds it behind.
"""

import logging
from collections.abc import Callable, Mapping
from itertools import chain

from flask import Flask, current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from kb.extensions import db
from kb.models import Choice, Competitor, CompetitorAlias, IndexChange, ReasonCategory, User
from kb.search.documents import DOCUMENT_TYPES
from kb.search.index import SearchIndex, Settings, outbox_ready
from kb.search.service import AllMatches, FacetCount, Hit, SearchParams, SearchResult, Snippet
from kb.search.service import all_matches as _all_matches
from kb.search.service import more_like_this as _more_like_this
from kb.search.service import search as _search
from kb.search.service import search_practices as _search_practices

__all__ = [
    "AllMatches",
    "FacetCount",
    "Hit",
    "SearchParams",
    "SearchResult",
    "Snippet",
    "all_matches",
    "catch_up",
    "documents_in_database",
    "index_status",
    "init_app",
    "more_like_this",
    "reindex",
    "search",
    "search_practices",
]

log = logging.getLogger(__name__)

EXTENSION = "kb_search"
_REFERENCE = (Competitor, CompetitorAlias, Choice, ReasonCategory)


def _index() -> SearchIndex:
    return current_app.extensions[EXTENSION]


def search(user: User, params: SearchParams | Mapping) -> SearchResult:
    """One page of results for `user`; never raises for what a user typed
    (problems come back as `warnings`)."""
    return _search(_index(), user, params)


def all_matches(user: User, params: SearchParams | Mapping) -> AllMatches:
    """Every debrief `user` finds with `params`, in its sort order, without
    the page cap of search(); ids come lazily, for exports of any size."""
    return _all_matches(_index(), user, params)


def more_like_this(user: User, debrief_id: int, limit: int = 5) -> list[Hit]:
    return _more_like_this(_index(), user, debrief_id, limit)


def search_practices(q: str) -> list[tuple[int, float | None]] | None:
    """Published practices whose indexed text matches `q` (the debrief
    search's syntax, stemming and aliases), best first, as (id, score).
    None when the index is not built yet."""
    return _search_practices(_index(), q)


def catch_up(wait: float = 5.0) -> int:
    """Apply outstanding outbox changes (rebuilding a missing index).
    Returns the number of changes applied by this call."""
    return _index().catch_up(wait=wait)


def reindex(progress: Callable[[int], None] | None = None) -> int | None:
    """Rebuild the index from the database into a new generation; searches
    use the old one until the new one is complete. Returns the number of
    documents, or None when another process is already rebuilding."""
    return _index().rebuild(progress)


def documents_in_database() -> int:
    with Session(db.engine) as session:
        return sum(kind.count(session) for kind in DOCUMENT_TYPES.values())


def index_status() -> dict:
    return _index().status()


def init_app(app: Flask) -> None:
    settings = Settings(
        apply_wait=float(app.config.get("KB_SEARCH_APPLY_WAIT", Settings.apply_wait)),
        poll_seconds=float(app.config.get("KB_SEARCH_POLL_SECONDS", Settings.poll_seconds)),
        procs=int(app.config.get("KB_SEARCH_INDEX_PROCS", Settings.procs)),
    )
    app.extensions[EXTENSION] = SearchIndex(app.config["KB_INDEX_DIR"], settings)
    app.extensions.setdefault("kb_health_probes", []).append(_health)
    _listen()
    if app.config.get("KB_SEARCH_CATCH_UP_ON_START", True):
        with app.app_context():
            _start()


def _start() -> None:
    """Bring the index up to date at start-up: changes committed while no
    process applied them (a crash between commit and index) land now, and
    a missing or damaged index is rebuilt."""
    try:
        if outbox_ready():
            _index().catch_up(wait=_index().settings.apply_wait)
    except Exception:
        log.exception("search: catching up at start-up failed; searches may lag until it succeeds")


def _health() -> tuple[str, dict]:
    return "search_index", _index().status()


_listening = False


def _listen() -> None:
    global _listening
    if not _listening:
        event.listen(db.session, "after_flush", _after_flush)
        event.listen(db.session, "after_commit", _after_commit)
        event.listen(db.session, "after_rollback", _after_rollback)
        _listening = True


def _after_flush(session, _context) -> None:
    for obj in chain(session.new, session.dirty, session.deleted):
        if isinstance(obj, IndexChange):
            session.info["kb_outbox"] = True
        elif isinstance(obj, _REFERENCE):
            session.info["kb_vocabulary"] = True


def _after_rollback(session) -> None:
    session.info.pop("kb_outbox", None)
    session.info.pop("kb_vocabulary", None)


def _after_commit(session) -> None:
    outbox = session.info.pop("kb_outbox", False)
    vocabulary = session.info.pop("kb_vocabulary", False)
    if not (outbox or vocabulary) or not has_app_context():
        return
    index = current_app.extensions.get(EXTENSION)
    if index is None:
        return
    if vocabulary:
        index.forget_vocabulary()
    if outbox:
        try:
            index.catch_up(wait=index.settings.apply_wait)
        except Exception:
            # The change is committed and its outbox row stays beyond the
            # cursor: the next catch-up (a commit, a search, a restart) applies it.
            log.exception("search: applying the outbox after a commit failed")
