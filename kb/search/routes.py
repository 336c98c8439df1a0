"""The search page: the query box, facets, results and "more like this"."""

from flask import Blueprint, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.datastructures import MultiDict

from kb import search
from kb.search.service import FACETS, FILTER_LABELS

bp = Blueprint("search", __name__)

SORT_LABELS = {"relevance": "Relevance", "newest": "Newest", "amount": "Amount"}


def toggled(name: str, value: str) -> str:
    """This page's URL with one filter value switched on or off (and page 1)."""
    args = MultiDict(request.args)
    values = args.getlist(name)
    args.setlist(name, [v for v in values if v != value] if value in values else values + [value])
    args.pop("page", None)
    return url_for("search.page", **args.to_dict(flat=False))


def with_args(**changes) -> str:
    args = MultiDict(request.args)
    for key, value in changes.items():
        args.setlist(key, [] if value is None else [str(value)])
    return url_for("search.page", **args.to_dict(flat=False))


@bp.get("/search")
@login_required
def page():
    asked = bool(request.args)
    result = search.search(current_user, search.SearchParams.from_args(request.args))
    facets = [(name, FILTER_LABELS[name], result.facets.get(name, [])) for name in FACETS]
    # A failed search answers 503, so that nothing reads its empty page as "no debriefs".
    status = 503 if result.error else 200
    return render_template(
        "search/index.html",
        result=result,
        asked=asked,
        facets=[f for f in facets if f[2]],
        sorts=SORT_LABELS,
        toggled=toggled,
        with_args=with_args,
        # Each result links back to exactly this page (query, filters, sort, page).
        results_url=request.full_path.rstrip("?"),
        active_filters=sum(len(v) for v in result.filters.values())
        + sum(1 for name in ("date_from", "date_to") if request.args.get(name)),
    ), status
