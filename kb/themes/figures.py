"""A theme's figures: how often it is mentioned, by whom and when, and what
it is worth. Which debriefs mention a theme is what the search engine finds
for its query and filters (engine.Snapshot.match); everything here counts
submitted debriefs, and win rates and revenue count deals.

Mentions per period, outcome, competitor and segment are intersections of
the index's document sets; deal-level figures read the deals of the matched
debriefs from facts.DealFacts. Results are cached on the index state and
the outbox position (cache.cached).
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

from whoosh import query as whoosh_query

from kb import search
from kb.analytics import stats
from kb.analytics.cache import cached
from kb.analytics.periods import Period, quarter_of, recent_quarters
from kb.analytics.reasons import WinRate, share
from kb.models import Theme
from kb.search.query import OUTCOMES as OUTCOME_WORDS
from kb.search.query import SPECIAL_WINNERS, parse_syntax, sanitize
from kb.themes.engine import Match, Snapshot
from kb.themes.facts import DealFacts

OUTCOMES = ("won", "lost", "no_decision")
TREND_QUARTERS = 8
TREND_MONTHS = 12
MAX_QUARTERS = 40  # ten years
MAX_MONTHS = 60


def definition(theme: Theme) -> tuple:
    """What a theme's figures depend on, as a hashable cache key."""
    return (theme.query or "", json.dumps(theme.filters or {}, sort_keys=True))


# What a theme of one outcome counts, in plain words: its win rate when
# mentioned would be fixed by its own filters (100 % of won deals are won).
ONLY_OUTCOME = {
    "won": "won deals only",
    "lost": "lost deals only",
    "no_decision": "deals that ended with no decision only",
}
ONLY_WINNER = {
    "us": "deals we won only",
    "no_decision": "deals that ended with no decision only",
    "in_house": "deals the buyer built in-house only",
}


def _one(value: Any) -> str | None:
    """A filter's single value; None for none or several (any of)."""
    if isinstance(value, list):
        value = value[0] if len(value) == 1 else None
    return value if isinstance(value, str) and value else None


def query_fixes(text: str | None) -> dict[str, str]:
    """The outcome and who won that a query requires of every debrief it
    finds ("outcome:won pricing"), as filter values: only a field term that
    is one of the query's top-level conditions (never one inside OR or NOT)."""
    return dict(_query_fixes(text or ""))


# Asked for every theme of every overview: worked out once per query text.
@lru_cache(maxsize=1024)
def _query_fixes(text: str) -> tuple[tuple[str, str], ...]:
    clean, _ = sanitize(text) if text else ("", [])
    if not clean:
        return ()
    try:
        node = parse_syntax(clean)
    except Exception:  # the search falls back to plain words: nothing is fixed
        return ()
    conditions = node.subqueries if isinstance(node, whoosh_query.And) else [node]
    fixed: dict[str, str] = {}
    for condition in conditions:
        if not isinstance(condition, whoosh_query.Term):
            continue
        key = condition.text.strip().lower().replace(" ", "_").replace("-", "_")
        if condition.fieldname == "outcome" and key in OUTCOME_WORDS:
            fixed.setdefault("outcome", OUTCOME_WORDS[key])
        elif condition.fieldname == "winner" and key:
            fixed.setdefault("winner", SPECIAL_WINNERS.get(key, condition.text))
    return tuple(fixed.items())


def fixed_outcome(filters: Mapping[str, Any] | None, query: str | None = None) -> str | None:
    """Why a theme's win rate when mentioned says nothing, or None: its own
    filters, or conditions its query requires, fix the outcome (an outcome,
    or who won: we did, or we did not). Mentions, growth and revenue still
    mean something; the rate does not."""
    if query:
        filters = {**query_fixes(query), **{k: v for k, v in (filters or {}).items() if v}}
    filters = filters or {}
    outcome = _one(filters.get("outcome"))
    if outcome in ONLY_OUTCOME:
        return f"this theme counts {ONLY_OUTCOME[outcome]}"
    winner = _one(filters.get("winner"))
    if winner is None:
        return None
    if winner in ONLY_WINNER:
        return f"this theme counts {ONLY_WINNER[winner]}"
    return f"this theme counts deals {winner} won only"


def rate_withheld(theme: Theme) -> str | None:
    """Why the theme's win rate when mentioned is not shown, or None; a
    competitor its query requires as the winner is named as it is spelt."""
    query = query_fixes(theme.query)
    if query.get("winner") not in (None, *SPECIAL_WINNERS.values()):
        query["winner"] = search.vocabulary().label("winner", query["winner"])
    return fixed_outcome({**query, **{k: v for k, v in (theme.filters or {}).items() if v}})


def theme_match(snap: Snapshot, query: str, filters_json: str) -> Match:
    key = ("match", snap.state, query, filters_json)
    filters = json.loads(filters_json)
    return cached(key, lambda: snap.match(query, filters))


def match_theme(snap: Snapshot, theme: Theme) -> Match:
    return theme_match(snap, *definition(theme))


def period_bits(snap: Snapshot, period: Period) -> int:
    def compute() -> int:
        bits = snap.range_bits("close_date", period.start.toordinal(), period.end.toordinal())
        return bits & snap.population

    return cached(("period", snap.state, period.start, period.end), compute)


@dataclass
class Revenue:
    """Amounts of the deals concerned, per currency (never converted)."""

    won: dict[str, float] = field(default_factory=dict)
    lost: dict[str, float] = field(default_factory=dict)

    def add(self, outcome: str, currency: str, amount: float | None) -> None:
        if amount is None or outcome not in ("won", "lost"):
            return
        bucket = self.won if outcome == "won" else self.lost
        bucket[currency] = bucket.get(currency, 0.0) + amount

    def total(self, currency: str) -> float:
        return self.won.get(currency, 0.0) + self.lost.get(currency, 0.0)

    @property
    def currencies(self) -> list[str]:
        return sorted(set(self.won) | set(self.lost))


def deal_figures(snap: Snapshot, facts: DealFacts, bits: int) -> tuple[WinRate, Revenue]:
    """Deals (not debriefs) of the documents in `bits`, by outcome, and their amounts."""
    rate, revenue = WinRate("", ""), Revenue()
    deal_ids = set(facts.deals(snap.debriefs_of(bits)))
    for fact in facts.of(deal_ids).values():
        rate.add(fact.outcome, 1)
        revenue.add(fact.outcome, fact.currency, fact.amount)
    return rate, revenue


def baseline(snap: Snapshot, facts: DealFacts, period: Period) -> WinRate:
    """Every debriefed deal of the period: the rate a theme is compared with."""
    key = ("baseline", snap.state, facts.version, period.start, period.end)
    return cached(key, lambda: deal_figures(snap, facts, period_bits(snap, period))[0])


def quarter_bits(snap: Snapshot) -> dict[str, int]:
    return {value.upper(): bits for value, bits in snap.values("quarter").items()}


# --- the overview ---------------------------------------------------------------


@dataclass
class Overview:
    theme_id: int
    quarters: list[str]
    spark: list[int]
    now: int
    before: int
    now_share: float | None
    before_share: float | None
    mentioned: WinRate
    revenue: Revenue
    warnings: list[str]

    @property
    def growth(self) -> float | None:
        """Relative change of the share of debriefs mentioning it; None when
        it was not mentioned before (see `new`)."""
        if not self.before_share or self.now_share is None:
            return None
        return self.now_share / self.before_share - 1

    @property
    def is_new(self) -> bool:
        return self.before == 0 and self.now > 0

    @property
    def growth_as_counts(self) -> bool:
        """Too few mentions for a percentage to mean much: 1 → 6 is not +500 %."""
        return stats.small_counts(self.before, self.now)

    def growth_key(self) -> float:
        if self.is_new:
            return float("inf")
        return self.growth if self.growth is not None else float("-inf")


def overview(
    snap: Snapshot, facts: DealFacts, theme: Theme, period: Period, today: date
) -> Overview:
    key = ("overview", snap.state, facts.version, theme.id, definition(theme), period, today)

    def compute() -> Overview:
        found = match_theme(snap, theme)
        # The trend ends with the chosen period, as the theme's own charts do.
        quarters = recent_quarters(min(period.end, today), TREND_QUARTERS)
        by_quarter = quarter_bits(snap)
        spark = [(found.bits & by_quarter.get(q.label, 0)).bit_count() for q in quarters]
        now_bits, before_bits = period_bits(snap, period), period_bits(snap, period.previous())
        now = (found.bits & now_bits).bit_count()
        before = (found.bits & before_bits).bit_count()
        mentioned, revenue = deal_figures(snap, facts, found.bits & now_bits)
        return Overview(
            theme.id,
            [q.label for q in quarters],
            spark,
            now,
            before,
            share(now, now_bits.bit_count()),
            share(before, before_bits.bit_count()),
            mentioned,
            revenue,
            found.warnings,
        )

    return cached(key, compute)


# --- a theme's page -------------------------------------------------------------


@dataclass
class Split:
    """The theme among one competitor's or segment's debriefs."""

    label: str
    mentions: int
    debriefs: int
    mentioned: WinRate

    @property
    def share(self) -> float | None:
        return share(self.mentions, self.debriefs)


@dataclass
class TrendPoint:
    label: str
    by_outcome: dict[str, int]
    debriefs: int

    @property
    def mentions(self) -> int:
        return sum(self.by_outcome.values())

    @property
    def share(self) -> float | None:
        return share(self.mentions, self.debriefs)


@dataclass
class Window:
    period: Period
    mentions: int
    debriefs: int
    mentioned: WinRate
    baseline: WinRate

    @property
    def share(self) -> float | None:
        return share(self.mentions, self.debriefs)


@dataclass
class BeforeAfter:
    addressed_on: date
    days: int
    before: Window
    after: Window

    @property
    def too_early(self) -> bool:
        return self.days < 30


@dataclass
class Figures:
    warnings: list[str]
    total: int  # every submitted debrief the search finds, whenever it closed
    mentions: int
    debriefs: int
    prev_mentions: int
    prev_debriefs: int
    mentioned: WinRate
    baseline: WinRate
    revenue: Revenue
    trend: list[TrendPoint]
    by_competitor: list[Split]
    by_segment: list[Split]
    before_after: BeforeAfter | None

    @property
    def share(self) -> float | None:
        return share(self.mentions, self.debriefs)

    @property
    def prev_share(self) -> float | None:
        return share(self.prev_mentions, self.prev_debriefs)

    @property
    def comparison(self) -> stats.Comparison:
        """The win rate when mentioned against the period's other deals."""
        m, b = self.mentioned, self.baseline
        return stats.compare(m.won, m.decided, b.won, b.decided)


def _months(today: date, count: int) -> list[Period]:
    months = []
    year, month = today.year, today.month
    for _ in range(count):
        start = date(year, month, 1)
        end = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
        months.insert(0, Period(start, end, start.strftime("%b %Y")))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months


def first_close(snap: Snapshot) -> date | None:
    """The earliest close date of a submitted debrief's deal."""
    first = snap.view.top_sorted(snap.population, "close_date", 1, descending=False)
    return date.fromordinal(snap.column("close_date")[first[0]]) if first else None


def _months_between(start: date, end: date) -> int:
    return (end.year - start.year) * 12 + end.month - start.month + 1


def trend_periods(snap: Snapshot, period: Period, by: str) -> list[Period]:
    """The quarters (or months) a trend shows for a chosen period: those up
    to the period's end, as far back as its start ("all time": the first
    debrief), and at least 8 quarters (12 months) to show a trend."""
    start = max(period.start, first_close(snap) or period.end)
    months = _months_between(min(start, period.end), period.end)
    if by == "month":
        return _months(period.end, min(MAX_MONTHS, max(TREND_MONTHS, months)))
    start = min(start, period.end)
    quarters = (period.end.year - start.year) * 4 + quarter_of(period.end) - quarter_of(start) + 1
    return recent_quarters(period.end, min(MAX_QUARTERS, max(TREND_QUARTERS, quarters)))


def trend(snap: Snapshot, bits: int, period: Period, by: str) -> list[TrendPoint]:
    outcomes = {o: snap.values("outcome").get(o, 0) for o in OUTCOMES}
    shown = trend_periods(snap, period, by)
    if by == "month":
        slices = [(p.label, period_bits(snap, p)) for p in shown]
    else:
        by_quarter = quarter_bits(snap)
        slices = [(q.label, by_quarter.get(q.label, 0) & snap.population) for q in shown]
    points = [
        TrendPoint(
            label,
            {o: (bits & part & outcome).bit_count() for o, outcome in outcomes.items()},
            part.bit_count(),
        )
        for label, part in slices
    ]
    # Quarters before the first one with a mention say nothing.
    while (
        len(points) > (TREND_MONTHS if by == "month" else TREND_QUARTERS) and not points[0].mentions
    ):
        points.pop(0)
    return points


def _splits(snap: Snapshot, facts: DealFacts, fieldname: str, bits: int, scope: int) -> list[Split]:
    out = []
    for value, docs in snap.values(fieldname).items():
        mentioned = bits & docs
        if mentioned:
            rate, _ = deal_figures(snap, facts, mentioned)
            out.append(
                Split(
                    snap.label(fieldname, value),
                    mentioned.bit_count(),
                    (scope & docs).bit_count(),
                    rate,
                )
            )
    out.sort(key=lambda s: (-s.mentions, s.label))
    return out


def _window(snap: Snapshot, facts: DealFacts, bits: int, period: Period) -> Window:
    scope = period_bits(snap, period)
    rate, _ = deal_figures(snap, facts, bits & scope)
    return Window(
        period,
        (bits & scope).bit_count(),
        scope.bit_count(),
        rate,
        baseline(snap, facts, period),
    )


def before_after(
    snap: Snapshot, facts: DealFacts, bits: int, addressed_on: date, today: date
) -> BeforeAfter:
    """Equal windows either side of the day a theme was addressed: from that
    day to today (at most a year), and as long a stretch before it."""
    days = max(1, min(365, (today - addressed_on).days + 1))
    after = Period(addressed_on, addressed_on + timedelta(days=days - 1), "After")
    before = Period(addressed_on - timedelta(days=days), addressed_on - timedelta(days=1), "Before")
    return BeforeAfter(
        addressed_on,
        days,
        _window(snap, facts, bits, before),
        _window(snap, facts, bits, after),
    )


def figures(
    snap: Snapshot, facts: DealFacts, theme: Theme, period: Period, today: date, by: str
) -> Figures:
    key = (
        "figures",
        snap.state,
        facts.version,
        theme.id,
        definition(theme),
        theme.addressed_on,
        period,
        today,
        by,
    )

    def compute() -> Figures:
        found = match_theme(snap, theme)
        scope, prev_scope = period_bits(snap, period), period_bits(snap, period.previous())
        in_period = found.bits & scope
        mentioned, revenue = deal_figures(snap, facts, in_period)
        addressed = None
        if theme.addressed_on is not None and theme.addressed_on <= today:
            addressed = before_after(snap, facts, found.bits, theme.addressed_on, today)
        return Figures(
            warnings=found.warnings,
            total=found.count,
            mentions=in_period.bit_count(),
            debriefs=scope.bit_count(),
            prev_mentions=(found.bits & prev_scope).bit_count(),
            prev_debriefs=prev_scope.bit_count(),
            mentioned=mentioned,
            baseline=baseline(snap, facts, period),
            revenue=revenue,
            trend=trend(snap, found.bits, period, by),
            by_competitor=_splits(snap, facts, "competitor", in_period, scope),
            by_segment=_splits(snap, facts, "segment", in_period, scope),
            before_after=addressed,
        )

    return cached(key, compute)


def quarter_label(day: date) -> str:
    return f"{day.year}-Q{quarter_of(day)}"
