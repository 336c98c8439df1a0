"""The monthly review pack: one printable page per month."""

from datetime import date

from flask import Blueprint, abort, render_template, request
from flask_login import current_user, login_required

from kb.analytics.charts import percent, points
from kb.review import pack

bp = Blueprint("review", __name__)


@bp.before_request
@login_required
def require_login():
    pass


@bp.get("/review")
def pack_page():
    if not pack.can_read(current_user):
        abort(403)
    today = date.today()
    raw = (request.args.get("month") or "").strip()
    month = pack.parse_month(raw) if raw else None
    error = None
    if month is None:
        if raw:
            error = f"“{raw[:20]}” is not a month: showing the last complete month instead."
        month = pack.default_month(today)
    return render_template(
        "review/pack.html",
        title=f"Review pack · {month.label}",
        pack=pack.build(current_user, month, today),
        default=pack.default_month(today),
        month_error=error,
        percent=percent,
        points=points,
    )
