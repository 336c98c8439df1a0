"""/api/v1/practices: the playbook, practices and lessons, their endorsements
and comments. Every practice in a response is a presenters.present view, so
anonymity holds here as on the pages.

    GET    /practices                         the playbook (filters, q, sort, mine)
    POST   /practices                         share one (PracticeIn)
    GET    /practices/<id>                    one, with its comments
    PATCH  /practices/<id>                    change the fields sent (author, admin)
    DELETE /practices/<id>                    (author, admin)
    POST   /practices/<id>/feature            feature it, body {} (manager, admin)
    DELETE /practices/<id>/feature            stop featuring it
    POST   /practices/<id>/endorsements       {"kind": "tried"|"helpful"}; 409 when repeated
    DELETE /practices/<id>/endorsements/<kind>
    POST   /practices/<id>/comments           {"body": "..."}; published practices only
"""

from typing import Any

from flask import request, url_for

from kb.api import MAX_PER_PAGE, ApiError, api_user, bp, json_body, positive_int_arg
from kb.api.idempotency import idempotent
from kb.extensions import db
from kb.models import EndorsementKind, Practice
from kb.practices import service
from kb.practices.permissions import can_create_practice, can_edit_practice, can_view_practice
from kb.practices.presenters import PracticeView, present
from kb.practices.queries import PlaybookParams, find_practices


def practice_json(view: PracticeView) -> dict[str, Any]:
    body = view.as_json()
    body["url"] = url_for("api.get_practice", practice_id=view.id, _external=True)
    body["page_url"] = url_for("practices.show", practice_id=view.id, _external=True)
    return body


def _get(practice_id: int, for_edit: bool = False) -> Practice:
    practice = db.session.get(Practice, practice_id)
    user = api_user()
    if practice is None or not can_view_practice(user, practice):
        # Someone else's draft does not exist for the caller.
        raise ApiError(404, "not_found", f"No practice {practice_id}.")
    if for_edit and not can_edit_practice(user, practice):
        raise ApiError(403, "forbidden", "Only the author or an admin may change this practice.")
    return practice


def _detail(practice: Practice) -> dict[str, Any]:
    return practice_json(present(practice, api_user(), comments=True))


@bp.errorhandler(service.NotAllowed)
def _not_allowed(exc: service.NotAllowed):
    return {"error": "forbidden", "message": str(exc)}, 403


@bp.get("/practices")
def list_practices():
    """Published practices. Parameters: q, kind, competitor, segment, outcome,
    tag, author (a user id; never matches an anonymous practice unless the
    caller is an admin), sort (newest|endorsements), mine (1: the caller's own,
    drafts included), page, per_page (≤ 100)."""
    per_page = min(positive_int_arg("per_page", 20), MAX_PER_PAGE)
    params = PlaybookParams.from_args(
        request.args,
        page=positive_int_arg("page", 1),
        per_page=per_page,
        mine=request.args.get("mine", "") in ("1", "true"),
    )
    page = find_practices(api_user(), params)
    return {
        "items": [practice_json(view) for view in page.items],
        "page": page.page,
        "per_page": page.per_page,
        "total": page.total,
        "pages": page.pages,
    }


@bp.post("/practices")
@idempotent
def create_practice():
    user = api_user()
    if not can_create_practice(user):
        raise ApiError(403, "forbidden", "Your role may not share practices.")
    practice = service.save_practice(user, service.parse(json_body()))
    location = url_for("api.get_practice", practice_id=practice.id)
    return _detail(practice), 201, {"Location": location}


@bp.get("/practices/<int:practice_id>")
def get_practice(practice_id: int):
    return _detail(_get(practice_id))


@bp.patch("/practices/<int:practice_id>")
def patch_practice(practice_id: int):
    practice = _get(practice_id, for_edit=True)
    patch = json_body()
    if not isinstance(patch, dict):
        raise ApiError(400, "invalid_json", "Send a JSON object with the fields to change.")
    data = service.parse({**service.as_input(practice), **patch})
    return _detail(service.save_practice(api_user(), data, practice))


@bp.delete("/practices/<int:practice_id>")
def delete_practice(practice_id: int):
    service.delete_practice(api_user(), _get(practice_id, for_edit=True))
    return "", 204


@bp.post("/practices/<int:practice_id>/feature")
def feature_practice(practice_id: int):
    return _detail(service.set_featured(api_user(), _get(practice_id), True))


@bp.delete("/practices/<int:practice_id>/feature")
def unfeature_practice(practice_id: int):
    return _detail(service.set_featured(api_user(), _get(practice_id), False))


@bp.post("/practices/<int:practice_id>/endorsements")
def endorse_practice(practice_id: int):
    practice = _get(practice_id)
    data = service.parse_endorsement(json_body())
    try:
        service.endorse(api_user(), practice, data.kind)
    except service.AlreadyEndorsed as exc:
        raise ApiError(409, "already_endorsed", "You already endorsed this.", exc.errors) from None
    return _detail(practice), 201


@bp.delete("/practices/<int:practice_id>/endorsements/<any(tried, helpful):kind>")
def unendorse_practice(practice_id: int, kind: str):
    if not service.unendorse(api_user(), _get(practice_id), EndorsementKind(kind)):
        raise ApiError(404, "not_found", f"You have not endorsed this as '{kind}'.")
    return "", 204


@bp.post("/practices/<int:practice_id>/comments")
def comment_on_practice(practice_id: int):
    practice = _get(practice_id)
    comment = service.add_comment(api_user(), practice, service.parse_comment(json_body()))
    view = present(practice, api_user(), comments=True)
    posted = next(c for c in view.comments if c.id == comment.id)
    return {
        "id": posted.id,
        "byline": posted.byline,
        "body": posted.body,
        "by_author": posted.by_author,
        "created_at": posted.created_at.isoformat(),
        "practice": practice_json(view),
    }, 201
