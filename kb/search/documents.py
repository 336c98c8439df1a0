"""What the index keeps of each kind of document, read from the database.

A document type ("debrief" and "practice") loads its
records in batches and turns each into an index document: the analysed text,
the structured values, and a key "<type>:<id>". The indexer only knows the
registry below, so a second type is one more entry, indexed, updated and
rebuilt by the same outbox mechanism.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from kb.models import (
    Deal,
    Debrief,
    Outcome,
    Practice,
    PracticeStatus,
    Reason,
    ReasonCategory,
    WinnerKind,
)
from kb.practices.presenters import PracticeView, present
from kb.search.analysis import analyse, pairs

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


def debrief_text(debrief: Debrief) -> str:
    deal = debrief.deal
    names = [c.name for c in deal.competitors]
    names += [r.competitor.name for r in debrief.reasons if r.competitor]
    head = [deal.name, deal.account, " ".join(names), debrief.interviewee_role or ""]
    return "\n".join(head + [s.text for s in debrief_sections(debrief)])


def _winner(deal: Deal) -> str | None:
    if deal.outcome == Outcome.WON:
        return "us"
    if deal.winner_kind == WinnerKind.COMPETITOR and deal.winner_competitor:
        return deal.winner_competitor.name.lower()
    return deal.winner_kind.value if deal.winner_kind else None


def _lower(value: str | None) -> str | None:
    return value.lower() if value else None


def debrief_document(debrief: Debrief) -> dict[str, Any]:
    deal = debrief.deal
    terms = analyse(debrief_text(debrief))
    categories = [r.category for r in debrief.reasons]
    document = {
        "key": key_of(DEBRIEF, debrief.id),
        "doc_type": DEBRIEF,
        # Lists are taken as terms already analysed.
        "text": terms,
        "pairs": pairs(terms),
        "outcome": deal.outcome.value,
        "source": debrief.source.value,
        "status": debrief.status.value,
        "author_id": str(debrief.author_id),
        "segment": _lower(deal.segment),
        "region": _lower(deal.region),
        "industry": _lower(deal.industry),
        "product_line": _lower(deal.product_line),
        "quarter": deal.quarter.lower(),
        "winner": _winner(deal),
        "competitor": sorted({c.name.lower() for c in deal.competitors}),
        "category": sorted({c.slug for c in categories}),
        "category_group": sorted({c.group.slug for c in categories}),
        "close_date": deal.close_date.toordinal(),
        "amount": int(deal.amount) if deal.amount is not None else 0,
    }
    return {name: value for name, value in document.items() if value not in (None, [])}


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


class Debriefs:
    name = DEBRIEF

    def load(self, session: Session, ids: list[int]) -> dict[int, dict[str, Any]]:
        found = session.scalars(
            select(Debrief).where(Debrief.id.in_(ids)).options(*debrief_options())
        )
        return {debrief.id: debrief_document(debrief) for debrief in found}

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
    terms = analyse(practice_text(view))
    context = view.context
    document = {
        "key": key_of(PRACTICE, practice.id),
        "doc_type": PRACTICE,
        "text": terms,
        "pairs": pairs(terms),
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
