"""/api/v1/deals: a CRM posts each deal when it closes; deals are listed and read."""

from typing import Any

from flask import request, url_for

from kb.api import MAX_PER_PAGE, ApiError, api_user, bp, json_body, positive_int_arg
from kb.api.idempotency import idempotent
from kb.auth.service import find_user
from kb.deals import queries, service
from kb.debriefs.queries import paginate
from kb.debriefs.service import deal_as_input
from kb.extensions import db
from kb.models import Deal, DebriefSource, DebriefStatus, Outcome, Role
from kb.permissions import can_view_debrief
from kb.validation import id_from_text

POSTERS = (Role.ADMIN, Role.MANAGER)
_BOOLEANS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def deal_json(deal: Deal) -> dict[str, Any]:
    body = deal_as_input(deal)
    body["amount"] = float(body["amount"]) if body["amount"] is not None else None
    user = api_user()
    owner = deal.owner
    body.update(
        id=deal.id,
        owner={"id": owner.id, "name": owner.display_name, "email": owner.email} if owner else None,
        has_rep_debrief=any(
            d.source == DebriefSource.REP and d.status == DebriefStatus.SUBMITTED
            for d in deal.debriefs
        ),
        debriefs=[
            {
                "id": d.id,
                "source": d.source.value,
                "status": d.status.value,
                "url": url_for("api.get_debrief", debrief_id=d.id, _external=True),
            }
            for d in deal.debriefs
            if can_view_debrief(user, d)
        ],
        created_at=deal.created_at.isoformat() if deal.created_at else None,
        updated_at=deal.updated_at.isoformat() if deal.updated_at else None,
        url=url_for("api.get_deal", deal_id=deal.id, _external=True),
    )
    return body


def _outcome_arg() -> Outcome | None:
    raw = request.args.get("outcome")
    if raw is None or raw == "":
        return None
    if raw not in {o.value for o in Outcome}:
        raise ApiError(400, "invalid_parameter", "'outcome' must be won, lost or no_decision.")
    return Outcome(raw)


def _bool_arg(name: str) -> bool | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    if raw.lower() not in _BOOLEANS:
        raise ApiError(400, "invalid_parameter", f"'{name}' must be true or false.")
    return _BOOLEANS[raw.lower()]


def _owner_arg() -> int | None:
    """A user id, "me", or an e-mail address (an unknown one matches nothing)."""
    raw = request.args.get("owner", "").strip()
    if not raw:
        return None
    if raw == "me":
        return api_user().id
    if (owner_id := id_from_text(raw)) is not None:
        return owner_id
    if "@" in raw:
        user = find_user(raw)
        return user.id if user else 0
    raise ApiError(
        400, "invalid_parameter", "'owner' must be a user id, 'me' or an e-mail address."
    )


@bp.get("/deals")
def list_deals():
    per_page = min(positive_int_arg("per_page", 25), MAX_PER_PAGE)
    stmt = queries.deal_list(
        api_user(),
        owner_id=_owner_arg(),
        outcome=_outcome_arg(),
        has_debrief=_bool_arg("has_debrief"),
        crm_id=request.args.get("crm_id", "").strip() or None,
    )
    page = paginate(stmt, positive_int_arg("page", 1), per_page)
    return {
        "items": [deal_json(d) for d in page.items],
        "page": page.page,
        "per_page": page.per_page,
        "total": page.total,
        "pages": page.pages,
    }


@bp.post("/deals")
@idempotent
def post_deal():
    """Create the deal with this CRM id (201) or update it (200). Fields left
    out of an update keep their stored values."""
    user = api_user()
    if user.role not in POSTERS:
        raise ApiError(403, "forbidden", "Only managers and admins may post deals.")
    change = service.upsert_deal(user, json_body(), via="API")
    body = deal_json(change.deal)
    body["warnings"] = change.warnings
    if change.action == "create":
        return body, 201, {"Location": url_for("api.get_deal", deal_id=change.deal.id)}
    return body, 200


@bp.get("/deals/<int:deal_id>")
def get_deal(deal_id: int):
    deal = db.session.get(Deal, deal_id)
    if deal is None or not queries.can_view_deal(api_user(), deal):
        raise ApiError(404, "not_found", f"No deal {deal_id}.")
    return deal_json(deal)
