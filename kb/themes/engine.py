"""The search engine as themes and discovery use it: which submitted
debriefs a saved search matches, as a document set over the index, with the
index's own analysis, phrase matching and highlighter.

kb.search's public interface returns pages of hits; theme figures and
discovery need whole document sets and term document frequencies. This
module is the one place that reaches into the search package for them
(query parsing and resolving, matching, the index's document sets), with the
same rules search() applies, so that a theme counts exactly the debriefs a
search for it finds, and a change inside the search package touches only
this file.

Every figure counts submitted debriefs (what everyone may read), so results
are the same for every user and can be cached per index state.
"""

import threading
import weakref
from array import array
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import current_app

from kb.search import EXTENSION
from kb.search.analysis import PAIR_SEPARATOR
from kb.search.docsets import members
from kb.search.documents import DEBRIEF, parse_key
from kb.search.matching import evaluate
from kb.search.query import Resolver, date_bounds, parse
from kb.search.service import FILTERS, find_authors

# Theme filter keys the search engine takes as filters (the dates are ranges).
SEARCH_FILTERS = tuple(FILTERS)


@dataclass
class Match:
    """The submitted debriefs a query and filters match, as a bitmap."""

    bits: int
    warnings: list[str] = field(default_factory=list)
    # The stemmed words of the query, for marking in snippets.
    highlight: set[str] = field(default_factory=set)

    @property
    def count(self) -> int:
        return self.bits.bit_count()


# Per index segment (immutable once written): local document number -> debrief id.
_segment_ids: dict[tuple[str, int], array] = {}
_segment_lock = threading.Lock()


def _debrief_ids_of_segment(reader, segment_id: str) -> array:
    key = (segment_id, reader.doc_count_all())
    with _segment_lock:
        found = _segment_ids.get(key)
    if found is not None:
        return found
    ids = array("q", [-1]) * reader.doc_count_all()
    try:
        # A key is unique: its term info holds its one document.
        for btext, info in reader.iter_field("key"):
            doc_type, doc_id = parse_key(btext.decode("utf-8"))
            if doc_type == DEBRIEF:
                ids[info.min_id()] = doc_id
    except (AttributeError, TypeError):
        for docnum in range(reader.doc_count_all()):
            if not reader.is_deleted(docnum):
                doc_type, doc_id = parse_key(reader.stored_fields(docnum)["key"])
                if doc_type == DEBRIEF:
                    ids[docnum] = doc_id
    with _segment_lock:
        if len(_segment_ids) > 64:
            _segment_ids.clear()
        _segment_ids[key] = ids
    return ids


class Snapshot:
    """One consistent state of the index, and what themes ask of it."""

    def __init__(self, index, view):
        self.index = index
        self.view = view
        self.vocabulary = index.vocabulary()
        # Changes whenever a document is added, changed or removed.
        self.state = tuple((data.segment_id, reader.doc_count()) for data, reader, _ in view.leaves)
        self.population = view.docs("doc_type", DEBRIEF) & view.docs("status", "submitted")
        self._debrief_ids: array | None = None
        self._frequencies: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    @property
    def size(self) -> int:
        return self.population.bit_count()

    # Matching

    def match(self, query: str, filters: Mapping[str, Any], date_from=None, date_to=None) -> Match:
        """What search() finds for this query and filters, among submitted
        debriefs. Filter values may be strings or lists (any of)."""
        view = self.view
        warnings: list[str] = []
        parsed = parse(query or "", self.vocabulary, view, find_authors)
        warnings += parsed.warnings
        if parsed.query is not None:
            bits, _ = evaluate(view, parsed.query)
        else:
            bits = view.live
        bits &= self.population
        resolver = Resolver(self.vocabulary, view, find_authors)
        for name, raw in filters.items():
            if name not in FILTERS or raw in (None, "", []):
                continue
            allowed = 0
            for value in raw if isinstance(raw, list | tuple) else [raw]:
                for fieldname, term in resolver.values(FILTERS[name], str(value)):
                    allowed |= view.docs(fieldname, term)
            bits &= allowed
        warnings += resolver.warnings
        low = date_bounds(date_from or filters.get("date_from"), warnings, "date_from")
        high = date_bounds(date_to or filters.get("date_to"), warnings, "date_to")
        if low or high:
            bits &= view.range_docs(
                "close_date",
                low[0].toordinal() if low else None,
                high[1].toordinal() if high else None,
            )
        return Match(bits, list(dict.fromkeys(warnings)), set(parsed.highlight))

    def phrase_bits(self, terms: tuple[str, ...]) -> int:
        """Documents the quoted phrase of these index terms matches, as
        search matches phrases: a word's documents, or those with every
        adjacent pair of the phrase."""
        view = self.view
        if len(terms) == 1:
            return view.docs("text", terms[0])
        bits = view.live
        for a, b in zip(terms, terms[1:], strict=False):
            bits &= view.docs("pairs", a + PAIR_SEPARATOR + b)
        return bits

    def doc_frequency(self, terms: tuple[str, ...]) -> int:
        """A quick upper bound of the phrase's documents (all documents of
        the index, drafts and deleted ones included), read from the term
        index without decoding postings; kept for this index state."""
        if len(terms) == 1:
            return self._frequency("text", terms[0])
        return min(
            self._frequency("pairs", a + PAIR_SEPARATOR + b)
            for a, b in zip(terms, terms[1:], strict=False)
        )

    def _frequency(self, fieldname: str, term: str) -> int:
        key = (fieldname, term)
        found = self._frequencies.get(key)
        if found is None:
            found = self._frequencies[key] = self.view.searcher.doc_frequency(fieldname, term)
        return found

    # Structured values

    def values(self, fieldname: str) -> dict[str, int]:
        """Indexed value -> its documents, for a structured field."""
        return self.view.values(fieldname)

    def label(self, fieldname: str, value: str) -> str:
        return self.vocabulary.label(fieldname, value)

    def column(self, fieldname: str) -> array:
        return self.view.column(fieldname)

    def range_bits(self, fieldname: str, low: int | None, high: int | None) -> int:
        return self.view.range_docs(fieldname, low, high)

    # Documents

    def docnums(self, bits: int) -> list[int]:
        return members(bits)

    @property
    def debrief_ids(self) -> array:
        """Document number -> debrief id (-1 for other documents)."""
        with self._lock:
            if self._debrief_ids is None:
                ids = array("q")
                for data, reader, _ in self.view.leaves:
                    ids.extend(_debrief_ids_of_segment(reader, data.segment_id))
                self._debrief_ids = ids
            return self._debrief_ids

    def debriefs_of(self, bits: int) -> list[int]:
        ids = self.debrief_ids
        return [ids[d] for d in members(bits)]


_snapshots: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_snapshots_lock = threading.Lock()


def snapshot() -> Snapshot | None:
    """The current state of the index (after applying outstanding changes
    other processes committed), or None while there is no index yet."""
    index = current_app.extensions[EXTENSION]
    index.poll()
    view = index.view()
    if view is None:
        return None
    with _snapshots_lock:
        found = _snapshots.get(view)
        if found is None or found.index is not index:
            found = _snapshots[view] = Snapshot(index, view)
        return found


def query_problems(query: str) -> list[str]:
    """What the search engine would say about this query: messages about
    parts it cannot use (an unknown field, unbalanced quotes, nothing to
    search for). Empty when the query is fine."""
    index = current_app.extensions[EXTENSION]
    view = index.view()
    return parse(query, index.vocabulary(), view, find_authors).warnings


def highlight_terms(query: str) -> set[str]:
    index = current_app.extensions[EXTENSION]
    return set(parse(query, index.vocabulary(), None, find_authors).highlight)
