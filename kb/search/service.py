"""Searching as a user: the query, the filters and the user's permissions
all narrow one document set inside the index, so totals, facet counts and
pages only ever count what this user may read. Hits are then read from the
database, which is what pages show."""

import heapq
import logging
import math
import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from kb.extensions import db
from kb.models import Deal, Debrief, Reason, ReasonCategory, Role, User
from kb.permissions import can_view_debrief
from kb.search import query as user_query
from kb.search import record_ids, spelling
from kb.search.analysis import PAIR_SEPARATOR, analyse, spans, stem
from kb.search.docsets import View, bitmap, members
from kb.search.documents import (
    DEBRIEF,
    PRACTICE,
    debrief_sections,
    debrief_text,
    key_of,
    parse_key,
)
from kb.search.highlight import Snippet, snippets
from kb.search.index import SearchIndex
from kb.search.matching import evaluate
from kb.validation import id_from_text

log = logging.getLogger(__name__)

DEFAULT_PER_PAGE = 25
MAX_PER_PAGE = 100
MAX_RESULTS = 10_000  # deepest result a page may reach
SORTS = ("relevance", "newest", "amount")
SUGGEST_BELOW = 3
MAX_CORRECTED_WORDS = 3
MAX_CORRECTED_LENGTH = 20
SEARCH_FAILED = (
    "The search failed: something went wrong inside the search, not in what you typed. "
    "Nothing is shown rather than a wrong answer; try again in a moment."
)
# Filter parameters, and the index field each narrows.
FILTERS = {
    "outcome": "outcome",
    "competitor": "competitor",
    "winner": "winner",
    "segment": "segment",
    "region": "region",
    "industry": "industry",
    "product_line": "product_line",
    "source": "source",
    "category": "category",
    "quarter": "quarter",
    "status": "status",
}
# Facets, named like the filter that selects them, and the field counted:
# the filter's own field, except reasons, counted by their category group.
FACETS = {**FILTERS, "category": "category_group"}
# What pages call each filter (and its facet).
FILTER_LABELS = {
    "outcome": "Outcome",
    "competitor": "Competitor",
    "winner": "Who won",
    "segment": "Segment",
    "region": "Region",
    "industry": "Industry",
    "product_line": "Product line",
    "source": "Source",
    "category": "Reason category",
    "quarter": "Quarter",
    "status": "Status",
}


@dataclass
class SearchParams:
    """What a search page or API call asks for, as typed: search() checks
    and clamps every value and reports what it changed."""

    q: str = ""
    filters: dict[str, list[str]] = field(default_factory=dict)
    date_from: str | None = None
    date_to: str | None = None
    sort: str = "relevance"
    page: Any = 1
    per_page: Any = None
    facets: bool = True
    highlight: bool = True

    @classmethod
    def from_args(cls, args) -> "SearchParams":
        """From request.args (or any mapping; lists give several values)."""

        def values(name: str) -> list[str]:
            if hasattr(args, "getlist"):
                found = args.getlist(name)
            else:
                found = args.get(name)
                found = found if isinstance(found, list | tuple) else [found]
            return [str(v) for v in found if v not in (None, "")]

        def flag(name: str) -> bool:
            return str(args.get(name, "1")).strip().lower() not in ("0", "false", "no", "off")

        return cls(
            q=str(args.get("q") or ""),
            filters={name: v for name in FILTERS if (v := values(name))},
            date_from=args.get("date_from") or None,
            date_to=args.get("date_to") or None,
            sort=str(args.get("sort") or "relevance"),
            page=args.get("page") or 1,
            per_page=args.get("per_page") or None,
            facets=flag("facets"),
            highlight=flag("highlight"),
        )


@dataclass
class Hit:
    id: int
    doc_type: str
    score: float | None
    debrief: Debrief
    highlights: list[Snippet] = field(default_factory=list)
    # More like this: what the two debriefs have in common, for people
    # ("Time to value", "vs Globex", "“onboarding”").
    shared: list[str] = field(default_factory=list)


@dataclass
class FacetCount:
    value: str  # what the filter parameter takes
    label: str  # what a page shows
    count: int
    selected: bool = False


@dataclass
class SearchResult:
    query: str
    total: int
    page: int
    per_page: int
    sort: str
    hits: list[Hit]
    facets: dict[str, list[FacetCount]]
    filters: dict[str, list[str]]
    suggestion: str | None
    warnings: list[str]
    took_ms: float
    # Set when the search itself failed (the index or the database): the
    # result is then no answer at all, and pages and the API say so.
    error: str | None = None

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def first(self) -> int:
        return (self.page - 1) * self.per_page + 1 if self.hits else 0

    @property
    def last(self) -> int:
        return self.first + len(self.hits) - 1 if self.hits else 0


def _whole(value: Any, default: int, name: str, low: int, high: int, warnings: list) -> int:
    if value in (None, ""):
        return default
    try:
        number = int(str(value).strip())
    except ValueError:
        warnings.append(f"'{name}' must be a whole number; {default} was used.")
        return default
    if number < low or number > high:
        clamped = min(max(number, low), high)
        warnings.append(f"'{name}' must be between {low} and {high}; {clamped} was used.")
        return clamped
    return number


def visible_docs(view: View, user: User) -> int:
    """The documents `user` may read: kb.permissions.visible_debriefs, in bits."""
    if user.role == Role.ADMIN:
        return view.live
    bits = view.docs("status", "submitted")
    authors = {user.id}
    if user.role == Role.MANAGER and user.team_id is not None:
        authors |= set(db.session.scalars(select(User.id).where(User.team_id == user.team_id)))
    for author_id in authors:
        bits |= view.docs("author_id", str(author_id))
    return bits


def find_authors(text: str) -> list[int]:
    if (author_id := id_from_text(text)) is not None:
        return [author_id]
    key = text.lower()
    return list(
        db.session.scalars(
            select(User.id).where(or_(func.lower(User.email) == key, func.lower(User.name) == key))
        )
    )


def _hit_options(with_text: bool) -> tuple:
    """What a result card shows; with_text adds what snippets are cut from."""
    card = (
        joinedload(Debrief.deal).selectinload(Deal.competitors),
        joinedload(Debrief.author),
    )
    if not with_text:
        return card
    return (
        *card,
        selectinload(Debrief.reasons).joinedload(Reason.category).joinedload(ReasonCategory.parent),
        selectinload(Debrief.quotes),
    )


def _load_hits(
    user: User, ranked: list[tuple[float | None, int]], view: View, with_text: bool = True
) -> list[Hit]:
    keyed = []
    for score, docnum in ranked:
        doc_type, doc_id = parse_key(view.key(docnum))
        keyed.append((score, doc_type, doc_id))
    ids = [doc_id for _, doc_type, doc_id in keyed if doc_type == DEBRIEF]
    found = {
        d.id: d
        for d in db.session.scalars(
            select(Debrief).where(Debrief.id.in_(ids)).options(*_hit_options(with_text))
        )
    }
    hits = []
    for score, doc_type, doc_id in keyed:
        debrief = found.get(doc_id)
        # The index may lag the database by a moment: never show what is gone
        # or what this user may no longer read.
        if debrief is not None and can_view_debrief(user, debrief):
            hits.append(Hit(doc_id, doc_type, score, debrief))
    return hits


def _facets(view: View, bits: int, index: SearchIndex, selected: dict) -> dict:
    vocabulary = index.vocabulary()
    out = {}
    for name, fieldname in FACETS.items():
        chosen = {v.lower() for v in selected.get(name, [])}
        counts = []
        for term, docs in view.values(fieldname).items():
            count = (bits & docs).bit_count()
            if count:
                label = vocabulary.label(fieldname, term)
                is_selected = term in chosen or label.lower() in chosen
                counts.append(FacetCount(term, label, count, is_selected))
        if name == "quarter":
            counts.sort(key=lambda c: c.value, reverse=True)
        else:
            counts.sort(key=lambda c: (-c.count, c.label.lower()))
        out[name] = counts
    return out


def _surface(view: View, term: str) -> str:
    """A word as people write it for an index term (stems are not words)."""
    docs = view.docs("text", term)
    if docs:
        doc_type, doc_id = parse_key(view.key((docs & -docs).bit_length() - 1))
        debrief = db.session.get(Debrief, doc_id) if doc_type == DEBRIEF else None
        if debrief is not None:
            text = debrief_text(debrief)
            for start, end, found in spans(text):
                if found == term:
                    return text[start:end].lower()
    return term


def _correct(view: View, word: str) -> str | None:
    """The likeliest word meant by a word the index does not know: the most
    common word one edit away, else an index term two edits away."""
    found = spelling.likeliest(view, word)
    if found is not None:
        return found
    corrector = view.searcher.reader().corrector("text")
    found = [s for s in corrector.suggest(stem(word), limit=3, maxdist=2, prefix=1) if " " not in s]
    return _surface(view, found[0]) if found else None


def _suggest(view: View, parsed: user_query.Parsed, index: SearchIndex) -> str | None:
    vocabulary = index.vocabulary()
    unknown = {t for t in parsed.unknown_terms if (t,) not in vocabulary.synonyms}
    if not unknown:
        return None
    text, out, at, changed = parsed.text, [], 0, False
    fixes: dict[str, str | None] = {}
    for match in user_query.WORD.finditer(text):
        word = match.group().lower()
        if stem(word) not in unknown or not word.isalpha():
            continue
        if word not in fixes:
            # Each correction looks up every word one edit away (hundreds):
            # a few plausible words per query, in the alphabet the edits use.
            plausible = word.isascii() and len(word) <= MAX_CORRECTED_LENGTH
            if not plausible or len(fixes) >= MAX_CORRECTED_WORDS:
                continue
            fixes[word] = _correct(view, word)
        if fixes[word]:
            out.append(text[at : match.start()] + fixes[word])
            at, changed = match.end(), True
    out.append(text[at:])
    return "".join(out) if changed else None


def search(index: SearchIndex, user: User, params: SearchParams | Mapping) -> SearchResult:
    started = time.perf_counter()
    if not isinstance(params, SearchParams):
        params = SearchParams.from_args(params)
    for attempt in range(2):
        try:
            return _search(index, user, params, started)
        except Exception:
            # What a user types is answered with warnings, never an exception:
            # the index or the database failed (say, a rebuild removed files
            # under this thread's searcher). Reopen and try once more, then
            # answer with the failure, never with a guess.
            if attempt:
                log.exception("search failed: %r", params)
            else:
                log.warning("search failed; retrying with a fresh view", exc_info=True)
            db.session.rollback()
            index.forget_view()
    return SearchResult(
        query=params.q or "",
        total=0,
        page=1,
        per_page=DEFAULT_PER_PAGE,
        sort="relevance",
        hits=[],
        facets={},
        filters={},
        suggestion=None,
        warnings=[],
        took_ms=round((time.perf_counter() - started) * 1000, 2),
        error=SEARCH_FAILED,
    )


def match_query(view: View, vocabulary, q: str, warnings: list[str]) -> tuple:
    """(documents, scoring terms, parsed query) for what a user typed: every
    document when there is nothing to search for. What the query cannot use
    is reported into `warnings`."""
    parsed = user_query.parse(q, vocabulary, view, find_authors)
    warnings += parsed.warnings
    bits, terms = view.live, []
    if parsed.query is not None:
        # A failure here is the index's or a bug, never the query's (parsing
        # has made it safe): it propagates, so nobody gets every document
        # instead of the ones asked for.
        bits, terms = evaluate(view, parsed.query)
    return bits, terms, parsed


def filter_docs(
    view: View,
    vocabulary,
    filters: Mapping[str, Any],
    date_from: str | None,
    date_to: str | None,
    warnings: list[str],
    applied: dict[str, list[str]] | None = None,
) -> int:
    """The documents the filters (a value or a list of values each: any of
    them) and the close-date range allow. Reports into `warnings` what it
    could not use and into `applied` what it did."""
    bits = view.live
    resolver = user_query.Resolver(vocabulary, view, find_authors)
    for name, raw in filters.items():
        if name not in FILTERS or raw in (None, "", [], ()):
            continue
        values = list(raw) if isinstance(raw, list | tuple) else [raw]
        allowed = 0
        for value in values[:50]:
            for fieldname, term in resolver.values(FILTERS[name], str(value)):
                allowed |= view.docs(fieldname, term)
        bits &= allowed
        if applied is not None:
            applied[name] = [str(v) for v in values]
    warnings += resolver.warnings
    low = user_query.date_bounds(date_from, warnings, "date_from")
    high = user_query.date_bounds(date_to, warnings, "date_to")
    if low or high:
        bits &= view.range_docs(
            "close_date", low[0].toordinal() if low else None, high[1].toordinal() if high else None
        )
        if applied is not None:
            applied["date_from"] = [date_from] if low else []
            applied["date_to"] = [date_to] if high else []
    return bits


def _narrow(
    index: SearchIndex,
    view: View,
    user: User,
    params: SearchParams,
    warnings: list[str],
    applied: dict[str, list[str]],
) -> tuple[int, list, user_query.Parsed]:
    """The documents the query, filters and dates match among the debriefs
    `user` may read, with the query's scoring terms."""
    vocabulary = index.vocabulary()
    bits, terms, parsed = match_query(view, vocabulary, params.q, warnings)
    bits &= view.docs("doc_type", DEBRIEF) & visible_docs(view, user)
    bits &= filter_docs(
        view, vocabulary, params.filters, params.date_from, params.date_to, warnings, applied
    )
    return bits, terms, parsed


def _sort(params: SearchParams, warnings: list[str]) -> str:
    sort = (params.sort or "relevance").strip().lower()
    if sort not in SORTS:
        warnings.append(f"Sort by {', '.join(SORTS)}; '{params.sort}' is not one of them.")
        sort = "relevance"
    return sort


def _sort_field(sort: str) -> str:
    return "amount" if sort == "amount" else "close_date"


def _ranked(view: View, bits: int, terms: list, sort: str, k: int) -> list:
    """The first k (score, docnum) of `bits` in the order `sort` asks."""
    if sort != "relevance" or not terms:
        return [(None, d) for d in view.top_sorted(bits, _sort_field(sort), k)]
    ranked = view.top_scored(bits, terms, k)
    if len(ranked) < min(k, bits.bit_count()):
        # A match no scoring word reached (the field or date side of an OR)
        # still matches: it ranks after the scored ones, newest first.
        scored = bitmap((d for _, d in ranked), view.size)
        rest = view.top_sorted(bits & ~scored, "close_date", k - len(ranked))
        ranked += [(None, d) for d in rest]
    return ranked


def _search(index: SearchIndex, user: User, params: SearchParams, started: float) -> SearchResult:
    warnings: list[str] = []
    per_page = _whole(params.per_page, DEFAULT_PER_PAGE, "per_page", 1, MAX_PER_PAGE, warnings)
    page = _whole(params.page, 1, "page", 1, MAX_RESULTS // per_page, warnings)
    sort = _sort(params, warnings)

    def finish(total=0, hits=(), facets=None, suggestion=None, text="") -> SearchResult:
        took = (time.perf_counter() - started) * 1000
        return SearchResult(
            text or (params.q or ""),
            total,
            page,
            per_page,
            sort,
            list(hits),
            facets or {},
            applied,
            suggestion,
            list(dict.fromkeys(warnings)),
            round(took, 2),
        )

    applied: dict[str, list[str]] = {}
    index.poll()
    view = index.view()
    if view is None:
        warnings.append("The search index is being built; try again in a minute.")
        return finish()
    bits, terms, parsed = _narrow(index, view, user, params, warnings, applied)
    total = bits.bit_count()
    pages = max(1, math.ceil(total / per_page))
    if page > pages:
        warnings.append(f"There are only {pages} pages of results; showing page {pages}.")
        page = pages
    wanted = page * per_page
    ranked = _ranked(view, bits, terms, sort, wanted)
    hits = _load_hits(user, ranked[(page - 1) * per_page : wanted], view, params.highlight)
    if params.highlight:
        for hit in hits:
            hit.highlights = snippets(debrief_sections(hit.debrief), parsed.highlight)
    facets = _facets(view, bits, index, params.filters) if params.facets else {}
    suggestion = _suggest(view, parsed, index) if total < SUGGEST_BELOW else None
    return finish(total, hits, facets, suggestion, parsed.text)


@dataclass
class AllMatches:
    """Every debrief a search finds, with no page cap (for exports)."""

    total: int
    ids: Iterator[int]  # debrief ids, in the order the search asked for
    warnings: list[str]


def all_matches(index: SearchIndex, user: User, params: SearchParams | Mapping) -> AllMatches:
    """What search() finds for `user` with `params` (the same query, filters
    and permissions), all of it. Ordered by newest or amount, the ids come
    lazily from the index's sorted columns; by relevance, one score per
    match is held. The index may lag the database by a moment: callers
    reading the debriefs check them again."""
    if not isinstance(params, SearchParams):
        params = SearchParams.from_args(params)
    warnings: list[str] = []
    sort = _sort(params, warnings)
    index.poll()
    view = index.view()
    if view is None:
        warnings.append("The search index is being built; try again in a minute.")
        return AllMatches(0, iter(()), warnings)
    bits, terms, _ = _narrow(index, view, user, params, warnings, {})
    total = bits.bit_count()
    if sort == "relevance" and terms:
        order = (d for _, d in _ranked(view, bits, terms, sort, total))
    else:
        order = view.iter_sorted(bits, _sort_field(sort))
    ids = record_ids.debrief_ids(view)
    return AllMatches(total, (ids[d] for d in order), list(dict.fromkeys(warnings)))


# What "more like this" compares, and how much a shared one weighs against
# a shared word (each is also weighted by how rare it is). Two shared words
# said next to each other in both debriefs are also a shared phrase, which
# weighs a little more, and is shown whole rather than word by word.
LIKE_CATEGORY = 2.0
LIKE_COMPETITOR = 2.0
LIKE_TERMS = 12
LIKE_PHRASE = 0.25  # a shared pair of adjacent words, against a shared word
LIKE_WORDS_SHOWN = 3  # words or phrases, each counting as one
# What may stand between two words of one phrase: spaces and words that are
# not indexed ("of", "the"), not a full stop, comma or bracket.
_PHRASE_GAP = re.compile(r"[\s\w'’\-\u2010\u2011]*")


def _like_facets(debrief: Debrief) -> list[tuple[str, str, str]]:
    """(field, term, label) of the reason categories and competitors."""
    facets = {}
    for reason in debrief.reasons:
        category = reason.category
        facets[("category", category.slug)] = category.name
    names = {c.name for c in debrief.deal.competitors}
    names |= {r.competitor.name for r in debrief.reasons if r.competitor}
    for name in sorted(names):
        facets[("competitor", name.lower())] = f"vs {name}"
    return [(f, term, label) for (f, term), label in facets.items()]


@dataclass
class _Said:
    """What a debrief says, for "more like this": its weighted words and
    pairs of adjacent words, each word as first written, and its runs of
    weighted words that may form a phrase (each run's text, and the words'
    places in it)."""

    terms: list[tuple[str, str, float]]
    written: dict[str, str]
    runs: list[tuple[str, list[tuple[int, int, str]]]]


def _like_terms(view: View, debrief: Debrief) -> _Said:
    """The weighted words of what the debrief says and why (reasons, quotes,
    notes, lessons): not the deal's name or account, whose words would match
    other accounts (Sterling Labs and Sterling Plastics), nor competitor names,
    compared as competitors. Also each word as written, to show it, and the
    pairs of weighted words said next to each other, weighted as phrases."""
    deal = debrief.deal
    names = [deal.name, deal.account, *(c.name for c in deal.competitors)]
    names += [r.competitor.name for r in debrief.reasons if r.competitor]
    left_out = set(analyse(" ".join(names)))
    counts: dict[str, int] = {}
    written: dict[str, str] = {}
    found: list[tuple[str, list[tuple[int, int, str]]]] = []
    for section in debrief_sections(debrief):
        words = [(start, end, term) for start, end, term in spans(section.text)]
        found.append((section.text, words))
        for start, end, term in words:
            if term not in left_out:
                counts[term] = counts.get(term, 0) + 1
                written.setdefault(term, section.text[start:end].lower())
    weighted = []
    for term, count in counts.items():
        df = view.doc_frequency("text", term)
        # Words shared with no other document find nothing; words in most
        # documents say nothing about this one (unless there are few).
        if df > 1 and (df <= view.doc_count / 2 or view.doc_count < 20):
            weighted.append((count * view.idf("text", term), term))
    terms = [("text", term, 1.0) for _, term in sorted(weighted, reverse=True)[:LIKE_TERMS]]
    chosen = {term for _, term, _ in terms}
    # Runs of chosen words, each next to the one before with nothing but
    # spaces and unindexed words between them.
    runs = []
    for text, words in found:
        run: list[tuple[int, int, str]] = []
        for word in words:
            joined = run and _PHRASE_GAP.fullmatch(text, run[-1][1], word[0])
            if word[2] in chosen and joined:
                run.append(word)
                continue
            if len(run) > 1:
                runs.append((text, run))
            run = [word] if word[2] in chosen else []
        if len(run) > 1:
            runs.append((text, run))
    said_pairs = {
        a[2] + PAIR_SEPARATOR + b[2] for _, run in runs for a, b in zip(run, run[1:], strict=False)
    }
    terms += [
        ("pairs", pair, LIKE_PHRASE)
        for pair in sorted(said_pairs)
        if view.doc_frequency("pairs", pair) > 1
    ]
    return _Said(terms, written, runs)


def _shared_said(
    view: View, said: _Said, docnum: int, docs: dict[tuple[str, str], int]
) -> list[str]:
    """What the debrief at `docnum` shares of what `said` says, as written
    there, best first: the shared words, and, instead of its words, each
    phrase said in both (its words adjacent in the other debrief too).
    `docs` caches each (field, term)'s documents for the next hit."""

    def has(fieldname: str, term: str) -> bool:
        if (fieldname, term) not in docs:
            docs[fieldname, term] = view.docs(fieldname, term)
        return bool(docs[fieldname, term] >> docnum & 1)

    rank: dict[str, int] = {}
    for fieldname, term, _ in said.terms:
        if fieldname == "text" and has(fieldname, term):
            rank[term] = len(rank)
    phrases: dict[tuple[str, ...], tuple[int, int, str]] = {}

    def keep(text: str, phrase: list[tuple[int, int, str]]) -> None:
        if len(phrase) > 1:
            key = tuple(term for _, _, term in phrase)
            shown = text[phrase[0][0] : phrase[-1][1]].lower()
            phrases.setdefault(key, (min(rank[t] for t in key), len(phrases), shown))

    for text, run in said.runs:
        phrase: list[tuple[int, int, str]] = []
        for word in run:
            term = word[2]
            if term not in rank or (
                phrase and not has("pairs", phrase[-1][2] + PAIR_SEPARATOR + term)
            ):
                keep(text, phrase)
                phrase = []
            if term in rank:
                phrase.append(word)
        keep(text, phrase)
    # A phrase inside a longer shared one is said by the longer one.
    for key in list(phrases):
        if any(len(other) > len(key) and _inside(key, other) for other in phrases):
            del phrases[key]
    covered = {term for key in phrases for term in key}
    shown = [(r, -1, said.written[t]) for t, r in rank.items() if t not in covered]
    shown += phrases.values()
    return [f"“{text}”" for _, _, text in sorted(shown)[:LIKE_WORDS_SHOWN]]


def _inside(part: tuple[str, ...], whole: tuple[str, ...]) -> bool:
    """Whether `part` is a run of consecutive words of `whole`."""
    n = len(part)
    return any(whole[i : i + n] == part for i in range(len(whole) - n + 1))


def more_like_this(index: SearchIndex, user: User, debrief_id: int, limit: int = 5) -> list[Hit]:
    """Debriefs `user` may read that say the most alike and why: shared
    reason categories and competitors, and the words and phrases of their
    reasons, quotes, notes and lessons. Each hit says what the two share."""
    debrief = db.session.get(Debrief, debrief_id)
    view = index.view()
    if debrief is None or view is None or not can_view_debrief(user, debrief):
        return []
    pool = view.docs("doc_type", DEBRIEF) & visible_docs(view, user)
    own = _docnum_of(view, debrief_id)
    if own is not None:
        pool &= ~(1 << own)
    scores: dict[int, float] = {}
    shared: dict[int, list[str]] = {}
    for fieldname, term, label in _like_facets(debrief):
        docs = view.docs(fieldname, term)
        matched = docs & pool
        if not matched:
            continue
        df = docs.bit_count()
        weight = LIKE_CATEGORY if fieldname == "category" else LIKE_COMPETITOR
        weight *= math.log(1 + (view.doc_count - df + 0.5) / (df + 0.5))
        for docnum in members(matched):
            scores[docnum] = scores.get(docnum, 0.0) + weight
            shared.setdefault(docnum, []).append(label)
    said = _like_terms(view, debrief)
    term_docs: dict[tuple[str, str], int] = {}
    if said.terms:
        worded = 0
        for fieldname, term, _ in said.terms:
            term_docs[fieldname, term] = view.docs(fieldname, term)
            worded |= term_docs[fieldname, term]
        for score, docnum in view.top_scored(worded & pool, said.terms, max(50, 10 * limit)):
            scores[docnum] = scores.get(docnum, 0.0) + score
    best = heapq.nlargest(limit, scores.items(), key=lambda item: (item[1], item[0]))
    hits = _load_hits(user, [(score, docnum) for docnum, score in best], view)
    docnums = {parse_key(view.key(docnum))[1]: docnum for docnum, _ in best}
    for hit in hits:
        docnum = docnums[hit.id]
        hit.shared = shared.get(docnum, []) + _shared_said(view, said, docnum, term_docs)
    return hits


def _docnum_of(view: View, debrief_id: int) -> int | None:
    try:
        return view.searcher.document_number(key=key_of(DEBRIEF, debrief_id))
    except Exception:
        return None


def search_practices(index: SearchIndex, q: str) -> list[tuple[int, float | None]] | None:
    """Published practices matching `q`, best first, as (practice id, score);
    the same syntax, stemming and competitor aliases as the debrief search.
    Every published practice is readable by everyone signed in, so nothing
    narrows them by user (and the index holds no practice's author). None
    when there is no usable index yet."""
    index.poll()
    view = index.view()
    if view is None:
        return None
    bits, terms, _ = match_query(view, index.vocabulary(), q, warnings=[])
    bits &= view.docs("doc_type", PRACTICE)
    count = bits.bit_count()
    ranked = view.top_scored(bits, terms, count) if terms else []
    # A match that no scoring term reached (a field-only or negated part) still matches.
    scored = {docnum for _, docnum in ranked}
    ranked += [(None, docnum) for docnum in members(bits) if docnum not in scored]
    found = []
    for score, docnum in ranked:
        doc_type, doc_id = parse_key(view.key(docnum))
        if doc_type == PRACTICE:
            found.append((doc_id, score))
    return found
