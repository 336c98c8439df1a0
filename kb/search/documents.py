"""What the index keeps of each kind of document, read from the database.

A document type ("debrief" and "practice") loads its
records in batches and turns each into an index document: the analysed text,
the structured values, and a key "<type>:<id>". The indexer only knows the
registry below, so a second type is one more entry, indexed, updated and
rebuilt by the same outbox mechanism.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from itertools import chain
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased, selectinload

from kb.models import (
    Competitor,
    Deal,
    Debrief,
    Outcome,
    Practice,
    PracticeStatus,
    Quote,
    Reason,
    ReasonCategory,
    WinnerKind,
    deal_competitors,
)
from kb.practices.presenters import PracticeView, present
from kb.search.analysis import clause_pairs, clauses

DEBRIEF = "debrief"
PRACTICE = "practice"


def key_of(doc_type: str, doc_id: int) -> str:
    return f"{doc_type}:{doc_id}"


def parse_key(key: str) -> tuple[str, int]:
    doc_type, _, doc_id = key.partition(":")
    return doc_type, int(doc_id)


@dataclass(frozen=True)
class Section:
    """A piece of a document's own text, as a result card shows it."""

    field: str
    label: str
    text: str


class DocumentType(Protocol):
    name: str

    def load(self, session: Session, ids: list[int]) -> dict[int, dict[str, Any]]:
        """Index documents for those of `ids` that exist (missing ones are deleted)."""

    def all_ids(self, session: Session) -> list[int]: ...

    def count(self, session: Session) -> int: ...


def debrief_sections(debrief: Debrief) -> list[Section]:
    sections = []
    for reason in debrief.reasons:
        if reason.explanation:
            label = f"{reason.direction.value.capitalize()}: {reason.category.label}"
            sections.append(Section("reasons", label, reason.explanation))
    for quote in debrief.quotes:
        label = f"Quote ({quote.speaker_role})" if quote.speaker_role else "Quote"
        sections.append(Section("quotes", label, quote.text))
    for field, label in (
        ("decision_process", "Decision process"),
        ("competitive_notes", "Competitive notes"),
        ("what_worked", "What worked"),
        ("lessons_learned", "Lessons learned"),
    ):
        if text := getattr(debrief, field):
            sections.append(Section(field, label, text))
    return sections


@dataclass(frozen=True, slots=True)
class DebriefFacts:
    """What a debrief's index document is made of, as plain values: read
    from loaded objects (debrief_text for pages) or straight from the
    database's rows (the indexer), so both give the same document."""

    id: int
    source: str
    status: str
    author_id: int
    interviewee_role: str | None
    deal_name: str
    account: str
    outcome: str
    segment: str | None
    region: str | None
    industry: str | None
    product_line: str | None
    close_date: date
    amount: Decimal | None
    winner_kind: str | None
    winner_name: str | None
    # Deal competitors by name; reasons in rank order as (explanation,
    # category slug, category group slug, competitor name); quote texts in order.
    competitors: tuple[str, ...]
    reasons: tuple[tuple[str, str, str, str | None], ...]
    quotes: tuple[str, ...]
    notes: tuple[str, ...]  # decision process, competitive notes, what worked, lessons


NOTE_FIELDS = ("decision_process", "competitive_notes", "what_worked", "lessons_learned")


def facts_of(debrief: Debrief) -> DebriefFacts:
    deal = debrief.deal
    return DebriefFacts(
        id=debrief.id,
        source=debrief.source.value,
        status=debrief.status.value,
        author_id=debrief.author_id,
        interviewee_role=debrief.interviewee_role,
        deal_name=deal.name,
        account=deal.account,
        outcome=deal.outcome.value,
        segment=deal.segment,
        region=deal.region,
        industry=deal.industry,
        product_line=deal.product_line,
        close_date=deal.close_date,
        amount=deal.amount,
        winner_kind=deal.winner_kind.value if deal.winner_kind else None,
        winner_name=deal.winner_competitor.name if deal.winner_competitor else None,
        competitors=tuple(c.name for c in deal.competitors),
        reasons=tuple(
            (
                r.explanation,
                r.category.slug,
                r.category.group.slug,
                r.competitor.name if r.competitor else None,
            )
            for r in debrief.reasons
        ),
        quotes=tuple(q.text for q in debrief.quotes),
        notes=tuple(getattr(debrief, field) for field in NOTE_FIELDS),
    )


def facts_text(facts: DebriefFacts) -> str:
    """Everything a debrief is found by, in the order of debrief_sections."""
    names = [*facts.competitors, *(r[3] for r in facts.reasons if r[3])]
    # Names apart (a comma between them), so that no word pair joins two.
    head = [facts.deal_name, facts.account, ", ".join(names), facts.interviewee_role or ""]
    texts = [r[0] for r in facts.reasons if r[0]]
    texts += facts.quotes
    texts += [note for note in facts.notes if note]
    return "\n".join(head + texts)


def debrief_text(debrief: Debrief) -> str:
    return facts_text(facts_of(debrief))


def _winner(facts: DebriefFacts) -> str | None:
    if facts.outcome == Outcome.WON:
        return "us"
    if facts.winner_kind == WinnerKind.COMPETITOR and facts.winner_name:
        return facts.winner_name.lower()
    return facts.winner_kind


def _lower(value: str | None) -> str | None:
    return value.lower() if value else None


def _quarter(day: date) -> str:
    return f"{day.year}-q{(day.month - 1) // 3 + 1}"


def facts_document(facts: DebriefFacts) -> dict[str, Any]:
    return _facts_document(facts, clauses(facts_text(facts)))


def facts_said(facts: DebriefFacts) -> tuple[dict[str, Any], list[list[str]], list[list[str]]]:
    """A debrief's index document, with what it says clause by clause (each
    section's clauses, kb.search.analysis.clauses) and its names (each
    analysed, empty ones left out), as discovery reads them from the
    database (kb.themes.terms.sections and names): each piece is analysed
    once. Its text's clauses are the pieces' clauses in the order of
    facts_text, since no clause spans the line between two pieces; only the
    retweet marker depends on what is around it, so a text holding "RT" is
    analysed whole."""
    analysed: dict[str, list[list[str]]] = {}

    def clauses_of(text: str) -> list[list[str]]:
        found = analysed.get(text)
        if found is None:
            found = analysed[text] = clauses(text)
        return found

    competitors = [*facts.competitors, *(r[3] for r in facts.reasons if r[3])]
    said = [r[0] for r in facts.reasons if r[0]]
    said += facts.quotes
    said += [note for note in facts.notes if note]
    head = [facts.deal_name, facts.account, *competitors, facts.interviewee_role or ""]
    names = [t for t in (facts.deal_name, facts.account, facts.interviewee_role) if t]
    names += competitors
    text = facts_text(facts)
    if "RT" in text:
        found = clauses(text)
    else:
        found = [clause for piece in chain(head, said) for clause in clauses_of(piece)]
    # What it says clause by clause (no phrase spans two), and each name whole.
    sections = [clause for piece in said for clause in clauses_of(piece)]
    named = [terms for name in names if (terms := list(chain(*clauses_of(name))))]
    return _facts_document(facts, found), sections, named


def _facts_document(facts: DebriefFacts, found: list[list[str]]) -> dict[str, Any]:
    """The index document of a debrief whose text's terms are `found`,
    clause by clause."""
    terms = list(chain(*found))
    document = {
        "key": key_of(DEBRIEF, facts.id),
        "doc_type": DEBRIEF,
        # Lists are taken as terms already analysed.
        "text": terms,
        "pairs": clause_pairs(found),
        "outcome": facts.outcome,
        "source": facts.source,
        "status": facts.status,
        "author_id": str(facts.author_id),
        "segment": _lower(facts.segment),
        "region": _lower(facts.region),
        "industry": _lower(facts.industry),
        "product_line": _lower(facts.product_line),
        "quarter": _quarter(facts.close_date),
        "winner": _winner(facts),
        "competitor": sorted({name.lower() for name in facts.competitors}),
        "category": sorted({r[1] for r in facts.reasons}),
        "category_group": sorted({r[2] for r in facts.reasons}),
        "close_date": facts.close_date.toordinal(),
        "amount": int(facts.amount) if facts.amount is not None else 0,
    }
    return {name: value for name, value in document.items() if value not in (None, [])}


def debrief_document(debrief: Debrief) -> dict[str, Any]:
    return facts_document(facts_of(debrief))


def debrief_options():
    """Everything a debrief document reads, loaded in a few batched queries."""
    return (
        selectinload(Debrief.deal).selectinload(Deal.competitors),
        selectinload(Debrief.deal).selectinload(Deal.winner_competitor),
        selectinload(Debrief.reasons)
        .selectinload(Reason.category)
        .selectinload(ReasonCategory.parent),
        selectinload(Debrief.reasons).selectinload(Reason.competitor),
        selectinload(Debrief.quotes),
    )


def load_facts(session: Session, ids: list[int]) -> list[DebriefFacts]:
    """The facts of the debriefs among `ids` that exist, in id order, read
    with four plain queries (no objects: this is the indexer's bulk path)."""
    if not ids:
        return []
    winner = aliased(Competitor)
    group = aliased(ReasonCategory)
    debrief_rows = session.execute(
        select(
            Debrief.id,
            Debrief.deal_id,
            Debrief.source,
            Debrief.status,
            Debrief.author_id,
            Debrief.interviewee_role,
            *(getattr(Debrief, field) for field in NOTE_FIELDS),
            Deal.name,
            Deal.account,
            Deal.outcome,
            Deal.segment,
            Deal.region,
            Deal.industry,
            Deal.product_line,
            Deal.close_date,
            Deal.amount,
            Deal.winner_kind,
            winner.name,
        )
        .join(Deal, Deal.id == Debrief.deal_id)
        .outerjoin(winner, winner.id == Deal.winner_competitor_id)
        .where(Debrief.id.in_(ids))
        .order_by(Debrief.id)
    ).all()
    if not debrief_rows:
        return []
    reasons: dict[int, list] = {}
    for debrief_id, *reason in session.execute(
        select(
            Reason.debrief_id,
            Reason.explanation,
            ReasonCategory.slug,
            func.coalesce(group.slug, ReasonCategory.slug),
            Competitor.name,
        )
        .join(ReasonCategory, ReasonCategory.id == Reason.category_id)
        .outerjoin(group, group.id == ReasonCategory.parent_id)
        .outerjoin(Competitor, Competitor.id == Reason.competitor_id)
        .where(Reason.debrief_id.in_(ids))
        .order_by(Reason.debrief_id, Reason.rank, Reason.id)
    ):
        reasons.setdefault(debrief_id, []).append(tuple(reason))
    quotes: dict[int, list[str]] = {}
    for debrief_id, text in session.execute(
        select(Quote.debrief_id, Quote.text)
        .where(Quote.debrief_id.in_(ids))
        .order_by(Quote.debrief_id, Quote.position, Quote.id)
    ):
        quotes.setdefault(debrief_id, []).append(text)
    deal_ids = sorted({row.deal_id for row in debrief_rows})
    competitors: dict[int, list[str]] = {}
    for deal_id, name in session.execute(
        select(deal_competitors.c.deal_id, Competitor.name)
        .join(Competitor, Competitor.id == deal_competitors.c.competitor_id)
        .where(deal_competitors.c.deal_id.in_(deal_ids))
        .order_by(deal_competitors.c.deal_id, Competitor.name)
    ):
        competitors.setdefault(deal_id, []).append(name)
    found = []
    for row in debrief_rows:
        (debrief_id, deal_id, source, status, author_id, role, *rest) = row
        notes, deal = rest[: len(NOTE_FIELDS)], rest[len(NOTE_FIELDS) :]
        name, account, outcome, segment, region, industry, line, closed, amount, kind, won_by = deal
        found.append(
            DebriefFacts(
                id=debrief_id,
                source=source.value,
                status=status.value,
                author_id=author_id,
                interviewee_role=role,
                deal_name=name,
                account=account,
                outcome=outcome.value,
                segment=segment,
                region=region,
                industry=industry,
                product_line=line,
                close_date=closed,
                amount=amount,
                winner_kind=kind.value if kind else None,
                winner_name=won_by,
                competitors=tuple(competitors.get(deal_id, ())),
                reasons=tuple(reasons.get(debrief_id, ())),
                quotes=tuple(quotes.get(debrief_id, ())),
                notes=tuple(notes),
            )
        )
    return found


class Debriefs:
    name = DEBRIEF

    def load(self, session: Session, ids: list[int]) -> dict[int, dict[str, Any]]:
        return {facts.id: facts_document(facts) for facts in load_facts(session, ids)}

    def load_said(self, session: Session, ids: list[int]) -> dict[int, tuple]:
        """Each document with what it says and its names (facts_said), for
        the bulk builder's sequence tables."""
        found = {}
        for facts in load_facts(session, ids):
            document, *said = facts_said(facts)
            found[facts.id] = (document, said)
        return found

    def all_ids(self, session: Session) -> list[int]:
        return list(session.scalars(select(Debrief.id).order_by(Debrief.id)))

    def count(self, session: Session) -> int:
        return session.scalar(select(func.count()).select_from(Debrief)) or 0


def practice_text(view: PracticeView) -> str:
    """What a practice is found by: what anyone signed in may read of it.
    Built from the view for nobody in particular, so neither its author nor
    its deal's name (kept from readers of an anonymous practice) is included."""
    competitors = view.context.competitors if view.context else ()
    return "\n".join(
        [view.title, " ".join(view.tags), " ".join(competitors)]
        + [text for text in (view.situation, view.actions, view.result) if text]
    )


def practice_document(practice: Practice) -> dict[str, Any]:
    """A published practice's index document. No author: the author filter
    stays with the database, which knows who may see an anonymous author."""
    view = present(practice, None)
    found = clauses(practice_text(view))
    terms = list(chain(*found))
    context = view.context
    document = {
        "key": key_of(PRACTICE, practice.id),
        "doc_type": PRACTICE,
        "text": terms,
        "pairs": clause_pairs(found),
        "status": view.status,
        "outcome": context.outcome.value if context else None,
        "segment": _lower(context.segment) if context else None,
        "competitor": sorted({name.lower() for name in context.competitors}) if context else [],
        "kind": view.kind,
        "tag": sorted({tag.lower() for tag in view.tags}),
    }
    return {name: value for name, value in document.items() if value not in (None, [])}


class Practices:
    """Published practices only: a draft, an unpublished or a deleted
    practice is removed from the index."""

    name = PRACTICE

    def _published(self):
        return select(Practice).where(Practice.status == PracticeStatus.PUBLISHED)

    def load(self, session: Session, ids: list[int]) -> dict[int, dict[str, Any]]:
        found = session.scalars(
            self._published()
            .where(Practice.id.in_(ids))
            .options(
                selectinload(Practice.author),
                selectinload(Practice.deal).selectinload(Deal.competitors),
                selectinload(Practice.debrief),
                selectinload(Practice.tags),
                selectinload(Practice.endorsements),
                selectinload(Practice.comments),
            )
        )
        return {practice.id: practice_document(practice) for practice in found}

    def all_ids(self, session: Session) -> list[int]:
        stmt = select(Practice.id).where(Practice.status == PracticeStatus.PUBLISHED)
        return list(session.scalars(stmt.order_by(Practice.id)))

    def count(self, session: Session) -> int:
        stmt = select(func.count()).where(Practice.status == PracticeStatus.PUBLISHED)
        return session.scalar(stmt.select_from(Practice)) or 0


DOCUMENT_TYPES: dict[str, DocumentType] = {DEBRIEF: Debriefs(), PRACTICE: Practices()}


def batches(ids: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]
