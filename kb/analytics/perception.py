"""The perception gap: does the rep's primary reason match the buyer's?

For every deal with both a submitted rep debrief and a submitted buyer
interview, the primary reason of each is compared: the newest submitted
debrief of each source stands for it when there are several. Agreement is
measured on the reason category and, more leniently, on its group.

One query reads the primary reason of every submitted debrief on the deals
in scope that have a buyer interview (a few rows per deal); pairing them up
and counting is done here, which is far cheaper than asking the database to
rank and self-join debriefs per deal.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, exists, select
from sqlalchemy.orm import aliased, selectinload

from kb.analytics.filters import deal_clauses
from kb.analytics.periods import Period
from kb.analytics.reasons import Category, categories, share
from kb.extensions import db
from kb.models import Deal, Debrief, DebriefSource, DebriefStatus, Reason, ReasonCategory


@dataclass
class Pair:
    """A deal's newest submitted rep debrief and buyer interview, with the
    category of each one's primary reason."""

    deal_id: int
    close_date: date
    rep_debrief_id: int
    buyer_debrief_id: int
    rep_category: Category
    buyer_category: Category
    rep_group: int
    buyer_group: int

    @property
    def same_category(self) -> bool:
        return self.rep_category.id == self.buyer_category.id

    @property
    def same_group(self) -> bool:
        return self.rep_group == self.buyer_group


def pairs(filters: Mapping[str, Any], period: Period) -> list[Pair]:
    """Every compared deal in scope, newest close first."""
    interview = aliased(Debrief)
    has_interview = exists().where(
        interview.deal_id == Deal.id,
        interview.source == DebriefSource.BUYER,
        interview.status == DebriefStatus.SUBMITTED,
    )
    rows = db.session.execute(
        select(
            Debrief.deal_id,
            Deal.close_date,
            Debrief.id,
            Debrief.source,
            Debrief.submitted_at,
            Reason.category_id,
        )
        .select_from(Debrief)
        .join(Deal, Deal.id == Debrief.deal_id)
        .join(Reason, and_(Reason.debrief_id == Debrief.id, Reason.is_primary.is_(True)))
        .where(
            Debrief.status == DebriefStatus.SUBMITTED,
            Deal.close_date.between(period.start, period.end),
            has_interview,
            *deal_clauses(filters),
        )
    )
    newest: dict[tuple[int, str], tuple] = {}
    closed: dict[int, date] = {}
    oldest = datetime.min
    for deal_id, close_date, debrief_id, source, submitted_at, category_id in rows:
        key = (deal_id, DebriefSource(source).value)
        rank = (submitted_at or oldest, debrief_id)
        if key not in newest or rank > newest[key][0]:
            newest[key] = (rank, debrief_id, category_id)
        closed[deal_id] = close_date
    known = categories()
    groups = _group_ids()
    out = []
    for deal_id, close_date in closed.items():
        rep, buyer = newest.get((deal_id, "rep")), newest.get((deal_id, "buyer"))
        if rep is None or buyer is None:
            continue
        out.append(
            Pair(
                deal_id,
                close_date,
                rep[1],
                buyer[1],
                known[rep[2]],
                known[buyer[2]],
                groups[rep[2]],
                groups[buyer[2]],
            )
        )
    out.sort(key=lambda p: (p.close_date, p.deal_id), reverse=True)
    return out


def _group_ids() -> dict[int, int]:
    """Category id -> its group's id."""
    return dict(
        db.session.execute(
            select(ReasonCategory.id, ReasonCategory.parent_id).where(
                ReasonCategory.parent_id.is_not(None)
            )
        ).all()
    )


def _groups() -> list[Category]:
    rows = db.session.execute(
        select(ReasonCategory.id, ReasonCategory.slug, ReasonCategory.name)
        .where(ReasonCategory.parent_id.is_(None))
        .order_by(ReasonCategory.position, ReasonCategory.id)
    )
    return [Category(id_, slug, name, name) for id_, slug, name in rows]


@dataclass
class Gap:
    deals: int = 0
    category_agree: int = 0
    group_agree: int = 0
    groups: list[Category] = field(default_factory=list)  # matrix axes, taxonomy order
    matrix: dict[tuple[int, int], int] = field(default_factory=dict)  # (rep, buyer) group ids
    row_totals: dict[int, int] = field(default_factory=dict)
    column_totals: dict[int, int] = field(default_factory=dict)

    @property
    def category_share(self) -> float | None:
        return share(self.category_agree, self.deals)

    @property
    def group_share(self) -> float | None:
        return share(self.group_agree, self.deals)


def perception_gap(
    filters: Mapping[str, Any], period: Period, compared: list[Pair] | None = None
) -> Gap:
    gap = Gap(groups=_groups())
    for pair in pairs(filters, period) if compared is None else compared:
        gap.deals += 1
        gap.category_agree += pair.same_category
        gap.group_agree += pair.same_group
        cell = (pair.rep_group, pair.buyer_group)
        gap.matrix[cell] = gap.matrix.get(cell, 0) + 1
        gap.row_totals[pair.rep_group] = gap.row_totals.get(pair.rep_group, 0) + 1
        gap.column_totals[pair.buyer_group] = gap.column_totals.get(pair.buyer_group, 0) + 1
    return gap


@dataclass
class Disagreement:
    deal: Deal
    rep_debrief_id: int
    buyer_debrief_id: int
    rep_category: Category
    buyer_category: Category

    @property
    def same_group(self) -> bool:
        return self.rep_category.group == self.buyer_category.group


def disagreements(
    filters: Mapping[str, Any],
    period: Period,
    level: str = "category",
    rep_group: int | None = None,
    buyer_group: int | None = None,
    page: int = 1,
    per_page: int = 25,
    compared: list[Pair] | None = None,
) -> tuple[list[Disagreement], int]:
    """Deals whose rep and buyer primary reasons differ (in category, or in
    group when `level` is "group"), newest close first; with the total."""
    found = [
        p
        for p in (pairs(filters, period) if compared is None else compared)
        if not (p.same_group if level == "group" else p.same_category)
        and rep_group in (None, p.rep_group)
        and buyer_group in (None, p.buyer_group)
    ]
    start = (max(page, 1) - 1) * per_page
    shown = found[start : start + per_page]
    deals = {
        d.id: d
        for d in db.session.scalars(
            select(Deal)
            .where(Deal.id.in_([p.deal_id for p in shown]))
            .options(selectinload(Deal.competitors))
        )
    }
    items = [
        Disagreement(
            deals[p.deal_id], p.rep_debrief_id, p.buyer_debrief_id, p.rep_category, p.buyer_category
        )
        for p in shown
    ]
    return items, len(found)
