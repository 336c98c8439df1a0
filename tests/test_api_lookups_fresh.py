"""What an API request looks up on every call (the bearer token's user, the
competitors and categories a debrief names) is read afresh each time: an
admin's change counts from the very next request, in the same server
process."""

from sqlalchemy import select

from kb.auth.service import create_token, user_for_token
from kb.extensions import db
from kb.models import Competitor, ReasonCategory
from tests.conftest import debrief_payload

URL = "/api/v1/debriefs"


def _buyer_payload() -> dict:
    return debrief_payload(source="buyer", interviewee_role="CFO")


def test_a_changed_role_name_or_active_flag_counts_from_the_next_request(client, users, auth, api):
    assert api.post(users.rep, URL, json=_buyer_payload()).status_code == 403
    filed = api.post(users.rep, URL, json=debrief_payload())
    assert filed.status_code == 201 and filed.json["author"]["name"] == "Rita Rep"

    auth.login(users.admin)
    edited = client.post(
        f"/admin/users/{users.rep.id}",
        data={"name": "Rita Manager", "role": "manager", "team": "", "new_team": ""},
    )
    assert edited.status_code == 302
    promoted = api.post(users.rep, URL, json=_buyer_payload())
    assert promoted.status_code == 201, promoted.json
    assert promoted.json["author"]["name"] == "Rita Manager"

    client.post(f"/admin/users/{users.rep.id}/active", data={"active": "0"})
    assert api.get(users.rep, URL).status_code == 401
    client.post(f"/admin/users/{users.rep.id}/active", data={"active": "1"})
    assert api.get(users.rep, URL).status_code == 200


def test_a_revoked_token_stops_at_the_next_request(client, users, auth):
    token = create_token(users.rep, "CRM sync")
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.get(URL, headers=bearer).status_code == 200
    auth.login(users.rep)
    record = users.rep.tokens[0]
    assert client.post(f"/settings/tokens/{record.id}/revoke").status_code == 302
    assert client.get(URL, headers=bearer).status_code == 401


def test_the_tokens_user_is_the_one_the_session_holds(users):
    token = create_token(users.rep)
    found = user_for_token(token)
    assert found is users.rep
    assert user_for_token(token + "x") is None


def test_the_tokens_user_is_an_ordinary_persistent_user(app, users):
    token = create_token(users.rep)
    user_id = users.rep.id
    db.session.expunge_all()
    found = user_for_token(token)
    assert found.id == user_id and found.email == "rep@example.com"
    assert found in db.session and not db.session.dirty and not db.session.new
    # Relationships load when asked for, as they do on a user an ORM query read.
    assert found.team.name == "East" and [t.user_id for t in found.tokens] == [user_id]


def test_a_renamed_competitor_and_an_alias_count_from_the_next_request(client, users, auth, api):
    payload = debrief_payload()
    payload["deal"]["competitors"] = ["SFDC"]
    payload["deal"]["winner"] = "acme corp"
    filed = api.post(users.rep, URL, json=payload)
    assert filed.status_code == 201, filed.json
    assert filed.json["deal"]["competitors"] == ["Acme", "Salesforce"]
    assert filed.json["deal"]["winner"] == "Acme"

    acme = db.session.scalar(select(Competitor).where(Competitor.name == "Acme"))
    auth.login(users.admin)
    assert (
        client.post(f"/admin/competitors/{acme.id}", data={"name": "Acme Inc"}).status_code == 302
    )
    # The payload names Acme three times (competitor, winner, a reason's competitor).
    refused = api.post(users.rep, URL, json=debrief_payload())
    assert refused.status_code == 400
    assert set(refused.json["fields"]) == {
        "deal.competitors.0",
        "deal.winner",
        "reasons.0.competitor",
    }
    # The old name's alias still names it.
    renamed = debrief_payload()
    renamed["deal"].update(competitors=["acme inc"], winner="ACME Corp")
    renamed["reasons"][0]["competitor"] = "Acme Inc"
    filed = api.post(users.rep, URL, json=renamed)
    assert filed.status_code == 201, filed.json
    assert filed.json["deal"]["winner"] == "Acme Inc"
    assert filed.json["reasons"][0]["competitor"] == "Acme Inc"


def test_a_retired_category_is_refused_until_reactivated(client, users, auth, api):
    total_cost = db.session.scalar(
        select(ReasonCategory).where(ReasonCategory.slug == "price.total-cost")
    )
    assert api.post(users.rep, URL, json=debrief_payload()).status_code == 201
    auth.login(users.admin)
    url = f"/admin/taxonomy/{total_cost.id}/active"
    assert client.post(url, data={"active": "0"}).status_code == 302
    refused = api.post(users.rep, URL, json=debrief_payload())
    assert refused.status_code == 400 and "reasons.0.category" in refused.json["fields"]
    assert client.post(url, data={"active": "1"}).status_code == 302
    assert api.post(users.rep, URL, json=debrief_payload()).status_code == 201
