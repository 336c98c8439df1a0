"""Downloads: /exports/debriefs.<fmt> (any search page filter),
/exports/themes.<fmt> and /exports/practices.<fmt>, for managers, marketing
and admins. Responses stream; nothing is built in memory first."""

from datetime import date

from flask import Blueprint, Response, abort, request, stream_with_context
from flask_login import current_user, login_required

from kb.analytics.periods import choose_period
from kb.exports import build, formats
from kb.models import Role
from kb.practices.queries import PlaybookParams
from kb.search import SearchParams

bp = Blueprint("exports", __name__, url_prefix="/exports")

EXPORTERS = (Role.MANAGER, Role.MARKETING, Role.ADMIN)


def can_export(user) -> bool:
    return user.is_authenticated and user.role in EXPORTERS


@bp.get("/<what>.<fmt>")
@login_required
def download(what: str, fmt: str):
    if what not in build.WHATS or fmt not in formats.FORMATS:
        abort(404)
    if not can_export(current_user):
        abort(403)
    today = date.today()
    period, _, _ = choose_period(request.args, today, "90d")
    args = build.arguments(
        search=SearchParams.from_args(request.args),
        playbook=PlaybookParams.from_args(request.args),
        period=period,
        today=today,
    )
    kind = request.args.get("kind", what)
    user = current_user._get_current_object()
    body = build.chunks(what, fmt, kind, user, user, args)
    name = build.filename(what, fmt, kind, today)
    return Response(
        stream_with_context(body),
        content_type=formats.CONTENT_TYPES[fmt],
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )
