"""Debriefs' own words as the search index sees them: each text section of a
debrief (reason explanations, quotes, decision process, competitive notes,
what worked, lessons learned) analysed with the index's analyser, so that a
word or phrase found here is one a search finds.

Analysed debriefs are kept per app (a bounded LRU); a debrief is analysed
again once the search outbox shows it changed.
"""

import threading
from collections import OrderedDict
from collections.abc import Iterable

from flask import current_app
from sqlalchemy import func, select

from kb.extensions import db
from kb.models import Competitor, Deal, Debrief, IndexChange, Quote, Reason, deal_competitors
from kb.search.analysis import analyse, clauses
from kb.search.documents import Section

EXTENSION = "kb_theme_terms"
MAX_DEBRIEFS = 30_000
# Debriefs whose names are kept analysed: a few references each (the names
# themselves are shared), so many more than their texts.
MAX_NAMED = 200_000
CHUNK = 2000
SECTION_FIELDS = (
    ("decision_process", "Decision process"),
    ("competitive_notes", "Competitive notes"),
    ("what_worked", "What worked"),
    ("lessons_learned", "Lessons learned"),
)

# One tuple of index terms per clause of each section, in order: phrases
# never span two (kb.search.analysis.clauses).
Terms = tuple[tuple[str, ...], ...]


def sections(debrief_ids: Iterable[int]) -> dict[int, list[Section]]:
    """The text sections of these debriefs, read with three plain queries
    (no ORM objects: discovery reads thousands at a time)."""
    ids = list(debrief_ids)
    out: dict[int, list[Section]] = {i: [] for i in ids}
    for start in range(0, len(ids), CHUNK):
        part = ids[start : start + CHUNK]
        for debrief_id, explanation in db.session.execute(
            select(Reason.debrief_id, Reason.explanation)
            .where(Reason.debrief_id.in_(part))
            .order_by(Reason.debrief_id, Reason.rank, Reason.id)
        ):
            if explanation:
                out[debrief_id].append(Section("reasons", "Reason", explanation))
        for debrief_id, text, role in db.session.execute(
            select(Quote.debrief_id, Quote.text, Quote.speaker_role)
            .where(Quote.debrief_id.in_(part))
            .order_by(Quote.debrief_id, Quote.position, Quote.id)
        ):
            label = f"Quote ({role})" if role else "Quote"
            out[debrief_id].append(Section("quotes", label, text))
        columns = [getattr(Debrief, name) for name, _ in SECTION_FIELDS]
        for debrief_id, *texts in db.session.execute(
            select(Debrief.id, *columns).where(Debrief.id.in_(part))
        ):
            for (name, label), text in zip(SECTION_FIELDS, texts, strict=True):
                if text:
                    out[debrief_id].append(Section(name, label, text))
    return out


class TermCache:
    def __init__(self, size: int = MAX_DEBRIEFS):
        self.size = size
        self.version = -1
        self.entries: OrderedDict[int, Terms] = OrderedDict()
        self.named: OrderedDict[int, Terms] = OrderedDict()
        self._name_terms: dict[str, tuple[str, ...]] = {}
        self.lock = threading.Lock()

    def refresh(self) -> None:
        latest = db.session.scalar(select(func.max(IndexChange.id))) or 0
        with self.lock:
            if latest < self.version:
                self.entries.clear()
                self.named.clear()
                self.version = -1
            if latest <= self.version:
                return
            if self.version >= 0:
                changed = db.session.scalars(
                    select(IndexChange.doc_id).where(
                        IndexChange.id > self.version, IndexChange.doc_type == "debrief"
                    )
                )
                for debrief_id in changed:
                    self.entries.pop(debrief_id, None)
                    self.named.pop(debrief_id, None)
            self.version = latest

    def terms(self, debrief_ids: list[int]) -> dict[int, Terms]:
        """Each debrief's analysed sections (their clauses, see Terms),
        analysing those not kept yet; in the order asked, whichever were
        kept (discovery takes its examples from the first debriefs of its
        sample that have a phrase)."""
        out: dict[int, Terms] = {}
        missing = []
        with self.lock:
            for debrief_id in debrief_ids:
                found = self.entries.get(debrief_id)
                if found is None:
                    missing.append(debrief_id)
                else:
                    self.entries.move_to_end(debrief_id)
                    out[debrief_id] = found
        if missing:
            # A text written again (a quote or reason repeated word for
            # word) is analysed once per read, and its terms shared.
            texts: dict[str, tuple[tuple[str, ...], ...]] = {}

            def clauses_of(text: str) -> tuple[tuple[str, ...], ...]:
                found = texts.get(text)
                if found is None:
                    found = texts[text] = tuple(map(tuple, clauses(text)))
                return found

            analysed = {
                debrief_id: tuple(clause for s in found for clause in clauses_of(s.text))
                for debrief_id, found in sections(missing).items()
            }
            out.update(analysed)
            with self.lock:
                self.entries.update(analysed)
                while len(self.entries) > self.size:
                    self.entries.popitem(last=False)
            if len(missing) < len(debrief_ids):  # some were kept: they came first
                out = {debrief_id: out[debrief_id] for debrief_id in debrief_ids}
        return out

    def names(self, debrief_ids: list[int]) -> dict[int, Terms]:
        """Each debrief's names (kb.themes.terms.names) as index terms, one
        tuple per name, reading those not kept yet."""
        out: dict[int, Terms] = {}
        missing = []
        with self.lock:
            named = self.named
            for debrief_id in debrief_ids:
                found = named.get(debrief_id)
                if found is None:
                    missing.append(debrief_id)
                else:
                    out[debrief_id] = found
        if missing:
            read = names(missing)
            with self.lock:
                analysed = self._name_terms
                if len(analysed) > MAX_NAMED:
                    analysed.clear()
                for debrief_id, found in read.items():
                    terms = []
                    for name in found:
                        got = analysed.get(name)
                        if got is None:
                            got = analysed[name] = tuple(analyse(name))
                        terms.append(got)
                    out[debrief_id] = named[debrief_id] = tuple(terms)
                while len(named) > MAX_NAMED:
                    named.popitem(last=False)
        return out


def term_cache() -> TermCache:
    cache = current_app.extensions.get(EXTENSION)
    if cache is None:
        cache = current_app.extensions.setdefault(EXTENSION, TermCache())
    cache.refresh()
    return cache


def names(debrief_ids: Iterable[int]) -> dict[int, list[str]]:
    """The names the index also holds as a debrief's text (its deal's name,
    account and competitors, and the interviewee's role): a phrase found
    mostly there is an artefact of how deals are named."""
    ids = list(debrief_ids)
    out: dict[int, list[str]] = {i: [] for i in ids}
    for start in range(0, len(ids), CHUNK):
        part = ids[start : start + CHUNK]
        for debrief_id, *texts in db.session.execute(
            select(Debrief.id, Deal.name, Deal.account, Debrief.interviewee_role)
            .join(Deal, Deal.id == Debrief.deal_id)
            .where(Debrief.id.in_(part))
        ):
            out[debrief_id] += [t for t in texts if t]
        for debrief_id, name in db.session.execute(
            select(Debrief.id, Competitor.name)
            .join(deal_competitors, deal_competitors.c.deal_id == Debrief.deal_id)
            .join(Competitor, Competitor.id == deal_competitors.c.competitor_id)
            .where(Debrief.id.in_(part))
            # The order of the index's text (kb.search.documents.load_facts),
            # so that a segment's tables are the same whoever writes them.
            .order_by(Debrief.id, Competitor.name)
        ):
            out[debrief_id].append(name)
        for debrief_id, name in db.session.execute(
            select(Reason.debrief_id, Competitor.name)
            .join(Competitor, Competitor.id == Reason.competitor_id)
            .where(Reason.debrief_id.in_(part))
            .order_by(Reason.debrief_id, Reason.rank, Reason.id)
        ):
            out[debrief_id].append(name)
    return out
