"""What theme pages and the API show: the overview, a theme's figures with
their charts, and discovery, from request parameters to plain data."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import select

from kb.analytics.charts import Chart, Series, interval, percent, rate_value, sparkline
from kb.analytics.filters import clean_filters, filters_from_args
from kb.analytics.periods import Period
from kb.analytics.reasons import WinRate
from kb.extensions import db
from kb.models import Theme
from kb.themes import discovery, engine, figures, queries, stored, stored_discoveries
from kb.themes.facts import deal_facts

SORTS = {
    "growth": "Growth",
    "volume": "Mentions",
    "revenue": "Revenue affected",
    "name": "Name",
}
OUTCOME_LABELS = {"won": "Won", "lost": "Lost", "no_decision": "No decision"}
INDEX_MISSING = "The search index is being built; figures appear when it is ready."


def main_currency(rows: list[figures.Overview]) -> str:
    """The currency most deal amounts are in: revenue is sorted on it."""
    totals: dict[str, int] = {}
    for row in rows:
        for currency in row.revenue.currencies:
            totals[currency] = totals.get(currency, 0) + 1
    return max(totals, key=lambda c: (totals[c], c == "USD")) if totals else "USD"


@dataclass
class OverviewRow:
    theme: Theme
    figures: figures.Overview
    spark: dict

    @property
    def spark_label(self) -> str:
        points = ", ".join(
            f"{q} {n}" for q, n in zip(self.figures.quarters, self.figures.spark, strict=True)
        )
        return f"Mentions per quarter: {points}"

    @property
    def rate_withheld(self) -> str | None:
        """Why no win rate when mentioned is shown: the theme's filters fix it."""
        return figures.rate_withheld(self.theme)


class OverviewResult(NamedTuple):
    rows: list[OverviewRow]
    currency: str  # the currency revenue is sorted on
    baseline: WinRate | None
    as_of: datetime | None  # set when the figures lag the latest change


def overview(themes: list[Theme], period: Period, sort: str, today: date) -> OverviewResult | None:
    """The overview's rows, sorted; None while there is no index. Figures
    the machine's indexer stored are used when they may be (stored.shared);
    the rest are computed here."""
    kept = stored.shared(period, today)
    found: dict[int, figures.Overview] = {}
    baseline = None
    if kept is not None:
        found = {t.id: f for t in themes if (f := kept.overview(t)) is not None}
        baseline = kept.baseline
    if baseline is None or len(found) < len(themes):
        snap = engine.snapshot()
        if snap is None:
            return None
        facts = deal_facts()
        for theme in themes:
            if theme.id not in found:
                found[theme.id] = figures.overview(snap, facts, theme, period, today)
        if baseline is None:
            baseline = figures.baseline(snap, facts, period)
    rows = [OverviewRow(t, found[t.id], sparkline(found[t.id].spark)) for t in themes]
    currency = main_currency([r.figures for r in rows])
    keys = {
        "growth": lambda r: (-r.figures.growth_key(), -r.figures.now, r.theme.name.lower()),
        "volume": lambda r: (-r.figures.now, r.theme.name.lower()),
        "revenue": lambda r: (-r.figures.revenue.total(currency), r.theme.name.lower()),
        "name": lambda r: r.theme.name.lower(),
    }
    rows.sort(key=keys.get(sort, keys["growth"]))
    return OverviewResult(rows, currency, baseline, kept.as_of if kept is not None else None)


def theme_figures(theme: Theme, period: Period, by: str, today: date):
    snap = engine.snapshot()
    if snap is None:
        return None, None
    facts = deal_facts()
    return snap, figures.figures(snap, facts, theme, period, today, by)


def trend_chart(found: figures.Figures, by: str) -> Chart:
    points = found.trend
    labels = [p.label for p in points]
    series = [
        Series(OUTCOME_LABELS[o], [p.by_outcome[o] for p in points], tone=o)
        for o in ("won", "lost", "no_decision")
    ]
    return Chart(
        id="mentions",
        caption=f"Debriefs mentioning the theme per {by}, by the deal's outcome",
        labels=labels,
        series=series,
        stacked=True,
        head=[by.capitalize(), "Won", "Lost", "No decision", "Mentions", "Debriefs", "Share"],
        rows=[
            [
                p.label,
                *(f"{p.by_outcome[o]:,}" for o in ("won", "lost", "no_decision")),
                f"{p.mentions:,}",
                f"{p.debriefs:,}",
                percent(p.share, 1),
            ]
            for p in points
        ],
    )


def _rate_cells(rate: WinRate, withheld: str | None) -> list[str]:
    """Win rate and interval cells of a chart's table; a dash where the
    theme's filters fix the outcome."""
    if withheld:
        return ["—", "—"]
    return [percent(rate.rate), interval(rate.won, rate.decided)]


def _withheld_note(withheld: str | None) -> str:
    return f"No win rate when mentioned: {withheld}." if withheld else ""


def win_rate_chart(found: figures.Figures, withheld: str | None = None) -> Chart:
    pairs = [("When mentioned", found.mentioned), ("All debriefed deals", found.baseline)]
    shown = [None if withheld and r is found.mentioned else r for _, r in pairs]
    return Chart(
        id="win-rate",
        caption="Win rate when the theme is mentioned, against all debriefed deals",
        kind="hbar",
        unit="percent",
        labels=[label for label, _ in pairs],
        series=[Series("Win rate", [rate_value(r.rate) if r else None for r in shown], tone="won")],
        head=["Deals", "Won", "Lost", "Win rate", "95% interval", "No decision"],
        rows=[
            [
                label,
                f"{r.won:,}",
                f"{r.lost:,}",
                *_rate_cells(r, None if s else withheld),
                f"{r.no_decision:,}",
            ]
            for (label, r), s in zip(pairs, shown, strict=True)
        ],
        note=_withheld_note(withheld),
    )


def split_chart(name: str, splits: list[figures.Split], withheld: str | None = None) -> Chart:
    return Chart(
        id=f"by-{name}",
        caption=f"Share of each {name}'s debriefs mentioning the theme",
        kind="hbar",
        unit="percent",
        labels=[s.label for s in splits],
        series=[Series("Share mentioning", [rate_value(s.share) for s in splits], tone="accent")],
        head=[
            name.capitalize(),
            "Mentions",
            "Debriefs",
            "Share",
            "Won",
            "Lost",
            "Win rate when mentioned",
            "95% interval",
        ],
        rows=[
            [
                s.label,
                f"{s.mentions:,}",
                f"{s.debriefs:,}",
                percent(s.share, 1),
                f"{s.mentioned.won:,}",
                f"{s.mentioned.lost:,}",
                *_rate_cells(s.mentioned, withheld),
            ]
            for s in splits
        ],
        note=_withheld_note(withheld) if splits else "",
    )


def before_after_chart(found: figures.BeforeAfter, withheld: str | None = None) -> Chart:
    windows = [("Before", found.before), ("After", found.after)]
    series = [Series("Share of debriefs mentioning", [rate_value(w.share) for _, w in windows])]
    if not withheld:
        series.append(
            Series(
                "Win rate when mentioned",
                [rate_value(w.mentioned.rate) for _, w in windows],
                tone="won",
            )
        )
    return Chart(
        id="before-after",
        caption="Before and after the theme was addressed",
        kind="bar",
        unit="percent",
        labels=[f"{label} ({w.period.span})" for label, w in windows],
        series=series,
        head=[
            "Window",
            "Mentions",
            "Debriefs",
            "Share",
            "Won",
            "Lost",
            "Win rate when mentioned",
            "Win rate, all deals",
        ],
        rows=[
            [
                f"{label}: {w.period.span}",
                f"{w.mentions:,}",
                f"{w.debriefs:,}",
                percent(w.share, 1),
                f"{w.mentioned.won:,}",
                f"{w.mentioned.lost:,}",
                "—" if withheld else percent(w.mentioned.rate),
                f"{percent(w.baseline.rate)} ({w.baseline.won} of {w.baseline.decided})",
            ]
            for label, w in windows
        ],
        note=_withheld_note(withheld),
    )


# --- discovery ------------------------------------------------------------------

DISCOVERY_FILTERS = (
    "outcome",
    "competitor",
    "winner",
    "segment",
    "region",
    "industry",
    "product_line",
    "source",
    "category",
    "quarter",
    "date_from",
    "date_to",
)


@dataclass
class DiscoveryInput:
    query: str
    filters: dict[str, Any]
    background: str
    min_support: int | None
    errors: dict[str, str]

    @property
    def asked(self) -> bool:
        return bool(self.query or self.filters)


def discovery_input(args) -> DiscoveryInput:
    """The subset, background and minimum support a query string asks for,
    checked; errors by parameter name."""
    query = (args.get("q") or "").strip()
    raw = {k: v for k, v in filters_from_args(args).items() if k in DISCOVERY_FILTERS}
    filters, errors = clean_filters(raw)
    if len(query) > 500:
        errors["q"] = "Keep the query to 500 characters or fewer."
    elif query and (problems := engine.query_problems(query)):
        errors["q"] = " ".join(problems)
    background = (args.get("background") or "all").strip()
    if background not in discovery.BACKGROUNDS:
        errors["background"] = "Choose all debriefs or the previous period as the background."
    raw_support = (args.get("min_support") or str(discovery.DEFAULT_SUPPORT)).strip()
    min_support = int(raw_support) if raw_support.isdecimal() else None
    if min_support is None or not discovery.MIN_SUPPORT <= min_support <= discovery.MAX_SUPPORT:
        errors["min_support"] = (
            f"Minimum support is a whole number of debriefs from {discovery.MIN_SUPPORT} "
            f"to {discovery.MAX_SUPPORT}."
        )
        min_support = None
    return DiscoveryInput(query, filters, background, min_support, errors)


def discover(given: DiscoveryInput, today: date) -> discovery.Discovery | None:
    """Raises discovery.DiscoveryError for input it cannot use; None while
    there is no index. Another worker's result for the same input is shown
    when it may be (stored_discoveries.shared)."""
    params = stored_discoveries.params_of(
        given.query, given.filters, given.background, given.min_support, today
    )
    return stored_discoveries.shared(params) or stored_discoveries.compute(params)


# Filters a tracked finding leaves out: its period (a theme is followed over
# time) and the outcome (a theme's win rate is compared across outcomes; a
# theme of lost deals only would be lost 100 % of the time).
NOT_TRACKED = ("quarter", "date_from", "date_to", "outcome", "winner")


def tracked_filters(filters: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in filters.items() if k not in NOT_TRACKED}


def same_query(query: str) -> str:
    """A query as compared with themes' queries: case and spacing aside."""
    return " ".join(query.lower().split())


def tracking(queries: list[str]) -> dict[str, Theme]:
    """The themes that already have these queries, by compared query."""
    wanted = {same_query(q) for q in queries}
    found: dict[str, Theme] = {}
    for theme in db.session.scalars(select(Theme).order_by(Theme.id)):
        key = same_query(theme.query)
        if key in wanted and key not in found:
            found[key] = theme
    return found


def track_params(finding: discovery.Finding, given: DiscoveryInput) -> dict[str, Any]:
    """A theme form's parameters for tracking a finding: the phrase in
    quotes and the subset's filters but its period and outcome."""
    params: dict[str, Any] = tracked_filters(given.filters)
    if given.query:
        params["q"] = f"{finding.query} {given.query}"
    else:
        params["q"] = finding.query
    params["name"] = finding.phrase[:1].upper() + finding.phrase[1:]
    params["status"] = "tracked"
    outcome = given.filters.get("outcome")
    params["polarity"] = {"won": "strength", "lost": "weakness", "no_decision": "weakness"}.get(
        outcome, "neutral"
    )
    return params


def finding_links(
    finding: discovery.Finding, given: DiscoveryInput, tracked: Mapping[str, Theme] | None = None
) -> dict[str, Any]:
    """For a finding: the theme form's parameters to track it, and the
    search page for it within the subset."""
    query = f"{finding.query} {given.query}".strip()
    return {
        "track": track_params(finding, given),
        "tracked": tracked.get(same_query(query)) if tracked else None,
        "search": queries.search_url(queries.search_params(query, given.filters)),
    }
