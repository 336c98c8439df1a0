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
from pathlib import Path
from typing import Any

from flask import current_app

from kb.search import EXTENSION, record_ids
from kb.search.analysis import PAIR_SEPARATOR
from kb.search.docsets import members
from kb.search.documents import DEBRIEF
from kb.search.query import parse
from kb.search.service import FILTERS, filter_docs, find_authors, match_query

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


class Snapshot:
    """One consistent state of the index, and what themes ask of it."""

    def __init__(self, index, view):
        self.index = index
        self.view = view
        self.vocabulary = index.vocabulary()
        # Changes whenever a document is added, changed or removed, or the
        # reference data a query resolves names against (aliases are synonyms).
        self.state = (
            tuple((data.segment_id, reader.doc_count()) for data, reader, _ in view.leaves),
            hash(repr(self.vocabulary)),
        )
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
        warnings: list[str] = []
        bits, _, parsed = match_query(self.view, self.vocabulary, query or "", warnings)
        bits &= self.population
        bits &= filter_docs(
            self.view,
            self.vocabulary,
            filters,
            date_from or filters.get("date_from"),
            date_to or filters.get("date_to"),
            warnings,
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
                self._debrief_ids = record_ids.debrief_ids(self.view)
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
        if found is None or found.index is not index or found.vocabulary is not index.vocabulary():
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


def index_state() -> tuple | None:
    """Which index state searches here would read: the generation and how
    far into the outbox it has applied (its cursor, gaps included); None
    while there is no index yet. Cheap: two small file reads."""
    folder = current_app.extensions[EXTENSION].folder
    generation = folder.current()
    cursor = folder.read_cursor(generation) if generation else None
    if cursor is None:
        return None
    return (generation.name, cursor.applied_id, tuple(sorted(cursor.gaps)))


def index_folder() -> Path:
    """The index folder, where what a machine computes once is kept."""
    return current_app.extensions[EXTENSION].folder.root


def applies_inline() -> bool:
    """Whether this process applies its own changes (tests, scripts) rather
    than a machine's indexer applying everyone's."""
    return current_app.extensions[EXTENSION].settings.mode == "inline"
