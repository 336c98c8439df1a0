"""Idempotency-Key on POST /api/v1/debriefs, /deals and /practices: a retry
gets the first answer and stores nothing twice."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from kb.extensions import db
from kb.models import Deal, Debrief, IdempotencyKey, Practice
from tests.conftest import debrief_payload, row_counts
from tests.test_api_deals import deal_body
from tests.test_practices import practice_payload

WRITES = [
    ("/api/v1/debriefs", debrief_payload, Debrief, "rep"),
    ("/api/v1/deals", deal_body, Deal, "manager"),
    ("/api/v1/practices", practice_payload, Practice, "manager"),
]


def stored(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def post(client, api, user, url, body, key):
    return client.post(url, json=body, headers={**api._headers(user), "Idempotency-Key": key})


@pytest.mark.parametrize(("url", "payload", "model", "role"), WRITES)
def test_a_retry_gets_the_first_answer_and_stores_nothing_twice(
    client, api, users, url, payload, model, role
):
    user = getattr(users, role)
    first = post(client, api, user, url, payload(), "retry-1")
    assert first.status_code == 201, first.json
    before = row_counts()
    again = post(client, api, user, url, payload(), "retry-1")
    assert again.status_code == 201
    assert again.json == first.json
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert row_counts() == before and stored(model) == 1

    # A new key is a new request.
    other = post(client, api, user, url, payload(), "retry-2")
    assert other.status_code in (200, 201) and "Idempotent-Replayed" not in other.headers


@pytest.mark.parametrize(("url", "payload", "model", "role"), WRITES)
def test_the_same_key_with_another_body_is_refused(client, api, users, url, payload, model, role):
    user = getattr(users, role)
    assert post(client, api, user, url, payload(), "k").status_code == 201
    before = row_counts()
    changed = payload()
    changed["status" if "status" in changed else "name"] = "draft"
    refused = post(client, api, user, url, changed, "k")
    assert refused.status_code == 422
    assert refused.json["error"] == "idempotency_key_reused"
    assert "different request" in refused.json["message"]
    assert row_counts() == before and stored(model) == 1


def test_keys_are_each_users_own(client, api, users):
    mine = post(client, api, users.rep, "/api/v1/debriefs", debrief_payload(), "shared")
    theirs = post(client, api, users.peer, "/api/v1/debriefs", debrief_payload(), "shared")
    assert mine.status_code == theirs.status_code == 201
    assert mine.json["id"] != theirs.json["id"]
    assert theirs.json["author"]["id"] == users.peer.id


def test_a_refused_request_may_be_sent_again_with_its_key(client, api, users):
    bad = debrief_payload(deal={"amount": -5})
    first = post(client, api, users.rep, "/api/v1/debriefs", bad, "fix-me")
    assert first.status_code == 400 and stored(IdempotencyKey) == 0
    fixed = post(client, api, users.rep, "/api/v1/debriefs", bad, "fix-me")
    assert fixed.status_code == 400  # the same request, checked again, not replayed
    assert "Idempotent-Replayed" not in fixed.headers


def test_keys_expire_after_a_day(client, api, users):
    with time_machine.travel(datetime(2026, 3, 1, 12, tzinfo=UTC), tick=False):
        first = post(client, api, users.manager, "/api/v1/deals", deal_body(), "daily")
        assert first.status_code == 201
    later = datetime(2026, 3, 1, 12, tzinfo=UTC) + timedelta(hours=25)
    with time_machine.travel(later, tick=False):
        again = post(client, api, users.manager, "/api/v1/deals", deal_body(), "daily")
    # Forgotten: the request ran again (an update of the same CRM id, 200).
    assert again.status_code == 200 and "Idempotent-Replayed" not in again.headers
    assert stored(Deal) == 1


@pytest.mark.parametrize("key", ["", " ", "x" * 256, "tab\there"])
def test_a_malformed_key_is_refused(client, api, users, key):
    api._headers(users.rep)  # the token, made before counting
    before = row_counts()
    response = post(client, api, users.rep, "/api/v1/debriefs", debrief_payload(), key)
    assert response.status_code == 400
    assert response.json["error"] == "invalid_idempotency_key"
    assert row_counts() == before


def test_the_header_is_documented(client):
    document = client.get("/api/v1/openapi.json").get_json()
    for path in ("/api/v1/debriefs", "/api/v1/deals", "/api/v1/practices"):
        operation = document["paths"][path]["post"]
        header = next(p for p in operation["parameters"] if p["name"] == "Idempotency-Key")
        assert header["in"] == "header" and "24 hours" in header["description"]
        assert {"409", "422"} <= set(operation["responses"])
