"""Idempotency-Key when the first request is interrupted: a retry learns what
was stored, whenever the process died, instead of hearing for a day that the
first request is still being answered."""

import importlib
import threading
from datetime import timedelta

import pytest
import requests
from flask import has_request_context
from sqlalchemy import event, update

from kb.api import idempotency
from kb.auth.service import create_token
from kb.extensions import db
from kb.models import Deal, Debrief, IdempotencyKey
from tests.conftest import debrief_payload, row_counts
from tests.test_api_deals import deal_body
from tests.test_api_idempotency import WRITES, post, stored


class Died(Exception):
    """The process ends here: nothing after this point runs."""


@pytest.fixture
def die_after_the_next_commit():
    """Once called, the next commit a request makes reaches the database,
    then the process dies before anything else runs (no answer is sent)."""
    armed, died = [], []

    def die(session) -> None:
        if armed and not died and has_request_context():
            died.append(True)
            raise Died

    event.listen(db.session, "after_commit", die)
    yield lambda: armed.append(True) or died
    event.remove(db.session, "after_commit", die)


def _signed_in(api, user) -> None:
    """The token made and its first use recorded (a commit of its own)."""
    assert api.get(user, "/api/v1/debriefs").status_code == 200


@pytest.mark.parametrize(("url", "payload", "model", "role"), WRITES)
def test_a_retry_after_the_process_died_past_the_commit_gets_the_answer(
    client, api, users, url, payload, model, role, die_after_the_next_commit
):
    user = getattr(users, role)
    _signed_in(api, user)
    died = die_after_the_next_commit()
    with pytest.raises(Died):
        post(client, api, user, url, payload(), "died")
    assert died and stored(model) == 1
    before = row_counts()

    retry = post(client, api, user, url, payload(), "died")
    assert retry.status_code == 201, retry.json
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert row_counts() == before and stored(model) == 1
    # The answer says where the stored object is, and it is that object.
    read = api.get(user, retry.headers["Location"])
    assert read.status_code == 200 and read.json["id"] == retry.json["id"]


# What each view calls to write its answer, after its service has committed.
ANSWERS = {
    "/api/v1/debriefs": ("kb.api.debriefs", "debrief_json"),
    "/api/v1/deals": ("kb.api.deals", "deal_json"),
    "/api/v1/practices": ("kb.api.practices", "_detail"),
}


@pytest.mark.parametrize(("url", "payload", "model", "role"), WRITES)
def test_a_request_that_fails_after_its_writes_stores_nothing_and_may_be_sent_again(
    client, api, users, monkeypatch, url, payload, model, role
):
    user = getattr(users, role)
    _signed_in(api, user)
    before = row_counts()

    def fail(*args, **kwargs):
        raise Died

    monkeypatch.setattr(importlib.import_module(ANSWERS[url][0]), ANSWERS[url][1], fail)
    with pytest.raises(Died):
        post(client, api, user, url, payload(), "failed")
    monkeypatch.undo()
    assert row_counts() == before

    again = post(client, api, user, url, payload(), "failed")
    assert again.status_code == 201 and "Idempotent-Replayed" not in again.headers
    assert stored(model) == 1


def _interrupted_by_an_earlier_release(key: str, age: timedelta) -> None:
    """What a release that committed the claim with the writes and the answer
    after them left when its process died in between."""
    db.session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.key == key)
        .values(status=None, body=None, location=None, created_at=idempotency._now() - age)
    )
    db.session.commit()


def test_a_claim_left_without_an_answer_is_reported_plainly_once_its_lease_is_over(
    client, api, users
):
    body = debrief_payload()
    assert post(client, api, users.rep, "/api/v1/debriefs", body, "old").status_code == 201
    _interrupted_by_an_earlier_release("old", timedelta(seconds=5))
    before = row_counts()

    recent = post(client, api, users.rep, "/api/v1/debriefs", body, "old")
    assert recent.status_code == 409 and recent.json["error"] == "request_in_progress"

    _interrupted_by_an_earlier_release("old", idempotency.LEASE + timedelta(seconds=1))
    lost = post(client, api, users.rep, "/api/v1/debriefs", body, "old")
    assert lost.status_code == 409 and lost.json["error"] == "answer_not_recorded"
    assert "was stored at" in lost.json["message"]
    assert "still being answered" not in lost.json["message"]
    assert row_counts() == before


# SQLite serialises writers, so the race needs PostgreSQL (the run against it has it).
@pytest.mark.postgresql
def test_retries_sent_while_the_first_is_answered_get_its_answer(app, users, live_server):
    """A client that times out and retries at once: the retries wait for the
    first request and get its answer, not a 409 asking them to come back."""
    token = create_token(users.rep)
    db.session.commit()
    body, callers = debrief_payload(), 6
    start = threading.Barrier(callers)
    answers: list[requests.Response] = []

    def send() -> None:
        start.wait()
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "impatient"}
        answers.append(
            requests.post(f"{live_server}/api/v1/debriefs", json=body, headers=headers, timeout=30)
        )

    threads = [threading.Thread(target=send) for _ in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert [a.status_code for a in answers] == [201] * callers, [a.text for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1
    assert sum("Idempotent-Replayed" not in a.headers for a in answers) == 1
    db.session.rollback()
    assert stored(Debrief) == 1


@pytest.mark.postgresql
def test_requests_that_lose_a_race_and_try_again_remember_their_answer(app, users, live_server):
    """Deals posted at once with one CRM id and keys of their own: the
    losers roll back (their claims with them) and update the winner's deal;
    each answer is still stored with its key, and a retry replays it."""
    token = create_token(users.admin)
    db.session.commit()
    callers = 6
    start = threading.Barrier(callers)
    answers: dict[str, requests.Response] = {}

    def send(n: int) -> None:
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": f"crm-{n}"}
        body = deal_body(amount=1000 + n)
        start.wait()
        answers[f"crm-{n}"] = requests.post(
            f"{live_server}/api/v1/deals", json=body, headers=headers, timeout=30
        )

    threads = [threading.Thread(target=send, args=(n,)) for n in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(a.status_code for a in answers.values()) == [200] * (callers - 1) + [201]
    db.session.rollback()
    assert stored(Deal) == 1 and stored(IdempotencyKey) == callers
    for n in range(callers):
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": f"crm-{n}"}
        retry = requests.post(
            f"{live_server}/api/v1/deals",
            json=deal_body(amount=1000 + n),
            headers=headers,
            timeout=30,
        )
        assert retry.headers["Idempotent-Replayed"] == "true"
        assert (retry.status_code, retry.json()) == (
            answers[f"crm-{n}"].status_code,
            answers[f"crm-{n}"].json(),
        )
