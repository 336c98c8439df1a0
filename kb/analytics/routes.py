"""Analytics pages: reason analytics with win rates, and the perception gap."""

from datetime import date

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import login_required

from kb.analytics import perception, reasons
from kb.analytics.cache import cached, data_version
from kb.analytics.charts import (
    Chart,
    Series,
    interval,
    percent,
    points,
    rate_value,
)
from kb.analytics.filters import clean_filters, filters_from_args
from kb.analytics.periods import (
    Period,
    choose_period,
    period_choices,
    trend_quarters,
)
from kb.lookups import choice_values, competitor_names
from kb.models import Outcome
from kb.validation import page_from_text, whole_number

bp = Blueprint("analytics", __name__, url_prefix="/analytics")

# The filters these pages offer (periods are chosen separately).
PAGE_FILTERS = ("competitor", "segment", "region", "industry", "product_line", "source")
REASON_LIMIT = 12


@bp.before_request
@login_required
def require_login():
    pass


def _page_filters() -> tuple[dict, dict[str, str]]:
    raw = {k: v for k, v in filters_from_args(request.args).items() if k in PAGE_FILTERS}
    return clean_filters(raw)


def _choices() -> dict:
    return {
        "competitors": competitor_names(),
        **{kind: choice_values(kind) for kind in ("segment", "region", "industry", "product_line")},
    }


def _int_arg(name: str, default: int) -> int:
    return whole_number(request.args.get(name)) or default


@bp.get("/")
def index():
    return redirect(url_for("analytics.reasons_page"))


def reason_chart(table: reasons.ReasonTable, period: Period, prev: Period) -> Chart:
    word = "wins" if table.outcome == Outcome.WON else "losses"
    how = "helped" if table.outcome == Outcome.WON else "hurt"
    rows = [
        [
            r.category.label,
            f"{r.cited:,}",
            percent(r.cited_share),
            f"{r.primary:,}",
            percent(r.primary_share),
            percent(r.prev_cited_share),
            points(r.change),
        ]
        for r in table.rows
    ]
    return Chart(
        id=f"reasons-{table.outcome.value}",
        caption=f"Top reasons for {word}: share of {word} citing each reason ({how})",
        kind="hbar",
        unit="percent",
        labels=[r.category.name for r in table.rows],
        series=[
            Series(
                period.label or "This period",
                [rate_value(r.cited_share) for r in table.rows],
                tone=table.outcome.value,
            ),
            Series(
                f"Previous ({prev.span})",
                [rate_value(r.prev_cited_share) for r in table.rows],
                tone="previous",
            ),
        ],
        head=[
            "Reason category",
            "Debriefs citing",
            "Share",
            "As primary",
            "Primary share",
            "Share before",
            "Change",
        ],
        rows=rows,
    )


def win_rate_chart(dimension: str, rates: list[reasons.WinRate]) -> Chart:
    label = reasons.DIMENSIONS[dimension]
    return Chart(
        id=f"win-rate-{dimension}",
        caption=f"Win rate by {label.lower()}",
        kind="line" if dimension == "quarter" else "bar",
        unit="percent",
        labels=[r.label for r in rates],
        series=[Series("Win rate", [rate_value(r.rate) for r in rates], tone="won")],
        head=[label, "Won", "Lost", "Win rate", "95% interval", "No decision", "No-decision share"],
        rows=[
            [
                r.label,
                f"{r.won:,}",
                f"{r.lost:,}",
                percent(r.rate),
                interval(r.won, r.decided),
                f"{r.no_decision:,}",
                percent(r.no_decision_share),
            ]
            for r in rates
        ],
    )


@bp.get("/reasons")
def reasons_page():
    today = date.today()
    period, period_key, errors = choose_period(request.args, today, "90d")
    filters, filter_errors = _page_filters()
    errors.update(filter_errors)
    prev = period.previous()
    by = request.args.get("by", "competitor")
    by = by if by in reasons.BREAKDOWNS else "competitor"
    trend = trend_quarters(period, reasons.first_close(filters))

    def compute():
        tables = reasons.top_reasons(filters, period, REASON_LIMIT)
        win_rates = {
            dimension: reasons.win_rates(
                dimension, filters, trend if dimension == "quarter" else period
            )
            for dimension in reasons.DIMENSIONS
        }
        breakdowns = reasons.reasons_by(by, filters, period, tables)
        return tables, breakdowns, win_rates, reasons.overall(filters, period)

    key = ("reasons", data_version(), period, trend, by, repr(sorted(filters.items())))
    tables, breakdowns, win_rates, overall = cached(key, compute)
    return render_template(
        "analytics/reasons.html",
        title="Reason analytics",
        period=period,
        prev=prev,
        period_key=period_key,
        period_choices=period_choices(today),
        filters=filters,
        errors=errors,
        tables=tables,
        won=Outcome.WON,
        lost=Outcome.LOST,
        reason_charts=[reason_chart(tables[o], period, prev) for o in (Outcome.WON, Outcome.LOST)],
        by=by,
        breakdowns=breakdowns,
        overall=overall,
        win_rate_charts=[win_rate_chart(d, rates) for d, rates in win_rates.items()],
        trend=trend,
        percent=percent,
        interval=interval,
        points=points,
        **_choices(),
    )


@bp.get("/perception")
def perception_page():
    today = date.today()
    period, period_key, errors = choose_period(request.args, today, "365d")
    filters, filter_errors = _page_filters()
    errors.update(filter_errors)
    key = ("perception", data_version(), period, repr(sorted(filters.items())))
    compared = cached(key, lambda: perception.pairs(filters, period))
    gap = perception.perception_gap(filters, period, compared)
    level = "group" if request.args.get("level") == "group" else "category"
    group_ids = {g.id for g in gap.groups}
    rep_group = _int_arg("rep", 0) or None
    buyer_group = _int_arg("buyer", 0) or None
    rep_group = rep_group if rep_group in group_ids else None
    buyer_group = buyer_group if buyer_group in group_ids else None
    page = page_from_text(request.args.get("page"))
    items, total = perception.disagreements(
        filters, period, level, rep_group, buyer_group, page, 25, compared
    )
    pages = max(1, -(-total // 25))
    groups = {g.id: g for g in gap.groups}
    return render_template(
        "analytics/perception.html",
        title="Perception gap",
        period=period,
        period_key=period_key,
        period_choices=period_choices(today),
        filters=filters,
        errors=errors,
        gap=gap,
        level=level,
        rep_group=groups.get(rep_group),
        buyer_group=groups.get(buyer_group),
        items=items,
        total=total,
        all_disagreements_url=url_for(
            "analytics.perception_page",
            **{k: v for k, v in request.args.items() if k not in ("rep", "buyer", "page")},
        ),
        page=min(page, pages),
        pages=pages,
        percent=percent,
        agreement_chart=Chart(
            id="agreement",
            caption="How often the rep's and the buyer's primary reasons agree",
            kind="hbar",
            unit="percent",
            labels=["Same category", "Same category group"],
            series=[
                Series(
                    "Agreement",
                    [rate_value(gap.category_share), rate_value(gap.group_share)],
                    tone="accent",
                )
            ],
            head=["Agreement on", "Deals agreeing", "Deals compared", "Share"],
            rows=[
                [
                    "Category",
                    f"{gap.category_agree:,}",
                    f"{gap.deals:,}",
                    percent(gap.category_share),
                ],
                [
                    "Category group",
                    f"{gap.group_agree:,}",
                    f"{gap.deals:,}",
                    percent(gap.group_share),
                ],
            ],
        ),
        **_choices(),
    )
