"""Debrief rows to export: a row per debrief, per reason and per quote.

Debriefs come from the search (the same query, filters, sort and
permissions as the search page, with no page cap), read from the database a
batch at a time: the debriefs with their deals as objects, their reasons and
quotes as plain columns (one query each per batch, no object per row), so
that an export of any size holds one batch at once."""

from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import islice
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import aliased, joinedload

from kb import search
from kb.exports.rows import BATCH, Book, Column, debrief_url
from kb.extensions import db
from kb.models import (
    Competitor,
    Deal,
    Debrief,
    DebriefSource,
    DebriefStatus,
    Direction,
    Outcome,
    Quote,
    Reason,
    ReasonCategory,
    User,
    WinnerKind,
)
from kb.permissions import can_view_debrief
from kb.search import SearchParams

DEBRIEF_COLUMNS = (
    Column("id", "Debrief id", 10),
    Column("status", "Status", 11, codes=DebriefStatus),
    Column("source", "Source", 14, codes=DebriefSource),
    Column("author", "Author", 18),
    Column("deal_id", "Deal id", 9),
    Column("crm_id", "CRM id", 14),
    Column("deal", "Deal", 28),
    Column("account", "Account", 22),
    Column("amount", "Amount", 13),
    Column("currency", "Currency", 9),
    Column("close_date", "Close date", 12),
    Column("outcome", "Outcome", 12, codes=Outcome),
    Column("winner", "Winner", 16, codes=WinnerKind),
    Column("competitors", "Competitors", 24),
    Column("segment", "Segment", 14),
    Column("region", "Region", 12),
    Column("industry", "Industry", 16),
    Column("product_line", "Product line", 16),
    Column("sales_cycle_days", "Sales cycle (days)", 10),
    Column("interviewee_role", "Interviewee role", 18),
    Column("interview_date", "Interview date", 12),
    Column("decision_process", "Decision process", 40),
    Column("competitive_notes", "Competitive notes", 40),
    Column("what_worked", "What worked", 40),
    Column("lessons_learned", "Lessons learned", 40),
    Column("reasons", "Reasons", 8),
    Column("quotes", "Quotes", 8),
    Column("url", "Link", 40, link=True),
)
REASON_COLUMNS = (
    Column("debrief_id", "Debrief id", 10),
    Column("deal", "Deal", 28),
    Column("outcome", "Outcome", 12, codes=Outcome),
    Column("rank", "Rank", 6),
    Column("category", "Category", 26),
    Column("category_group", "Category group", 18),
    Column("direction", "Direction", 10, codes=Direction),
    Column("primary", "Primary", 8),
    Column("competitor", "Competitor", 16),
    Column("explanation", "Explanation", 60),
)
QUOTE_COLUMNS = (
    Column("debrief_id", "Debrief id", 10),
    Column("deal", "Deal", 28),
    Column("outcome", "Outcome", 12, codes=Outcome),
    Column("position", "Position", 8),
    Column("speaker_role", "Speaker role", 18),
    Column("text", "Quote", 80),
)


@dataclass
class Record:
    """A debrief with its reason and quote rows."""

    debrief: Debrief
    reasons: list[dict[str, Any]] = field(default_factory=list)
    quotes: list[dict[str, Any]] = field(default_factory=list)


def _batches(ids: Iterator[int]) -> Iterator[list[int]]:
    while batch := list(islice(ids, BATCH)):
        yield batch


def _debriefs(ids: list[int]) -> dict[int, Debrief]:
    stmt = (
        select(Debrief)
        .where(Debrief.id.in_(ids))
        .options(
            joinedload(Debrief.deal).selectinload(Deal.competitors),
            joinedload(Debrief.deal).joinedload(Deal.winner_competitor),
            joinedload(Debrief.author),
        )
    )
    return {d.id: d for d in db.session.scalars(stmt)}


def _reasons(records: dict[int, Record]) -> None:
    parent = aliased(ReasonCategory)
    stmt = (
        select(
            Reason.debrief_id,
            Reason.rank,
            ReasonCategory.name.label("category"),
            parent.name.label("category_group"),
            Reason.direction,
            Reason.is_primary,
            Competitor.name.label("competitor"),
            Reason.explanation,
        )
        .join(ReasonCategory, Reason.category_id == ReasonCategory.id)
        .outerjoin(parent, ReasonCategory.parent_id == parent.id)
        .outerjoin(Competitor, Reason.competitor_id == Competitor.id)
        .where(Reason.debrief_id.in_(list(records)))
        .order_by(Reason.debrief_id, Reason.rank)
    )
    for r in db.session.execute(stmt):
        record = records[r.debrief_id]
        deal = record.debrief.deal
        record.reasons.append(
            {
                "debrief_id": r.debrief_id,
                "deal": deal.name,
                "outcome": deal.outcome.value,
                "rank": r.rank,
                "category": r.category,
                "category_group": r.category_group or r.category,
                "direction": r.direction.value,
                "primary": r.is_primary,
                "competitor": r.competitor,
                "explanation": r.explanation,
            }
        )


def _quotes(records: dict[int, Record]) -> None:
    stmt = (
        select(Quote.debrief_id, Quote.position, Quote.speaker_role, Quote.text)
        .where(Quote.debrief_id.in_(list(records)))
        .order_by(Quote.debrief_id, Quote.position)
    )
    for q in db.session.execute(stmt):
        record = records[q.debrief_id]
        deal = record.debrief.deal
        record.quotes.append(
            {
                "debrief_id": q.debrief_id,
                "deal": deal.name,
                "outcome": deal.outcome.value,
                "position": q.position,
                "speaker_role": q.speaker_role,
                "text": q.text,
            }
        )


def records(user: User, params: SearchParams) -> Iterator[Record]:
    """Every debrief the search page finds for `params` as `user`, in its order.
    The search runs now, not when the first record is read: a search that fails
    fails before a download has started, not halfway through it."""
    return _records(user, search.all_matches(user, params).ids)


def _records(user: User, matches: Iterator[int]) -> Iterator[Record]:
    for ids in _batches(matches):
        found = _debriefs(ids)
        batch: dict[int, Record] = {}
        for debrief_id in ids:
            debrief = found.get(debrief_id)
            # The index may lag the database by a moment: never export what
            # is gone or what this user may no longer read.
            if debrief is not None and can_view_debrief(user, debrief):
                batch[debrief_id] = Record(debrief)
        if batch:
            _reasons(batch)
            _quotes(batch)
        yield from batch.values()


def _amount(value: Decimal | None) -> float | None:
    return float(value) if value is not None else None


def _winner(deal: Deal) -> str | None:
    if deal.winner_competitor is not None:
        return deal.winner_competitor.name
    return deal.winner_kind.value if deal.winner_kind else None


def debrief_row(record: Record) -> dict[str, Any]:
    d = record.debrief
    deal = d.deal
    return {
        "id": d.id,
        "status": d.status.value,
        "source": d.source.value,
        "author": d.author.display_name,
        "deal_id": deal.id,
        "crm_id": deal.crm_id,
        "deal": deal.name,
        "account": deal.account,
        "amount": _amount(deal.amount),
        "currency": deal.currency,
        "close_date": deal.close_date,
        "outcome": deal.outcome.value,
        "winner": _winner(deal),
        "competitors": ", ".join(c.name for c in deal.competitors),
        "segment": deal.segment,
        "region": deal.region,
        "industry": deal.industry,
        "product_line": deal.product_line,
        "sales_cycle_days": deal.sales_cycle_days,
        "interviewee_role": d.interviewee_role,
        "interview_date": d.interview_date,
        "decision_process": d.decision_process,
        "competitive_notes": d.competitive_notes,
        "what_worked": d.what_worked,
        "lessons_learned": d.lessons_learned,
        "reasons": len(record.reasons),
        "quotes": len(record.quotes),
        "url": debrief_url(d.id),
    }


def debrief_book(user: User, params: SearchParams) -> Book:
    """Debriefs, Reasons and Quotes, filled by one pass over the search."""

    found = records(user, params)

    def items() -> Iterator[tuple[int, dict[str, Any]]]:
        for record in found:
            yield 0, debrief_row(record)
            for reason in record.reasons:
                yield 1, reason
            for quote in record.quotes:
                yield 2, quote

    return Book(
        (("Debriefs", DEBRIEF_COLUMNS), ("Reasons", REASON_COLUMNS), ("Quotes", QUOTE_COLUMNS)),
        items,
    )


def debrief_documents(user: User, params: SearchParams) -> Iterator[dict[str, Any]]:
    """A debrief per item with its reasons and quotes, for JSON."""
    return (
        {**debrief_row(record), "reasons": record.reasons, "quotes": record.quotes}
        for record in records(user, params)
    )
