"""Idempotency-Key when a retry races with another request storing the same
CRM id, through a real server: every request is answered (never a 500),
the keyed ones all get one answer, and the CRM id is stored once."""

import threading
import time

import pytest
import requests
from sqlalchemy import create_engine, func, insert, select, text
from sqlalchemy.pool import NullPool

from kb.auth.service import create_token
from kb.extensions import db
from kb.models import Deal, Debrief, IdempotencyKey
from tests.conftest import debrief_payload
from tests.test_api_deals import deal_body

CRM_ID = "0065g00000RaCeAAV"
# Copies of one keyed request (a client retrying at once) and other
# requests, without the key, storing the same CRM id at the same moment.
RETRIES, OTHERS = 3, 3


def _send_at_once(url: str, token: str, keyed: dict, others: list[dict]) -> tuple[list, list]:
    start = threading.Barrier(RETRIES + len(others))
    retried: list[requests.Response] = []
    unkeyed: list[requests.Response] = []

    def send(body: dict, key: str | None, answers: list) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        if key is not None:
            headers["Idempotency-Key"] = key
        start.wait()
        answers.append(requests.post(url, json=body, headers=headers, timeout=60))

    threads = [threading.Thread(target=send, args=(keyed, "race", retried)) for _ in range(RETRIES)]
    threads += [threading.Thread(target=send, args=(body, None, unkeyed)) for body in others]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return retried, unkeyed


def _stored(model, *where) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _assert_one_answer_for_the_key(retried: list[requests.Response]) -> None:
    """The retries of one request all get its answer; only the first ran."""
    assert len({(a.status_code, a.text) for a in retried}) == 1, [a.text for a in retried]
    if retried[0].status_code < 300:
        assert sum("Idempotent-Replayed" not in a.headers for a in retried) == 1


@pytest.mark.postgresql
def test_deal_retries_racing_with_other_posts_of_its_crm_id(app, users, live_server):
    token = create_token(users.admin)
    db.session.commit()
    others = [deal_body(crm_id=CRM_ID, amount=2000 + n) for n in range(OTHERS)]
    retried, unkeyed = _send_at_once(
        f"{live_server}/api/v1/deals", token, deal_body(crm_id=CRM_ID, amount=1000), others
    )

    answers = retried + unkeyed
    assert all(a.status_code in (200, 201) for a in answers), [a.text for a in answers]
    _assert_one_answer_for_the_key(retried)
    # One request created the deal; every other (a retry replaying it aside) updated it.
    created = [a for a in answers if a.status_code == 201]
    assert len({a.json()["id"] for a in answers}) == 1
    assert len(created) in (1, RETRIES) and len(created) - 1 == sum(
        "Idempotent-Replayed" in a.headers for a in created
    )
    assert _stored(Deal, Deal.crm_id == CRM_ID) == 1
    assert _stored(IdempotencyKey) == 1


@pytest.mark.postgresql
def test_debrief_retries_racing_with_other_debriefs_of_its_crm_id(app, users, live_server):
    token = create_token(users.rep)
    db.session.commit()
    others = [debrief_payload(deal={"crm_id": CRM_ID, "amount": 2000 + n}) for n in range(OTHERS)]
    keyed = debrief_payload(deal={"crm_id": CRM_ID, "amount": 1000})
    retried, unkeyed = _send_at_once(f"{live_server}/api/v1/debriefs", token, keyed, others)

    answers = retried + unkeyed
    assert all(a.status_code in (201, 400) for a in answers), [a.text for a in answers]
    _assert_one_answer_for_the_key(retried)
    # The first debrief of the CRM id creates its deal; the others are refused
    # as they are when sent one after the other.
    firsts = [a for a in answers if a.status_code == 201 and "Idempotent-Replayed" not in a.headers]
    assert len(firsts) == 1
    for refused in (a for a in answers if a.status_code == 400):
        assert refused.json()["fields"] == {"deal.crm_id": "Another deal already has this CRM id."}
    assert _stored(Deal, Deal.crm_id == CRM_ID) == 1
    assert _stored(Debrief) == 1
    assert _stored(IdempotencyKey) == (1 if retried[0].status_code == 201 else 0)


@pytest.mark.postgresql
def test_a_request_ended_by_a_deadlock_runs_again_and_is_answered(app, users, live_server):
    """Another writer locks the deal the keyed request updates, then waits
    for the request's key: PostgreSQL ends the request's transaction to
    break the deadlock. The request runs again once the other writer is done
    and is answered as if nothing had happened."""
    token = create_token(users.admin)
    db.session.commit()
    url, headers = f"{live_server}/api/v1/deals", {"Authorization": f"Bearer {token}"}
    created = requests.post(url, json=deal_body(crm_id=CRM_ID), headers=headers, timeout=60)
    assert created.status_code == 201

    other = create_engine(db.engine.url, poolclass=NullPool)
    answers: list[requests.Response] = []
    keyed = {**headers, "Idempotency-Key": "deadlocked"}
    request = threading.Thread(
        target=lambda: answers.append(
            requests.post(url, json=deal_body(crm_id=CRM_ID, amount=777), headers=keyed, timeout=60)
        )
    )
    with other.connect() as writer:
        # The request is the one PostgreSQL picks: it waits first and checks first.
        writer.execute(text("SET deadlock_timeout = '60s'"))
        writer.execute(select(Deal.id).where(Deal.crm_id == CRM_ID).with_for_update())
        request.start()
        _wait_for_a_lock_wait()
        # Waits for the request's claim of the key, until PostgreSQL ends the
        # request's transaction (were this one ended instead, it would raise).
        writer.execute(
            insert(IdempotencyKey).values(
                user_id=users.admin.id, key="deadlocked", request_hash="another request"
            )
        )
        writer.rollback()
    request.join()
    other.dispose()

    (answer,) = answers
    assert answer.status_code == 200, answer.text
    assert answer.json()["amount"] == 777 and "Idempotent-Replayed" not in answer.headers
    retry = requests.post(url, json=deal_body(crm_id=CRM_ID, amount=777), headers=keyed, timeout=60)
    assert retry.headers["Idempotent-Replayed"] == "true" and retry.json() == answer.json()


def _wait_for_a_lock_wait() -> None:
    waiting = text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    for _ in range(200):
        with db.engine.connect() as conn:
            if conn.scalar(waiting):
                return
        time.sleep(0.05)
    raise AssertionError("the request never waited for the lock")
