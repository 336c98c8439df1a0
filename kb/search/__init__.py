"""Full-text search. The rest of the app calls it through this package only:

    search(user, params) -> SearchResult      a results page, for the page and the API
    all_matches(user, params) -> AllMatches   every debrief id a search finds (exports)
    more_like_this(user, debrief_id) -> [Hit]  debriefs like this one
    search_practices(q) -> [(id, score)]       published practices matching q, best first
    catch_up() -> int                          apply outstanding outbox changes now, here
    wait_until_current(timeout) -> bool        wait for the indexer to apply what is committed
    run_indexer(waiting)                       be this machine's indexer until stopped
    after_indexer_cycle(app, hook)             run hook() after each pass of this machine's indexer
    reindex(progress) -> int                   rebuild the index from the database
    documents_in_database() -> int             what a rebuild will index (for a progress bar)
    index_status() -> dict                     documents, outbox lag (for /healthz)

Changes reach the index through the outbox (kb.search.outbox.enqueue, called
in the same transaction as the change). One indexer per machine applies it
(kb.search.follower): a background thread that the first request of each web
worker starts (KB_SEARCH_INDEXER=thread, the default; one of them wins the
folder's lock), or `kb indexer` (KB_SEARCH_INDEXER=external). A request
never writes the index. KB_SEARCH_INDEXER=inline applies each commit's
changes right after it, in the committing process: for tests and scripts
(the default under TESTING).
"""

import atexit
import contextlib
import logging
from collections.abc import Callable, Mapping
from itertools import chain

from flask import Flask, current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from kb.extensions import db
from kb.models import Choice, Competitor, CompetitorAlias, IndexChange, ReasonCategory, User
from kb.search.documents import DOCUMENT_TYPES
from kb.search.follower import CYCLE_HOOKS, Follower
from kb.search.index import MODES, SearchIndex, Settings, outbox_ready
from kb.search.service import AllMatches, FacetCount, Hit, SearchParams, SearchResult, Snippet
from kb.search.service import all_matches as _all_matches
from kb.search.service import more_like_this as _more_like_this
from kb.search.service import search as _search
from kb.search.service import search_practices as _search_practices
from kb.search.vocabulary import Vocabulary

__all__ = [
    "AllMatches",
    "FacetCount",
    "Hit",
    "SearchParams",
    "SearchResult",
    "Snippet",
    "after_indexer_cycle",
    "all_matches",
    "catch_up",
    "documents_in_database",
    "index_status",
    "init_app",
    "more_like_this",
    "reindex",
    "run_indexer",
    "search",
    "search_practices",
    "wait_until_current",
]

log = logging.getLogger(__name__)

EXTENSION = "kb_search"
FOLLOWER = "kb_search_indexer"
_REFERENCE = (Competitor, CompetitorAlias, Choice, ReasonCategory)


def _index() -> SearchIndex:
    return current_app.extensions[EXTENSION]


def vocabulary() -> Vocabulary:
    """Competitors, choices and taxonomy as searches resolve them."""
    return _index().vocabulary()


def search(user: User, params: SearchParams | Mapping) -> SearchResult:
    """One page of results for `user`; never raises for what a user typed
    (problems with the query come back as `warnings`; a search that could not
    run at all comes back with `error` set and no hits)."""
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
    """Apply outstanding outbox changes in this process and thread, now
    (rebuilding a missing index): for tests and commands, never requests.
    Returns the number of changes applied by this call."""
    return _index().catch_up(wait=wait)


def wait_until_current(timeout: float = 10.0) -> bool:
    """Wait until the changes committed so far are searchable here; False
    when `timeout` seconds pass first (no indexer running, or far behind)."""
    return _index().wait_until_current(timeout)


def run_indexer(waiting: Callable[[], None] | None = None) -> Follower:
    """Be this machine's indexer in the calling thread until the returned
    follower's stop() (`kb indexer`); `waiting` is called when another
    process holds the folder and this one waits to take over."""
    follower = Follower(current_app._get_current_object(), _index())
    current_app.extensions[FOLLOWER] = follower
    follower.run(waiting)
    return follower


def after_indexer_cycle(app: Flask, hook: Callable[[], None]) -> None:
    """Run `hook` (in the indexer's thread, with an app context) after each
    pass of the indexer, in whichever process on this machine is elected:
    for work done once per machine after the index changes. It must be
    quick; hand anything slow to a thread of its own."""
    app.extensions.setdefault(CYCLE_HOOKS, []).append(hook)


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
    config = app.config
    mode = config.get("KB_SEARCH_INDEXER") or ("inline" if app.testing else "thread")
    if mode not in MODES:
        raise ValueError(f"KB_SEARCH_INDEXER must be one of {', '.join(MODES)}, not {mode!r}")
    settings = Settings(
        mode=mode,
        apply_wait=float(config.get("KB_SEARCH_APPLY_WAIT", Settings.apply_wait)),
        poll_seconds=float(config.get("KB_SEARCH_POLL_SECONDS", Settings.poll_seconds)),
        max_lag_seconds=float(config.get("KB_INDEX_MAX_LAG_SECONDS", Settings.max_lag_seconds)),
        procs=int(config.get("KB_SEARCH_INDEX_PROCS", Settings.procs)),
    )
    index = app.extensions[EXTENSION] = SearchIndex(config["KB_INDEX_DIR"], settings)
    app.extensions.setdefault("kb_health_probes", []).append(_health)
    _listen()
    if mode == "thread":
        follower = app.extensions[FOLLOWER] = Follower(app, index)
        # Started by a request, so that commands (`kb demo`, `kb reindex`)
        # do not start one, and after gunicorn has forked its workers.
        app.before_request(follower.ensure_running)
        atexit.register(follower.stop)
    if mode == "inline" and config.get("KB_SEARCH_CATCH_UP_ON_START", True):
        with app.app_context():
            _start()


def _start() -> None:
    """Inline mode: bring the index up to date at start-up: changes
    committed while no process applied them land now, and a missing or
    damaged index is rebuilt."""
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
    if outbox and index.settings.mode != "inline":
        index.wake()  # the indexer, when it runs in this process
    elif outbox:
        try:
            index.catch_up(wait=index.settings.apply_wait)
        except Exception:
            # The change is committed and its outbox row stays beyond the
            # cursor: the next catch-up (a commit, a search, a restart) applies it.
            log.exception("search: applying the outbox after a commit failed")
            return
        with contextlib.suppress(Exception):  # merging can wait for the next commit
            index.merge_segments()
