"""Reason analytics: why we win and why we lose, and win rates.

Reasons are counted on submitted debriefs only: a category's count is the
number of debriefs citing it at least once (helped, for wins; hurt, for
losses), its share that count over all submitted debriefs of that outcome in
the period. Win rates count deals, not debriefs: won / (won + lost) over the
deals that closed in the period and have at least one submitted debrief;
no-decisions are shown beside the rate, not inside it.
"""

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import and_, case, distinct, exists, extract, func, or_, select

from kb.analytics.filters import deal_clauses, debrief_clauses
from kb.analytics.periods import Period, quarter, quarter_of
from kb.extensions import db
from kb.models import (
    Competitor,
    Deal,
    Debrief,
    DebriefStatus,
    Direction,
    Outcome,
    Reason,
    ReasonCategory,
    deal_competitors,
)

DIMENSIONS = {
    "competitor": "Competitor",
    "segment": "Segment",
    "region": "Region",
    "quarter": "Quarter",
}
BREAKDOWNS = ("competitor", "segment")
# The direction a reason must have to explain an outcome.
EXPLAINS = {Outcome.WON: Direction.HELPED, Outcome.LOST: Direction.HURT}
NONE_LABELS = {"competitor": "No competitor", "segment": "No segment", "region": "No region"}


def share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass
class Category:
    id: int
    slug: str
    name: str
    group: str

    @property
    def label(self) -> str:
        return f"{self.group} › {self.name}"


def categories() -> dict[int, Category]:
    """Every second-level category (retired ones too: old debriefs cite them)."""
    parent = ReasonCategory.__table__.alias("parent")
    rows = db.session.execute(
        select(ReasonCategory.id, ReasonCategory.slug, ReasonCategory.name, parent.c.name)
        .join(parent, parent.c.id == ReasonCategory.parent_id)
        .order_by(parent.c.position, ReasonCategory.position)
    )
    return {id_: Category(id_, slug, name, group) for id_, slug, name, group in rows}


@dataclass
class ReasonRow:
    category: Category
    cited: int = 0
    primary: int = 0
    prev_cited: int = 0
    prev_primary: int = 0
    cited_share: float | None = None
    primary_share: float | None = None
    prev_cited_share: float | None = None
    prev_primary_share: float | None = None

    @property
    def change(self) -> float | None:
        """Change of the cited share, in percentage points."""
        if self.cited_share is None or self.prev_cited_share is None:
            return None
        return 100 * (self.cited_share - self.prev_cited_share)

    @property
    def primary_change(self) -> float | None:
        if self.primary_share is None or self.prev_primary_share is None:
            return None
        return 100 * (self.primary_share - self.prev_primary_share)


@dataclass
class ReasonTable:
    outcome: Outcome
    debriefs: int = 0
    prev_debriefs: int = 0
    rows: list[ReasonRow] = field(default_factory=list)

    @property
    def direction(self) -> Direction:
        return EXPLAINS[self.outcome]


def _debrief_scope(filters: Mapping[str, Any]) -> list:
    return [
        Debrief.status == DebriefStatus.SUBMITTED,
        *deal_clauses(filters),
        *debrief_clauses(filters),
    ]


def top_reasons(
    filters: Mapping[str, Any], period: Period, limit: int | None = 12
) -> dict[Outcome, ReasonTable]:
    """The categories cited for wins (helped) and losses (hurt), in `period`
    and the period before it, most cited first."""
    prev = period.previous()
    current = case((Deal.close_date >= period.start, 1), else_=0).label("current")
    scope = [
        *_debrief_scope(filters),
        Deal.close_date.between(prev.start, period.end),
        Deal.outcome.in_(list(EXPLAINS)),
    ]
    tables = {outcome: ReasonTable(outcome) for outcome in EXPLAINS}
    totals = db.session.execute(
        select(Deal.outcome, current, func.count(Debrief.id))
        .select_from(Debrief)
        .join(Deal, Deal.id == Debrief.deal_id)
        .where(*scope)
        .group_by(Deal.outcome, current)
    )
    for outcome, is_current, count in totals:
        table = tables[Outcome(outcome)]
        if is_current:
            table.debriefs = count
        else:
            table.prev_debriefs = count

    explains = or_(*(and_(Deal.outcome == o, Reason.direction == d) for o, d in EXPLAINS.items()))
    primary_debrief = case((Reason.is_primary.is_(True), Reason.debrief_id))
    counts = db.session.execute(
        select(
            Deal.outcome,
            Reason.category_id,
            current,
            func.count(distinct(Reason.debrief_id)),
            func.count(distinct(primary_debrief)),
        )
        .select_from(Reason)
        .join(Debrief, Debrief.id == Reason.debrief_id)
        .join(Deal, Deal.id == Debrief.deal_id)
        .where(*scope, explains)
        .group_by(Deal.outcome, Reason.category_id, current)
    )
    known = categories()
    rows: dict[tuple[Outcome, int], ReasonRow] = {}
    for outcome, category_id, is_current, cited, primary in counts:
        key = (Outcome(outcome), category_id)
        if key not in rows:
            rows[key] = ReasonRow(known[category_id])
        row = rows[key]
        if is_current:
            row.cited, row.primary = cited, primary
        else:
            row.prev_cited, row.prev_primary = cited, primary
    for (outcome, _), row in rows.items():
        table = tables[outcome]
        row.cited_share = share(row.cited, table.debriefs)
        row.primary_share = share(row.primary, table.debriefs)
        row.prev_cited_share = share(row.prev_cited, table.prev_debriefs)
        row.prev_primary_share = share(row.prev_primary, table.prev_debriefs)
        if row.cited or row.prev_cited:
            table.rows.append(row)
    for table in tables.values():
        table.rows.sort(key=lambda r: (-r.cited, -r.prev_cited, r.category.label))
        if limit:
            table.rows = table.rows[:limit]
    return tables


# --- by competitor or segment -----------------------------------------------


@dataclass
class BreakdownRow:
    label: str
    debriefs: int
    cited: dict[int, int]  # category id -> debriefs citing it

    def share(self, category_id: int) -> float | None:
        return share(self.cited.get(category_id, 0), self.debriefs)


@dataclass
class Breakdown:
    dimension: str
    outcome: Outcome
    columns: list[Category]
    rows: list[BreakdownRow]


def _dimension_column(dimension: str):
    if dimension == "competitor":
        return Competitor.name
    return getattr(Deal, dimension)


def _with_dimension(stmt, dimension: str):
    if dimension == "competitor":
        stmt = stmt.outerjoin(deal_competitors, deal_competitors.c.deal_id == Deal.id).outerjoin(
            Competitor, Competitor.id == deal_competitors.c.competitor_id
        )
    return stmt


def reasons_by(
    dimension: str,
    filters: Mapping[str, Any],
    period: Period,
    tables: dict[Outcome, ReasonTable],
    columns: int = 6,
) -> list[Breakdown]:
    """For each outcome, the shares of its top categories per competitor (a
    deal against two competitors counts for both) or per segment."""
    column = _dimension_column(dimension)
    scope = [
        *_debrief_scope(filters),
        Deal.close_date.between(period.start, period.end),
        Deal.outcome.in_(list(EXPLAINS)),
    ]
    totals: dict[tuple[Outcome, str | None], int] = {}
    stmt = select(Deal.outcome, column, func.count(distinct(Debrief.id))).select_from(Debrief)
    stmt = _with_dimension(stmt.join(Deal, Deal.id == Debrief.deal_id), dimension)
    for outcome, value, count in db.session.execute(
        stmt.where(*scope).group_by(Deal.outcome, column)
    ):
        totals[(Outcome(outcome), value)] = count

    wanted = {o: [r.category.id for r in t.rows[:columns]] for o, t in tables.items()}
    cited: dict[tuple[Outcome, str | None], dict[int, int]] = defaultdict(dict)
    if any(wanted.values()):
        explains = or_(
            *(
                and_(
                    Deal.outcome == o,
                    Reason.direction == EXPLAINS[o],
                    Reason.category_id.in_(ids),
                )
                for o, ids in wanted.items()
                if ids
            )
        )
        stmt = (
            select(Deal.outcome, column, Reason.category_id, func.count(distinct(Debrief.id)))
            .select_from(Reason)
            .join(Debrief, Debrief.id == Reason.debrief_id)
            .join(Deal, Deal.id == Debrief.deal_id)
        )
        stmt = _with_dimension(stmt, dimension).where(*scope, explains)
        for outcome, value, category_id, count in db.session.execute(
            stmt.group_by(Deal.outcome, column, Reason.category_id)
        ):
            cited[(Outcome(outcome), value)][category_id] = count

    out = []
    for outcome, table in tables.items():
        rows = [
            BreakdownRow(value or NONE_LABELS[dimension], count, cited.get((o, value), {}))
            for (o, value), count in totals.items()
            if o == outcome
        ]
        rows.sort(key=lambda r: (-r.debriefs, r.label))
        out.append(Breakdown(dimension, outcome, [r.category for r in table.rows[:columns]], rows))
    return out


# --- win rates ----------------------------------------------------------------


@dataclass
class WinRate:
    key: str
    label: str
    won: int = 0
    lost: int = 0
    no_decision: int = 0

    @property
    def decided(self) -> int:
        return self.won + self.lost

    @property
    def deals(self) -> int:
        return self.won + self.lost + self.no_decision

    @property
    def rate(self) -> float | None:
        return share(self.won, self.decided)

    @property
    def no_decision_share(self) -> float | None:
        return share(self.no_decision, self.deals)

    def add(self, outcome: str, count: int) -> None:
        setattr(self, Outcome(outcome).value, getattr(self, Outcome(outcome).value) + count)


def debriefed_deal(filters: Mapping[str, Any]):
    """A deal (of the enclosing query) with a submitted debrief matching the
    debrief-level filters."""
    return exists().where(
        Debrief.deal_id == Deal.id,
        Debrief.status == DebriefStatus.SUBMITTED,
        *debrief_clauses(filters),
    )


def first_close(filters: Mapping[str, Any]) -> date | None:
    """The close date of the first debriefed deal matching `filters`: where an
    "all time" trend starts."""
    stmt = select(func.min(Deal.close_date)).where(debriefed_deal(filters), *deal_clauses(filters))
    return db.session.scalar(stmt)


def win_rates(dimension: str, filters: Mapping[str, Any], period: Period) -> list[WinRate]:
    """Deals won, lost and undecided per competitor, segment, region or
    quarter, over the debriefed deals closed in `period`."""
    scope = [
        debriefed_deal(filters),
        *deal_clauses(filters),
        Deal.close_date.between(period.start, period.end),
    ]
    if dimension == "quarter":
        return _win_rates_by_quarter(scope, period)
    column = _dimension_column(dimension)
    stmt = _with_dimension(
        select(column, Deal.outcome, func.count(distinct(Deal.id))).select_from(Deal), dimension
    )
    rates: dict[str | None, WinRate] = {}
    for value, outcome, count in db.session.execute(
        stmt.where(*scope).group_by(column, Deal.outcome)
    ):
        if value not in rates:
            rates[value] = WinRate(value or "", value or NONE_LABELS[dimension])
        rates[value].add(outcome, count)
    return sorted(rates.values(), key=lambda r: (r.key == "", -r.deals, r.label))


def _win_rates_by_quarter(scope: list, period: Period) -> list[WinRate]:
    year, month = extract("year", Deal.close_date), extract("month", Deal.close_date)
    rates: dict[str, WinRate] = {}
    day = period.start
    while day <= period.end:
        q = quarter(day.year, quarter_of(day))
        rates[q.label] = WinRate(q.label, q.label)
        day = date.fromordinal(q.end.toordinal() + 1)
    stmt = (
        select(year, month, Deal.outcome, func.count(Deal.id))
        .where(*scope)
        .group_by(year, month, Deal.outcome)
    )
    for y, m, outcome, count in db.session.execute(stmt):
        key = f"{int(y)}-Q{(int(m) - 1) // 3 + 1}"
        rates.setdefault(key, WinRate(key, key)).add(outcome, count)
    return [rates[key] for key in sorted(rates)]


def overall(filters: Mapping[str, Any], period: Period) -> WinRate:
    total = WinRate("", "All deals")
    for outcome, count in db.session.execute(
        select(Deal.outcome, func.count(Deal.id))
        .where(
            debriefed_deal(filters),
            *deal_clauses(filters),
            Deal.close_date.between(period.start, period.end),
        )
        .group_by(Deal.outcome)
    ):
        total.add(outcome, count)
    return total
