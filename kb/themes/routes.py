"""Theme pages: the overview, a theme, discovery, and creating, editing or
deleting a theme."""

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from kb.analytics import stats
from kb.analytics.charts import interval, percent, points
from kb.analytics.filters import CHOICE_KEYS, describe, filters_from_args
from kb.analytics.periods import choose_period, period_choices
from kb.extensions import db
from kb.lookups import category_groups, choice_values, competitor_names
from kb.models import Theme
from kb.practices.queries import PlaybookParams, find_practices
from kb.themes import discovery, evidence, figures, queries, reports, service
from kb.themes.forms import ThemeForm
from kb.validation import ValidationFailed, page_from_text

bp = Blueprint("themes", __name__, url_prefix="/themes")


@bp.before_request
@login_required
def require_login():
    pass


def _load(theme_id: int) -> Theme:
    theme = db.session.get(Theme, theme_id)
    if theme is None:
        abort(404)
    return theme


def _require_manager() -> None:
    if not service.can_manage_themes(current_user):
        abort(403)


def _int_arg(name: str, default: int) -> int:
    return page_from_text(request.args.get(name), default)


@bp.context_processor
def _helpers():
    return {
        "can_manage": service.can_manage_themes(current_user),
        "describe": describe,
        "percent": percent,
        "interval": interval,
        "points": points,
        "min_growth": stats.MIN_GROWTH_COUNT,
    }


@bp.get("/")
def index():
    today = date.today()
    period, period_key, errors = choose_period(request.args, today, "90d")
    sort = request.args.get("sort", "growth")
    sort = sort if sort in reports.SORTS else "growth"
    themes = list(
        db.session.scalars(select(Theme).options(selectinload(Theme.owner)).order_by(Theme.name))
    )
    found = reports.overview(themes, period, sort, today)
    rows, currency, baseline, as_of = found if found else ([], "USD", None, None)
    return render_template(
        "themes/index.html",
        title="Themes",
        themes=themes,
        rows=rows,
        currency=currency,
        baseline=baseline,
        figures_as_of=as_of,
        index_missing=found is None,
        period=period,
        prev=period.previous(),
        period_key=period_key,
        period_choices=period_choices(today),
        errors=errors,
        sort=sort,
        sorts=reports.SORTS,
    )


def _form_data(values: dict) -> dict:
    """Values as the form shows them: no None in the select fields."""
    data = dict(values)
    data["owner_id"] = "" if data.get("owner_id") is None else str(data["owner_id"])
    return data


def _edit_page(form: ThemeForm, theme: Theme | None, unplaced=(), status: int = 200):
    keep = set(theme.filters.get("category", [])) if theme is not None else set()
    form.fill_choices(keep)
    title = f"Edit theme: {theme.name}" if theme is not None else "New theme"
    return (
        render_template("themes/form.html", form=form, theme=theme, unplaced=unplaced, title=title),
        status,
    )


def _handle(form: ThemeForm, theme: Theme | None):
    if not form.is_submitted():
        return _edit_page(form, theme)
    if not form.validate():  # only CSRF can fail here; the fields validate below
        abort(400)
    try:
        data = service.parse(form.to_payload())
        saved = service.save_theme(current_user, data, theme)
    except ValidationFailed as exc:
        unplaced = form.show_errors(exc.errors)
        flash("Nothing was saved yet: please correct the fields marked below.", "error")
        return _edit_page(form, theme, unplaced, 422)
    flash("Theme saved." if theme is not None else "Theme created.", "success")
    return redirect(url_for("themes.show", theme_id=saved.id))


@bp.route("/new", methods=["GET", "POST"])
def new():
    """A new theme; GET /themes/new?q=…&outcome=…&competitor=… prefills it
    from a search (the search page's "Save as theme") or a discovery."""
    _require_manager()
    if request.method == "GET":
        query = request.args.get("q", "")[:500]
        # A name to start from: the search's words, without their quotes.
        words = " ".join(query.replace('"', " ").split())
        prefill = {
            "name": (request.args.get("name") or words[:1].upper() + words[1:])[:120],
            "query": query,
            "filters": filters_from_args(request.args),
            "status": request.args.get("status", "emerging"),
            "polarity": request.args.get("polarity", "neutral"),
            "owner_id": str(current_user.id),
        }
        return _handle(ThemeForm(data=prefill), None)
    return _handle(ThemeForm(), None)


@bp.get("/<int:theme_id>")
def show(theme_id: int):
    theme = _load(theme_id)
    today = date.today()
    period, period_key, errors = choose_period(request.args, today, "365d")
    by = "month" if request.args.get("by") == "month" else "quarter"
    snap, found = reports.theme_figures(theme, period, by, today)
    withheld = figures.rate_withheld(theme)
    context = {}
    if found is not None:
        match = figures.match_theme(snap, theme)
        debriefs, page, pages, total = evidence.linked_debriefs(
            snap, match.bits, _int_arg("page", 1)
        )
        context = {
            "charts": {
                "trend": reports.trend_chart(found, by),
                "win_rate": reports.win_rate_chart(found, withheld),
                "competitor": reports.split_chart("competitor", found.by_competitor, withheld),
                "segment": reports.split_chart("segment", found.by_segment, withheld),
                "before_after": (
                    reports.before_after_chart(found.before_after, withheld)
                    if found.before_after
                    else None
                ),
            },
            "quotes": evidence.best_quotes(snap, match),
            "debriefs": debriefs,
            "page": page,
            "pages": pages,
            "linked_total": total,
        }
    return render_template(
        "themes/show.html",
        theme=theme,
        title=theme.name,
        figures=found,
        rate_withheld=withheld,
        index_missing=found is None,
        period=period,
        prev=period.previous(),
        period_key=period_key,
        period_choices=period_choices(today),
        errors=errors,
        by=by,
        search_url=queries.search_url(queries.theme_params(theme)),
        practices=matching_practices(theme),
        **context,
    )


def matching_practices(theme: Theme, limit: int = 5) -> list:
    """Published practices whose text matches the theme's query, so that a
    weakness comes with what has worked against it."""
    if not theme.query.strip():
        return []
    params = PlaybookParams(q=theme.query, per_page=limit)
    return find_practices(current_user, params).items


@bp.route("/<int:theme_id>/edit", methods=["GET", "POST"])
def edit(theme_id: int):
    _require_manager()
    theme = _load(theme_id)
    stored = _form_data(service.as_input(theme)) if request.method == "GET" else None
    return _handle(ThemeForm(data=stored), theme)


@bp.post("/<int:theme_id>/delete")
def delete(theme_id: int):
    _require_manager()
    theme = _load(theme_id)
    service.delete_theme(current_user, theme)
    flash(f"Theme '{theme.name}' deleted. Its history stays in the audit log.", "success")
    return redirect(url_for("themes.index"))


# --- discovery ------------------------------------------------------------------


def _discovery_choices() -> dict:
    return {
        "competitors": competitor_names(),
        "groups": category_groups(),
        **{kind: choice_values(kind) for kind in CHOICE_KEYS},
    }


@bp.get("/discover")
def discover():
    given = reports.discovery_input(request.args)
    result, status = None, 200
    errors = dict(given.errors)
    if request.args:
        if not errors:
            try:
                result = reports.discover(given, date.today())
            except discovery.DiscoveryError as exc:
                errors.update(exc.errors)
        if errors:
            status = 422
    links = {}
    if result is not None:
        lists = {"words": result.words, "phrases": result.phrases, "emerging": result.emerging}
        shown = [f for found in lists.values() for f in found]
        tracked = reports.tracking([f"{f.query} {given.query}".strip() for f in shown])
        links = {
            name: [reports.finding_links(f, given, tracked) for f in found]
            for name, found in lists.items()
        }
    return (
        render_template(
            "themes/discover.html",
            title="Discover themes",
            given=given,
            errors=errors,
            result=result,
            links=links,
            index_missing=result is None and given.asked and not errors,
            backgrounds=discovery.BACKGROUNDS,
            limits=(discovery.MIN_SUPPORT, discovery.MAX_SUPPORT),
            **_discovery_choices(),
        ),
        status,
    )


def _free_name(name: str) -> str:
    taken = {
        n.lower()
        for n in db.session.scalars(
            select(Theme.name).where(func.lower(Theme.name).like(f"{name[:100].lower()}%"))
        )
    }
    if name.lower() not in taken:
        return name
    number = 2
    while f"{name} ({number})".lower() in taken:
        number += 1
    return f"{name[:110]} ({number})"


@bp.post("/track")
def track():
    """One click from a discovery finding to a tracked theme."""
    _require_manager()
    form = request.form
    filters = reports.tracked_filters(filters_from_args(form))
    query = (form.get("q") or "").strip()
    existing = reports.tracking([query]).get(reports.same_query(query)) if query else None
    if existing is not None:
        flash(
            f"'{existing.name}' already tracks {query}: here it is. "
            "Edit it to change its filters, or create a theme to track it another way.",
            "info",
        )
        return redirect(url_for("themes.show", theme_id=existing.id))
    payload = {
        "name": _free_name((form.get("name") or "").strip()[:120] or "New theme"),
        "query": query,
        "filters": filters,
        "status": "tracked",
        "polarity": form.get("polarity") or "neutral",
        "owner_id": current_user.id,
        "description": "Found by discovery.",
    }
    try:
        theme = service.save_theme(current_user, service.parse(payload))
    except ValidationFailed as exc:
        problems = " ".join(exc.errors.values())
        flash(f"The finding could not be tracked as it is: {problems}", "error")
        return redirect(url_for("themes.new", **{**filters, "q": payload["query"]}))
    flash(f"Now tracking '{theme.name}'. Edit it to add a description or an owner.", "success")
    return redirect(url_for("themes.show", theme_id=theme.id))
