"""What filing a debrief through the API costs the database: a fixed, small
number of statements, nothing read again after the commit, and an answer
that is what a later read of the debrief returns. The index writer runs
elsewhere (KB_SEARCH_INDEXER=external), as deployed, so the request does no
index work at all."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from flask import has_request_context
from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError

from kb.api import idempotency
from kb.extensions import db
from kb.models import Debrief, IdempotencyKey, IndexChange
from tests.conftest import _config, debrief_payload

URL = "/api/v1/debriefs"
# The token (with its user), the category, six INSERTs (deal, debrief,
# reasons, quotes, audit entry, outbox), the competitor and choice lookups
# of the test payload, and its deal's competitor links.
MOST_STATEMENTS = 16


@pytest.fixture
def app_config(database_url, tmp_path) -> dict:
    return {**_config(database_url, tmp_path), "KB_SEARCH_INDEXER": "external"}


@pytest.fixture
def statements(app):
    """Every statement the app sends, and "COMMIT" where it commits."""
    seen: list[str] = []

    def statement(conn, cursor, sql, *args):
        if has_request_context():
            seen.append(sql)

    def commit(conn):
        if has_request_context():
            seen.append("COMMIT")

    event.listen(db.engine, "before_cursor_execute", statement)
    event.listen(db.engine, "commit", commit)
    yield seen
    event.remove(db.engine, "before_cursor_execute", statement)
    event.remove(db.engine, "commit", commit)


def _file(api, user, statements, deal_id: int | None = None) -> tuple[dict, list[str]]:
    payload = debrief_payload()
    if deal_id is not None:
        del payload["deal"]
        payload["deal_id"] = deal_id
    statements.clear()
    response = api.post(user, URL, json=payload)
    assert response.status_code == 201, response.json
    return response.json, list(statements)


def test_filing_commits_once_and_reads_nothing_back(api, users, statements):
    _file(api, users.rep, statements)  # the token's first use is recorded once
    _, sent = _file(api, users.rep, statements)

    assert sent.count("COMMIT") == 1 and sent[-1] == "COMMIT"
    assert len(sent) - 1 <= MOST_STATEMENTS, "\n".join(sent)
    inserts = [s.split()[2] for s in sent if s.startswith("INSERT")]
    assert {"deals", "debriefs", "reasons", "quotes", "audit_log", "index_changes"} <= set(inserts)
    # No index work: nothing reads the outbox or the index's state.
    assert not any("FROM index_changes" in s for s in sent)
    # A new deal has no practices to re-index.
    assert not any("FROM practices" in s for s in sent)


def test_the_statements_do_not_grow_with_the_debriefs_stored(api, users, statements):
    _file(api, users.rep, statements)
    _, first = _file(api, users.rep, statements)
    for _ in range(20):
        _file(api, users.rep, statements)
    _, later = _file(api, users.rep, statements)
    assert len(later) == len(first)


def test_the_statements_do_not_grow_with_the_debriefs_on_the_deal(api, users, statements):
    deal_id = _file(api, users.rep, statements)[0]["deal"]["id"]
    _, second = _file(api, users.rep, statements, deal_id)
    for _ in range(5):
        _file(api, users.rep, statements, deal_id)
    _, eighth = _file(api, users.rep, statements, deal_id)

    assert len(eighth) == len(second), "\n".join(eighth)
    # Every debrief of the deal is queued again: each copies the deal's facts.
    on_the_deal = set(db.session.scalars(select(Debrief.id).where(Debrief.deal_id == deal_id)))
    last_queued = db.session.scalars(
        select(IndexChange.doc_id).order_by(IndexChange.id.desc()).limit(len(on_the_deal))
    )
    assert len(on_the_deal) == 8 and set(last_queued) == on_the_deal


def test_the_answer_is_what_reading_the_debrief_returns(api, users):
    payload = debrief_payload()
    payload["deal"]["competitors"] = ["Salesforce", "Globex", "Acme"]
    payload["quotes"].append({"text": "Second quote.", "speaker_role": "CFO"})
    filed = api.post(users.rep, URL, json=payload)
    assert filed.status_code == 201

    read = api.get(users.rep, filed.headers["Location"])
    assert read.json == filed.json
    assert filed.json["deal"]["competitors"] == ["Acme", "Globex", "Salesforce"]
    assert filed.json["created_at"] and filed.json["updated_at"]
    stored = db.session.get(Debrief, filed.json["id"])
    assert [q.text for q in stored.quotes][-1] == "Second quote."


def test_an_expired_key_is_forgotten_between_bulk_deletions(client, api, users, monkeypatch):
    # The suite's pinned today: the payload's dates are relative to it.
    start = datetime.now(UTC)
    headers = {**api._headers(users.rep), "Idempotency-Key": "daily"}
    body = debrief_payload()
    with time_machine.travel(start, tick=False):
        first = client.post(URL, json=body, headers=headers)
    assert first.status_code == 201
    # The bulk deletion of expired keys has just run and will not run again.
    monkeypatch.setattr(idempotency, "FORGET_EVERY", timedelta(days=7))
    with time_machine.travel(start + timedelta(hours=23), tick=False):
        replayed = client.post(URL, json=body, headers=headers)
    assert replayed.headers.get("Idempotent-Replayed") == "true"
    assert replayed.json["id"] == first.json["id"]

    with time_machine.travel(start + timedelta(hours=25), tick=False):
        again = client.post(URL, json=body, headers=headers)
    assert again.status_code == 201 and "Idempotent-Replayed" not in again.headers
    assert again.json["id"] != first.json["id"]
    assert db.session.scalar(select(func.count()).select_from(IdempotencyKey)) == 1
    assert db.session.scalar(select(func.count()).select_from(Debrief)) == 2


def test_a_new_deal_and_its_debrief_are_stored_whole_and_left_clean_in_the_session(app, users):
    """Filing on a new deal writes its rows straight (not through a flush of
    the unit of work): every column, link and default is stored, and the
    session holds the objects as loaded, with nothing left to write."""
    from kb.debriefs import service
    from kb.models import AuditEntry, Deal, deal_competitors

    payload = debrief_payload(source="buyer", interviewee_role="CFO", interviewee_name="Ann")
    payload["deal"]["competitors"] = ["Globex", "Acme"]
    payload["quotes"].append({"text": "Second quote.", "speaker_role": ""})
    debrief = service.save_debrief(users.manager, service.parse(payload))
    answer = service.as_input(debrief)

    assert not db.session.new and not db.session.dirty
    assert debrief.created_at and debrief.updated_at and debrief.deal.created_at
    db.session.expire_all()
    stored = db.session.get(Debrief, debrief.id)
    assert service.as_input(stored) == answer
    assert stored.author_id == users.manager.id and stored.deal.owner_id is None
    assert [r.rank for r in stored.reasons] == [1, 2]
    assert stored.reasons[0].competitor.name == "Acme" and stored.reasons[1].competitor is None
    assert [q.position for q in stored.quotes] == [1, 2]
    assert stored.quotes[1].speaker_role is None
    links = db.session.execute(
        select(deal_competitors.c.competitor_id).where(deal_competitors.c.deal_id == stored.deal_id)
    ).all()
    assert len(links) == 2
    assert stored.deal.winner_competitor.name == "Acme"
    assert db.session.get(Deal, stored.deal_id).currency == "USD"
    audit = db.session.scalar(
        select(AuditEntry).where(
            AuditEntry.entity_type == "debrief", AuditEntry.entity_id == debrief.id
        )
    )
    assert audit.action == "create" and audit.user_id == users.manager.id and audit.at
    assert audit.summary == stored.title and audit.changes == {}
    queued = db.session.scalars(select(IndexChange.doc_id).where(IndexChange.doc_type == "debrief"))
    assert debrief.id in set(queued)


def test_a_filing_refused_by_the_database_stores_nothing(app, users):
    from kb.debriefs import service
    from kb.models import Deal

    first = debrief_payload()
    first["deal"]["crm_id"] = "CRM-1"
    service.save_debrief(users.rep, service.parse(first))
    deals = db.session.scalar(select(func.count()).select_from(Deal))
    # A second deal with the same CRM id, past the lookup that would have
    # refused it (as when two requests race): the INSERT fails, nothing stays.
    second = service.parse(first)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(service.DirectLookups, "deal", staticmethod(lambda crm_id: None))
        with pytest.raises(IntegrityError):
            service.save_debrief(users.rep, second)
    assert not db.session.new
    assert db.session.scalar(select(func.count()).select_from(Deal)) == deals
    assert db.session.scalar(select(func.count()).select_from(Debrief)) == 1
