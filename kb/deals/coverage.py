"""Debrief coverage: which closed deals have a rep debrief, by rep, team and period.

A closed deal is one whose close date has come (today included); it is
covered when at least one rep debrief of it has been submitted. Each figure
is one SQL aggregate over the deals in scope and comes back as plain data.
Nothing here counts wins or losses per rep: coverage is about the habit of
debriefing, never about whose deals were lost.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import ColumnElement, Integer, case, cast, exists, extract, func, select
from sqlalchemy.orm import selectinload

from kb.extensions import db
from kb.models import Deal, Debrief, DebriefSource, DebriefStatus, Role, Team, User

GRANULARITIES = ("month", "quarter")
RECENT = {"month": 12, "quarter": 8}  # periods shown in the trend


@dataclass(frozen=True)
class Scope:
    """Whose deals count: one team's (a manager's) or everyone's (an admin's,
    deals nobody owns included)."""

    team_id: int | None = None


def scope_for(user: User) -> Scope | None:
    if user.role == Role.ADMIN:
        return Scope()
    if user.role == Role.MANAGER and user.team_id is not None:
        return Scope(team_id=user.team_id)
    return None


@dataclass(frozen=True)
class Period:
    key: str  # "2026-03" or "2026-Q1"
    label: str
    start: date
    end: date  # the day after the period


def _month(year: int, month: int) -> Period:
    start = date(year, month, 1)
    end = date(year + month // 12, month % 12 + 1, 1)
    return Period(f"{year}-{month:02d}", start.strftime("%b %Y"), start, end)


def _quarter(year: int, quarter: int) -> Period:
    start = date(year, 3 * quarter - 2, 1)
    end = date(year + quarter // 4, (3 * quarter) % 12 + 1, 1)
    return Period(f"{year}-Q{quarter}", f"Q{quarter} {year}", start, end)


def period_of(day: date, granularity: str) -> Period:
    if granularity == "quarter":
        return _quarter(day.year, (day.month - 1) // 3 + 1)
    return _month(day.year, day.month)


def parse_period(key: str) -> Period | None:
    """A period from its key, "2026-03" or "2026-Q1"; None for anything else."""
    year, _, rest = key.partition("-")
    if not (year.isdecimal() and len(year) == 4 and 2000 <= int(year) <= 2100):
        return None
    if rest[:1] == "Q" and rest[1:] in ("1", "2", "3", "4"):
        return _quarter(int(year), int(rest[1:]))
    if rest.isdecimal() and 1 <= int(rest) <= 12 and len(rest) == 2:
        return _month(int(year), int(rest))
    return None


def recent_periods(granularity: str, today: date, count: int | None = None) -> list[Period]:
    """The last `count` periods, oldest first, ending with today's."""
    periods = [period_of(today, granularity)]
    for _ in range((count or RECENT[granularity]) - 1):
        periods.insert(0, period_of(periods[0].start - timedelta(days=1), granularity))
    return periods


@dataclass
class Coverage:
    key: object  # a user id, a team id, a period key; None for "nobody" or the total
    label: str
    closed: int
    debriefed: int

    @property
    def percent(self) -> int | None:
        return round(100 * self.debriefed / self.closed) if self.closed else None

    @property
    def waiting(self) -> int:
        return self.closed - self.debriefed


def has_rep_debrief() -> ColumnElement[bool]:
    """A deal (in the enclosing query) with a submitted rep debrief."""
    return exists().where(
        Debrief.deal_id == Deal.id,
        Debrief.source == DebriefSource.REP,
        Debrief.status == DebriefStatus.SUBMITTED,
    )


def _in_scope(scope: Scope) -> list[ColumnElement[bool]]:
    if scope.team_id is None:
        return []
    return [Deal.owner_id.in_(select(User.id).where(User.team_id == scope.team_id))]


def closed_deals(
    scope: Scope, today: date, start: date | None = None, end: date | None = None
) -> list[ColumnElement[bool]]:
    """WHERE clauses for the closed deals in scope, closing in [start, end)."""
    clauses = [Deal.close_date <= today, *_in_scope(scope)]
    if start is not None:
        clauses.append(Deal.close_date >= start)
    if end is not None:
        clauses.append(Deal.close_date < end)
    return clauses


def _counts():
    return (
        func.count(Deal.id),
        func.coalesce(func.sum(case((has_rep_debrief(), 1), else_=0)), 0),
    )


def total(scope: Scope, today: date, start: date | None = None, end: date | None = None):
    closed, debriefed = db.session.execute(
        select(*_counts()).where(*closed_deals(scope, today, start, end))
    ).one()
    return Coverage(None, "All closed deals", closed, int(debriefed))


def by_rep(scope: Scope, today: date, start=None, end=None) -> list[Coverage]:
    """Per deal owner, sorted by name (deals nobody owns last)."""
    rows = db.session.execute(
        select(Deal.owner_id, User.name, *_counts())
        .outerjoin(User, Deal.owner_id == User.id)
        .where(*closed_deals(scope, today, start, end))
        .group_by(Deal.owner_id, User.name)
    ).all()
    result = [Coverage(r[0], r[1] or "No owner", r[2], int(r[3])) for r in rows]
    return sorted(result, key=lambda c: (c.key is None, c.label.lower(), c.key or 0))


def by_team(scope: Scope, today: date, start=None, end=None) -> list[Coverage]:
    """Per team of the deal's owner, sorted by name (no team last)."""
    rows = db.session.execute(
        select(Team.id, Team.name, *_counts())
        .select_from(Deal)
        .outerjoin(User, Deal.owner_id == User.id)
        .outerjoin(Team, User.team_id == Team.id)
        .where(*closed_deals(scope, today, start, end))
        .group_by(Team.id, Team.name)
    ).all()
    result = [Coverage(r[0], r[1] or "No team", r[2], int(r[3])) for r in rows]
    return sorted(result, key=lambda c: (c.key is None, c.label.lower()))


def by_period(scope: Scope, today: date, periods: list[Period], granularity: str) -> list[Coverage]:
    """One entry per period in `periods` (consecutive, oldest first), empty ones included."""
    year = cast(extract("year", Deal.close_date), Integer)
    month = cast(extract("month", Deal.close_date), Integer)
    part = (month + 2) // 3 if granularity == "quarter" else month
    rows = db.session.execute(
        select(year, part, *_counts())
        .where(*closed_deals(scope, today, periods[0].start, periods[-1].end))
        .group_by(year, part)
    ).all()
    found = {
        (_quarter if granularity == "quarter" else _month)(y, p).key: (closed, int(debriefed))
        for y, p, closed, debriefed in rows
    }
    return [Coverage(p.key, p.label, *found.get(p.key, (0, 0))) for p in periods]


@dataclass
class Waiting:
    """A closed deal without a submitted rep debrief."""

    deal: Deal
    days_since_close: int
    overdue: bool
    draft_id: int | None = None


def overdue_after(today: date, days: int) -> date:
    """Deals that closed before this day are overdue for their debrief."""
    return today - timedelta(days=days)


def overdue(scope: Scope, today: date, days: int, limit: int = 100) -> tuple[int, list[Waiting]]:
    """(how many, the oldest `limit`) closed deals in scope whose debrief is overdue."""
    clauses = [*closed_deals(scope, today), Deal.close_date < overdue_after(today, days)]
    clauses.append(~has_rep_debrief())
    count = db.session.scalar(select(func.count(Deal.id)).where(*clauses)) or 0
    deals = db.session.scalars(
        select(Deal)
        .where(*clauses)
        .options(selectinload(Deal.owner))
        .order_by(Deal.close_date, Deal.id)
        .limit(limit)
    )
    return count, [Waiting(d, (today - d.close_date).days, True) for d in deals]


def todos_for(user: User, today: date, days: int, limit: int = 50) -> tuple[int, list[Waiting]]:
    """(how many, the oldest `limit`) closed deals `user` owns that wait for
    their rep debrief, with the user's draft of it when there is one."""
    draft = (
        select(func.min(Debrief.id))
        .where(
            Debrief.deal_id == Deal.id,
            Debrief.source == DebriefSource.REP,
            Debrief.status == DebriefStatus.DRAFT,
            Debrief.author_id == user.id,
        )
        .correlate(Deal)
        .scalar_subquery()
    )
    clauses = [Deal.owner_id == user.id, Deal.close_date <= today, ~has_rep_debrief()]
    count = db.session.scalar(select(func.count(Deal.id)).where(*clauses)) or 0
    rows = db.session.execute(
        select(Deal, draft).where(*clauses).order_by(Deal.close_date, Deal.id).limit(limit)
    ).all()
    due = overdue_after(today, days)
    return count, [
        Waiting(deal, (today - deal.close_date).days, deal.close_date < due, draft_id)
        for deal, draft_id in rows
    ]
