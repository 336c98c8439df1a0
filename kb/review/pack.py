"""What the monthly review pack shows, as plain data.

Every figure comes from the module that owns it: coverage from
kb.deals.coverage, win rates from kb.analytics.reasons, theme mentions from
kb.themes.figures, featured practices from kb.practices.queries (presented
for the viewer, so anonymous authors stay anonymous).
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from kb.analytics.periods import Period
from kb.analytics.reasons import WinRate, debriefed_deal, overall
from kb.deals import coverage
from kb.extensions import db
from kb.models import Deal, Debrief, DebriefSource, DebriefStatus, Outcome, Role, Theme, User
from kb.permissions import can_view_debrief
from kb.practices.presenters import PracticeView
from kb.practices.queries import FEATURED_LIMIT, PlaybookParams, find_practices
from kb.themes import engine, figures
from kb.themes.facts import deal_facts

READERS = (Role.MANAGER, Role.MARKETING, Role.ADMIN)
TOP_THEMES = 5
NOTABLE = 3


def can_read(user: User) -> bool:
    return user.role in READERS


@dataclass(frozen=True)
class Month:
    key: str  # "2026-03"
    label: str  # "March 2026"
    start: date
    end: date  # the month's last day

    @property
    def period(self) -> Period:
        return Period(self.start, self.end, self.label)

    def previous(self) -> "Month":
        return month_of(self.start - timedelta(days=1))


def month_of(day: date) -> Month:
    found = coverage.period_of(day, "month")
    start = found.start
    return Month(found.key, start.strftime("%B %Y"), start, found.end - timedelta(days=1))


def default_month(today: date) -> Month:
    """The last complete month."""
    return month_of(today.replace(day=1) - timedelta(days=1))


def parse_month(text: str) -> Month | None:
    """ "2026-03" as a month; None for anything else (quarters included)."""
    found = coverage.parse_period(text.strip())
    if found is None or "Q" in found.key:
        return None
    return month_of(found.start)


@dataclass
class ThemeMove:
    theme_id: int
    name: str
    polarity: str
    now: int
    before: int

    @property
    def change(self) -> int:
        return self.now - self.before


@dataclass
class Notable:
    deal_id: int
    name: str
    account: str
    outcome: Outcome
    amount: Decimal | None
    currency: str
    close_date: date
    debrief_id: int | None  # None when the viewer may not open it


@dataclass
class Pack:
    month: Month
    previous: Month
    coverage: coverage.Coverage
    coverage_scope: str
    win_rate: WinRate
    prev_win_rate: WinRate
    coverage_team_wide: bool  # a manager's team; everything else is company-wide
    themes: list[ThemeMove] | None  # None while the search index is being built
    # Per currency: amounts in different currencies are never ranked together.
    won: dict[str, list[Notable]] = field(default_factory=dict)
    lost: dict[str, list[Notable]] = field(default_factory=dict)
    practices: list[PracticeView] = field(default_factory=list)

    @property
    def win_rate_change(self) -> float | None:
        """Change of the win rate, in percentage points."""
        if self.win_rate.rate is None or self.prev_win_rate.rate is None:
            return None
        return 100 * (self.win_rate.rate - self.prev_win_rate.rate)


def coverage_scope(user: User) -> tuple[coverage.Scope, str, bool]:
    """A manager's team, or everyone for admins and marketing (a total only:
    nothing here names a rep); and whether it is a team's."""
    scope = coverage.scope_for(user)
    if scope is not None and scope.team_id is not None:
        return scope, "Your team's closed deals", True
    return coverage.Scope(), "All closed deals", False


def theme_moves(month: Month, today: date) -> list[ThemeMove] | None:
    """Themes by how many more debriefs mentioned them this month than the
    month before; those mentioned in neither are left out."""
    snap = engine.snapshot()
    if snap is None:
        return None
    facts = deal_facts()
    prev = month.previous()
    moves = []
    for theme in db.session.scalars(select(Theme).order_by(Theme.name)):
        now = figures.overview(snap, facts, theme, month.period, today).now
        before = figures.overview(snap, facts, theme, prev.period, today).now
        if now or before:
            moves.append(ThemeMove(theme.id, theme.name, theme.polarity.value, now, before))
    moves.sort(key=lambda m: (-m.change, -m.now, m.name.lower()))
    return moves[:TOP_THEMES]


def _debrief_for(deal: Deal, viewer: User) -> int | None:
    submitted = [d for d in deal.debriefs if d.status == DebriefStatus.SUBMITTED]
    submitted.sort(key=lambda d: (d.source != DebriefSource.REP, d.id))
    readable = [d for d in submitted if can_view_debrief(viewer, d)]
    return readable[0].id if readable else None


def notable(
    month: Month, outcome: Outcome, viewer: User, limit: int = NOTABLE
) -> dict[str, list[Notable]]:
    """The largest deals of `outcome` closed in the month that have a
    submitted debrief, ranked within each currency (the currency with the
    most such deals first)."""
    in_month = (
        debriefed_deal({}),
        Deal.outcome == outcome,
        Deal.close_date.between(month.start, month.end),
    )
    ranked = (
        select(
            Deal.id,
            func.row_number()
            .over(partition_by=Deal.currency, order_by=(Deal.amount.desc().nulls_last(), Deal.id))
            .label("rank"),
        )
        .where(*in_month)
        .subquery()
    )
    counts = dict(
        db.session.execute(
            select(Deal.currency, func.count()).where(*in_month).group_by(Deal.currency)
        ).all()
    )
    deals = db.session.scalars(
        select(Deal)
        .join(ranked, ranked.c.id == Deal.id)
        .where(ranked.c.rank <= limit)
        .options(selectinload(Deal.debriefs).selectinload(Debrief.author))
        .order_by(Deal.currency, ranked.c.rank)
    )
    groups: dict[str, list[Notable]] = {}
    for d in deals:
        groups.setdefault(d.currency, []).append(
            Notable(
                d.id,
                d.name,
                d.account,
                d.outcome,
                d.amount,
                d.currency,
                d.close_date,
                _debrief_for(d, viewer),
            )
        )
    return dict(sorted(groups.items(), key=lambda item: (-counts[item[0]], item[0])))


def featured_practices(viewer: User) -> list[PracticeView]:
    """Featured published practices, newest first, as `viewer` may see them."""
    page = find_practices(viewer, PlaybookParams(per_page=FEATURED_LIMIT))
    return [p for p in page.items if p.featured]


def build(viewer: User, month: Month, today: date) -> Pack:
    prev = month.previous()
    scope, scope_label, team_wide = coverage_scope(viewer)
    return Pack(
        month=month,
        previous=prev,
        coverage=coverage.total(scope, today, month.start, month.end + timedelta(days=1)),
        coverage_scope=scope_label,
        coverage_team_wide=team_wide,
        win_rate=overall({}, month.period),
        prev_win_rate=overall({}, prev.period),
        themes=theme_moves(month, today),
        won=notable(month, Outcome.WON, viewer),
        lost=notable(month, Outcome.LOST, viewer),
        practices=featured_practices(viewer),
    )
