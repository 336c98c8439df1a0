"""/api/v1/themes: themes, their figures, and discovery."""

from datetime import date
from typing import Any

from flask import request, url_for
from sqlalchemy import select

from kb.analytics.periods import Period, choose_period
from kb.analytics.reasons import WinRate
from kb.api import ApiError, api_user, bp, json_body
from kb.extensions import db
from kb.models import Theme
from kb.themes import discovery, evidence, figures, queries, reports, service
from kb.themes.significance import Correction


def theme_json(theme: Theme) -> dict[str, Any]:
    body = service.as_input(theme)
    body.update(
        id=theme.id,
        owner={"id": theme.owner.id, "name": theme.owner.display_name} if theme.owner else None,
        created_at=theme.created_at.isoformat() if theme.created_at else None,
        updated_at=theme.updated_at.isoformat() if theme.updated_at else None,
        url=url_for("themes.show", theme_id=theme.id, _external=True),
    )
    return body


def _get(theme_id: int) -> Theme:
    theme = db.session.get(Theme, theme_id)
    if theme is None:
        raise ApiError(404, "not_found", f"No theme {theme_id}.")
    return theme


def _require_manager() -> None:
    if not service.can_manage_themes(api_user()):
        raise ApiError(403, "forbidden", "Only managers, marketing and admins manage themes.")


def _period(default: str) -> Period:
    period, _, errors = choose_period(request.args, date.today(), default)
    if errors:
        raise ApiError(400, "invalid_parameter", " ".join(errors.values()), errors)
    return period


def _period_json(period: Period) -> dict[str, str]:
    return {"from": period.start.isoformat(), "to": period.end.isoformat()}


def _rate_json(rate: WinRate) -> dict[str, Any]:
    return {
        "won": rate.won,
        "lost": rate.lost,
        "no_decision": rate.no_decision,
        "win_rate": rate.rate,
    }


def _mentioned_json(rate: WinRate, withheld: str | None) -> dict[str, Any]:
    """The deals mentioning a theme. Where the theme's own filters fix the
    outcome, `win_rate` is null and `win_rate_withheld` says why (it would be
    100 % or 0 % by definition); otherwise `win_rate_withheld` is null."""
    body = _rate_json(rate)
    if withheld:
        body["win_rate"] = None
    body["win_rate_withheld"] = withheld
    return body


def _revenue_json(revenue: figures.Revenue) -> dict[str, dict[str, float]]:
    return {
        c: {"won": revenue.won.get(c, 0.0), "lost": revenue.lost.get(c, 0.0)}
        for c in revenue.currencies
    }


def _no_index() -> ApiError:
    return ApiError(503, "index_unavailable", reports.INDEX_MISSING)


@bp.get("/themes")
def list_themes():
    """Every theme; with ?figures=1, each with the overview's figures for
    the period (?period=90d by default, or date_from/date_to)."""
    themes = list(db.session.scalars(select(Theme).order_by(Theme.name)))
    items = [theme_json(t) for t in themes]
    if request.args.get("figures") in ("1", "true", "yes"):
        period = _period("90d")
        found = reports.overview(themes, period, "name", date.today())
        if found is None:
            raise _no_index()
        rows, _, baseline, as_of = found
        by_id = {row.theme.id: row for row in rows}
        for item in items:
            row = by_id[item["id"]]
            f = row.figures
            item["figures"] = {
                "period": _period_json(period),
                "previous_period": _period_json(period.previous()),
                "mentions": f.now,
                "share": f.now_share,
                "previous_mentions": f.before,
                "previous_share": f.before_share,
                "growth": f.growth,
                "quarters": dict(zip(f.quarters, f.spark, strict=True)),
                "deals_mentioning": _mentioned_json(f.mentioned, row.rate_withheld),
                "baseline": _rate_json(baseline),
                "revenue": _revenue_json(f.revenue),
                "warnings": f.warnings,
                # When the figures lag the latest change: the time they reflect.
                "as_of": as_of.isoformat() if as_of else None,
            }
    return {"items": items}


@bp.post("/themes")
def create_theme():
    _require_manager()
    data = service.parse(json_body())
    theme = service.save_theme(api_user(), data)
    location = url_for("api.get_theme", theme_id=theme.id)
    return theme_json(theme), 201, {"Location": location}


def _split_json(split: figures.Split, withheld: str | None) -> dict[str, Any]:
    return {
        "label": split.label,
        "mentions": split.mentions,
        "debriefs": split.debriefs,
        "share": split.share,
        "deals_mentioning": _mentioned_json(split.mentioned, withheld),
    }


def _window_json(window: figures.Window, withheld: str | None) -> dict[str, Any]:
    return {
        "period": _period_json(window.period),
        "mentions": window.mentions,
        "debriefs": window.debriefs,
        "share": window.share,
        "deals_mentioning": _mentioned_json(window.mentioned, withheld),
        "baseline": _rate_json(window.baseline),
    }


def figures_json(theme: Theme, period: Period, by: str) -> dict[str, Any]:
    snap, found = reports.theme_figures(theme, period, by, date.today())
    if found is None:
        raise _no_index()
    match = figures.match_theme(snap, theme)
    quotes = evidence.best_quotes(snap, match)
    ba = found.before_after
    withheld = figures.rate_withheld(theme)
    return {
        "period": _period_json(period),
        "previous_period": _period_json(period.previous()),
        "total_mentions": found.total,
        "mentions": found.mentions,
        "debriefs": found.debriefs,
        "share": found.share,
        "previous_mentions": found.prev_mentions,
        "previous_debriefs": found.prev_debriefs,
        "previous_share": found.prev_share,
        "deals_mentioning": _mentioned_json(found.mentioned, withheld),
        "baseline": _rate_json(found.baseline),
        "revenue": _revenue_json(found.revenue),
        "trend": {
            "by": by,
            "points": [
                {"label": p.label, "debriefs": p.debriefs, **p.by_outcome} for p in found.trend
            ],
        },
        "by_competitor": [_split_json(s, withheld) for s in found.by_competitor],
        "by_segment": [_split_json(s, withheld) for s in found.by_segment],
        "before_after": (
            {
                "addressed_on": ba.addressed_on.isoformat(),
                "before": _window_json(ba.before, withheld),
                "after": _window_json(ba.after, withheld),
            }
            if ba
            else None
        ),
        "evidence": [
            {
                "quote": e.quote.text,
                "speaker_role": e.quote.speaker_role,
                "highlighted": str(e.html),
                "debrief_id": e.debrief.id,
                "source": e.debrief.source.value,
                "deal": {
                    "id": e.debrief.deal.id,
                    "name": e.debrief.deal.name,
                    "outcome": e.debrief.deal.outcome.value,
                    "segment": e.debrief.deal.segment,
                    "competitors": [c.name for c in e.debrief.deal.competitors],
                    "close_date": e.debrief.deal.close_date.isoformat(),
                },
            }
            for e in quotes
        ],
        "warnings": found.warnings,
    }


@bp.get("/themes/<int:theme_id>")
def get_theme(theme_id: int):
    """The theme and the figures of its page (?period=365d by default;
    ?by=quarter or month for the trend)."""
    theme = _get(theme_id)
    body = theme_json(theme)
    by = "month" if request.args.get("by") == "month" else "quarter"
    body["figures"] = figures_json(theme, _period("365d"), by)
    search = queries.search_url(queries.theme_params(theme))
    body["search_url"] = search
    return body


def _finding_json(f: discovery.Finding, emerging: bool = False) -> dict[str, Any]:
    body = {
        "phrase": f.phrase,
        "terms": list(f.terms),
        "words": f.words,
        "query": f.query,
        "g2": round(f.score, 3),
        "p_value": f.p_value,
        "exploratory": f.exploratory,
        "subset": {"debriefs": f.subset, "of": f.subset_size, "share": f.subset_share},
        "variants": [
            {
                "phrase": v.phrase,
                "terms": list(v.terms),
                "g2": round(v.score, 3),
                "debriefs": v.subset,
            }
            for v in f.variants
        ],
    }
    if emerging:
        body["previous"] = {"debriefs": f.rest, "of": f.rest_size, "share": f.rest_share}
        body["change_points"] = round(f.change, 2)
    else:
        body["background"] = {
            "debriefs": f.background,
            "of": f.background_size,
            "share": f.background_share,
        }
        body["rest"] = {"debriefs": f.rest, "of": f.rest_size}
        body["ratio"] = f.ratio
    body["examples"] = [{"debrief_id": e.debrief_id, "snippet": str(e.html)} for e in f.examples]
    return body


def _correction_json(c: Correction | None) -> dict[str, Any] | None:
    if c is None:
        return None
    return {
        "method": "Benjamini-Hochberg",
        "false_discovery_rate": c.q,
        "candidates_tested": c.tested,
        "passing": c.passing,
        "exact": c.exact,
        "p_cutoff": c.cutoff,
    }


@bp.get("/themes/discover")
def discover_themes():
    """Words (`terms`) and two- to four-word `phrases` over-represented in
    the subset (search parameters: q, outcome, competitor, …), against
    `background` (all, or previous), with at least `min_support` debriefs."""
    given = reports.discovery_input(request.args)
    if given.errors:
        raise ApiError(400, "invalid_parameter", "Correct the parameters listed.", given.errors)
    try:
        result = reports.discover(given, date.today())
    except discovery.DiscoveryError as exc:
        raise ApiError(400, "invalid_parameter", str(exc), exc.errors) from None
    if result is None:
        raise _no_index()
    return {
        "subset": {"query": given.query, "filters": given.filters, "debriefs": result.subset_size},
        "background": {"kind": result.background, "debriefs": result.background_size},
        "min_support": result.min_support,
        "statistic": "G2 (Dunning log-likelihood ratio, 1 degree of freedom)",
        "terms": [_finding_json(f) for f in result.words],
        "phrases": [_finding_json(f) for f in result.phrases],
        "multiple_comparisons": _correction_json(result.correction),
        "emerging": {
            "period": _period_json(result.emerging_period) if result.emerging_period else None,
            "previous_period": (
                _period_json(result.emerging_before) if result.emerging_before else None
            ),
            "items": [_finding_json(f, emerging=True) for f in result.emerging],
            "multiple_comparisons": _correction_json(result.emerging_correction),
        },
        "warnings": result.warnings,
        "took_ms": result.took_ms,
        # When the result lags the latest change: the time it reflects.
        "as_of": result.as_of.isoformat() if result.as_of else None,
    }


@bp.patch("/themes/<int:theme_id>")
def patch_theme(theme_id: int):
    _require_manager()
    theme = _get(theme_id)
    patch = json_body()
    if not isinstance(patch, dict):
        raise ApiError(400, "invalid_json", "Send a JSON object with the fields to change.")
    merged = {**service.as_input(theme), **patch}
    data = service.parse(merged)
    return theme_json(service.save_theme(api_user(), data, theme))


@bp.delete("/themes/<int:theme_id>")
def delete_theme(theme_id: int):
    _require_manager()
    service.delete_theme(api_user(), _get(theme_id))
    return "", 204
