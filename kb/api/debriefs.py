"""/api/v1/debriefs"""

from typing import Any

from flask import request, url_for

from kb.api import MAX_PER_PAGE, ApiError, api_user, bp, json_body, positive_int_arg
from kb.api.idempotency import idempotent
from kb.debriefs import queries, service
from kb.extensions import db
from kb.models import Debrief
from kb.permissions import can_edit_debrief, can_file, can_view_debrief


def debrief_json(debrief: Debrief) -> dict[str, Any]:
    body = service.as_input(debrief)
    deal = body["deal"]
    deal["id"] = debrief.deal_id
    deal["amount"] = float(deal["amount"]) if deal["amount"] is not None else None
    body.update(
        id=debrief.id,
        author={"id": debrief.author_id, "name": debrief.author.display_name},
        created_at=debrief.created_at.isoformat(),
        updated_at=debrief.updated_at.isoformat(),
        submitted_at=debrief.submitted_at.isoformat() if debrief.submitted_at else None,
        url=url_for("debriefs.show", debrief_id=debrief.id, _external=True),
    )
    return body


def _get(debrief_id: int, for_edit: bool = False) -> Debrief:
    debrief = db.session.get(Debrief, debrief_id)
    user = api_user()
    if debrief is None or not can_view_debrief(user, debrief):
        # A debrief the user may not read does not exist for them.
        raise ApiError(404, "not_found", f"No debrief {debrief_id}.")
    if for_edit and not can_edit_debrief(user, debrief):
        raise ApiError(403, "forbidden", "You may not change this debrief.")
    return debrief


@bp.get("/debriefs")
def list_debriefs():
    per_page = min(positive_int_arg("per_page", 25), MAX_PER_PAGE)
    filters = {key: request.args.get(key, "") for key in queries.LIST_FILTERS}
    page = queries.paginate(
        queries.debrief_list(api_user(), filters), positive_int_arg("page", 1), per_page
    )
    return {
        "items": [debrief_json(d) for d in page.items],
        "page": page.page,
        "per_page": page.per_page,
        "total": page.total,
        "pages": page.pages,
    }


@bp.post("/debriefs")
@idempotent
def create_debrief():
    data = service.parse(json_body())
    user = api_user()
    if not can_file(user, data.source):
        raise ApiError(403, "forbidden", f"Your role may not file {data.source.value} debriefs.")
    debrief = service.save_debrief(user, data)
    location = url_for("api.get_debrief", debrief_id=debrief.id)
    return debrief_json(debrief), 201, {"Location": location}


@bp.get("/debriefs/<int:debrief_id>")
def get_debrief(debrief_id: int):
    return debrief_json(_get(debrief_id))


@bp.patch("/debriefs/<int:debrief_id>")
def patch_debrief(debrief_id: int):
    debrief = _get(debrief_id, for_edit=True)
    patch = json_body()
    if not isinstance(patch, dict):
        raise ApiError(400, "invalid_json", "Send a JSON object with the fields to change.")
    merged = service.as_input(debrief)
    for key, value in patch.items():
        if key == "deal" and isinstance(value, dict):
            merged["deal"] = {**merged["deal"], **value}
        else:
            merged[key] = value
    data = service.parse(merged)
    return debrief_json(service.save_debrief(api_user(), data, debrief))


@bp.delete("/debriefs/<int:debrief_id>")
def delete_debrief(debrief_id: int):
    service.delete_debrief(api_user(), _get(debrief_id, for_edit=True))
    return "", 204
