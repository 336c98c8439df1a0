"""POST /api/v1/deals (create or update by CRM id), GET /api/v1/deals and /deals/<id>."""

from datetime import date
from decimal import Decimal

from sqlalchemy import func, insert, select

from kb.deals import service
from kb.debriefs import service as debriefs
from kb.extensions import db
from kb.models import AuditEntry, Deal, Debrief, IndexChange, Outcome
from tests.conftest import debrief_payload


def deal_body(**overrides) -> dict:
    body = {
        "crm_id": "0065g00000AbCdEAAV",
        "name": "Initech renewal",
        "account": "Initech",
        "amount": 48000,
        "currency": "usd",
        "close_date": "2026-03-05",
        "outcome": "lost",
        "segment": "enterprise",
        "owner_email": "REP@example.com",
        "competitors": ["Acme", "SFDC"],
        "winner": "Acme",
    }
    body.update(overrides)
    return body


def counts() -> tuple[int, int, int]:
    """Deals, their audit entries and search outbox entries."""
    return (
        db.session.scalar(select(func.count()).select_from(Deal)),
        db.session.scalar(select(func.count()).where(AuditEntry.entity_type == "deal")),
        db.session.scalar(select(func.count()).select_from(IndexChange)),
    )


def debrief_on(author, deal_id: int, **overrides) -> Debrief:
    payload = debrief_payload(**overrides)
    # With the deal's facts, as the form sends them.
    payload["deal"] = debriefs.deal_as_input(db.session.get(Deal, deal_id))
    payload["deal_id"] = deal_id
    return debriefs.save_debrief(author, debriefs.parse(payload))


def test_a_crm_posts_a_deal_then_updates_it(api, users):
    created = api.post(users.admin, "/api/v1/deals", json=deal_body())
    assert created.status_code == 201, created.json
    body = created.json
    assert created.headers["Location"] == f"/api/v1/deals/{body['id']}"
    assert body["segment"] == "Enterprise" and body["currency"] == "USD"
    assert body["competitors"] == ["Acme", "Salesforce"] and body["winner"] == "Acme"
    assert body["owner"]["email"] == "rep@example.com" and body["amount"] == 48000.0
    assert body["has_rep_debrief"] is False and body["warnings"] == {}
    stored = db.session.get(Deal, body["id"])
    assert stored.owner_id == users.rep.id and stored.amount == Decimal("48000.00")
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.entity_type == "deal")).one()
    assert (entry.action, entry.entity_id, entry.user_id) == ("create", stored.id, users.admin.id)

    # The deal turned into a win: only what changed is sent; the rest is kept.
    update = {"crm_id": "0065g00000AbCdEAAV", "outcome": "won", "amount": "52000.50"}
    updated = api.post(users.admin, "/api/v1/deals", json=update)
    assert updated.status_code == 200, updated.json
    assert updated.json["id"] == body["id"]
    assert updated.json["outcome"] == "won" and updated.json["winner"] is None
    assert updated.json["amount"] == 52000.5 and updated.json["name"] == "Initech renewal"
    assert db.session.scalar(select(func.count()).select_from(Deal)) == 1
    change = db.session.scalars(
        select(AuditEntry).where(AuditEntry.entity_type == "deal", AuditEntry.action == "update")
    ).one()
    assert change.changes["outcome"] == ["lost", "won"]
    assert change.changes["amount"] == ["48000.00", "52000.50"]
    assert change.changes["winner"] == ["Acme", None]

    # Posting the same again changes nothing and records nothing.
    before = counts()
    again = api.post(users.admin, "/api/v1/deals", json=update)
    assert again.status_code == 200 and counts() == before


def test_an_update_queues_the_deals_debriefs_for_the_index(api, users):
    deal_id = api.post(users.admin, "/api/v1/deals", json=deal_body()).json["id"]
    debrief = debrief_on(users.rep, deal_id)
    last = db.session.scalar(select(func.max(IndexChange.id)))
    api.post(users.admin, "/api/v1/deals", json={"crm_id": deal_body()["crm_id"], "amount": 1})
    queued = db.session.scalars(select(IndexChange).where(IndexChange.id > last)).all()
    assert [(c.doc_type, c.doc_id) for c in queued] == [("debrief", debrief.id)]


def test_a_deal_stored_at_the_same_moment_is_updated_not_duplicated(api, users, monkeypatch):
    real_write = service._write

    def racing_write(actor, crm_id, existing, *args):
        if existing is None:  # another request stores the same CRM id just now
            with db.engine.begin() as connection:
                connection.execute(
                    insert(Deal.__table__).values(
                        crm_id=crm_id,
                        name="Stored by the other request",
                        account="Initech",
                        currency="USD",
                        close_date=date(2026, 3, 1),
                        outcome=Outcome.LOST,
                    )
                )
        return real_write(actor, crm_id, existing, *args)

    monkeypatch.setattr(service, "_write", racing_write)
    response = api.post(users.admin, "/api/v1/deals", json=deal_body())
    assert response.status_code == 200, response.json
    assert response.json["name"] == "Initech renewal"
    assert db.session.scalar(select(func.count()).select_from(Deal)) == 1


def test_field_errors_store_nothing(api, users):
    before = counts()
    bad = api.post(
        users.admin,
        "/api/v1/deals",
        json=deal_body(
            crm_id="", amount=-5, close_date="2026-02-30", outcome="maybe", colour="red"
        ),
    )
    assert bad.status_code == 400 and bad.json["error"] == "validation_failed"
    assert set(bad.json["fields"]) == {"crm_id", "amount", "close_date", "outcome", "colour"}
    assert bad.json["fields"]["amount"] == "This cannot be negative."

    unknown = api.post(
        users.admin,
        "/api/v1/deals",
        json=deal_body(segment="Galactic", competitors=["Nobody"], winner="Hooli"),
    )
    assert unknown.status_code == 400
    assert unknown.json["fields"] == {
        "segment": "Unknown segment 'Galactic'.",
        "competitors.0": "Unknown competitor 'Nobody'.",
        "winner": "Unknown competitor 'Hooli'.",
    }
    missing = api.post(users.admin, "/api/v1/deals", json={"crm_id": "X1", "name": "Only a name"})
    assert missing.status_code == 400
    assert {"account", "close_date", "outcome"} <= set(missing.json["fields"])
    not_an_object = api.post(users.admin, "/api/v1/deals", json=["a", "list"])
    assert not_an_object.status_code == 400
    assert counts() == before


def test_an_unknown_owner_is_reported_and_the_deal_stored(api, users):
    created = api.post(
        users.manager, "/api/v1/deals", json=deal_body(owner_email="new@example.com")
    )
    assert created.status_code == 201
    assert created.json["owner"] is None
    assert "new@example.com" in created.json["warnings"]["owner_email"]
    # A numeric CRM id (HubSpot's record ids) is taken as text.
    numeric = api.post(users.manager, "/api/v1/deals", json=deal_body(crm_id=14592837301))
    assert numeric.status_code == 201 and numeric.json["crm_id"] == "14592837301"


def test_only_managers_and_admins_post_deals(api, client, users):
    for user in (users.rep, users.marketing):
        response = api.post(user, "/api/v1/deals", json=deal_body())
        assert response.status_code == 403 and response.json["error"] == "forbidden"
    assert db.session.scalar(select(func.count()).select_from(Deal)) == 0
    assert api.post(users.manager, "/api/v1/deals", json=deal_body()).status_code == 201
    assert client.post("/api/v1/deals", json=deal_body()).status_code == 401


def test_list_filters_and_pages(api, users):
    ids = {}
    for crm_id, owner, outcome in [
        ("A", "rep@example.com", "lost"),
        ("B", "rep@example.com", "won"),
        ("C", "peer@example.com", "lost"),
        ("D", "west@example.com", "no_decision"),
    ]:
        body = deal_body(crm_id=crm_id, owner_email=owner, outcome=outcome, winner=None)
        ids[crm_id] = api.post(users.admin, "/api/v1/deals", json=body).json["id"]
    debrief_on(users.rep, ids["A"])

    def listed(user, query=""):
        response = api.get(user, f"/api/v1/deals{query}")
        assert response.status_code == 200, response.json
        return sorted(item["crm_id"] for item in response.json["items"])

    assert listed(users.admin) == ["A", "B", "C", "D"]
    assert listed(users.admin, "?outcome=lost") == ["A", "C"]
    assert listed(users.admin, "?has_debrief=true") == ["A"]
    assert listed(users.admin, "?has_debrief=false") == ["B", "C", "D"]
    assert listed(users.admin, f"?owner={users.peer.id}") == ["C"]
    assert listed(users.admin, "?owner=west@example.com") == ["D"]
    assert listed(users.admin, "?owner=nobody@example.com") == []
    assert listed(users.admin, "?crm_id=B") == ["B"]
    assert listed(users.rep, "?owner=me") == ["A", "B"]
    # A rep sees their own deals and deals with a published debrief.
    assert listed(users.peer) == ["A", "C"]
    # A manager also sees the team's deals.
    assert listed(users.manager) == ["A", "B", "C"]

    page = api.get(users.admin, "/api/v1/deals?per_page=3&page=2").json
    assert (page["total"], page["pages"], page["page"], len(page["items"])) == (4, 2, 2, 1)
    for query in ("?outcome=maybe", "?has_debrief=perhaps", "?page=0", "?owner=x"):
        response = api.get(users.admin, f"/api/v1/deals{query}")
        assert response.status_code == 400 and response.json["error"] == "invalid_parameter"


def test_get_one_deal(api, users):
    deal_id = api.post(users.admin, "/api/v1/deals", json=deal_body()).json["id"]
    got = api.get(users.rep, f"/api/v1/deals/{deal_id}")
    assert got.status_code == 200 and got.json["name"] == "Initech renewal"
    assert got.json["debriefs"] == []
    assert api.get(users.peer, f"/api/v1/deals/{deal_id}").status_code == 404
    assert api.get(users.west_manager, f"/api/v1/deals/{deal_id}").status_code == 404
    assert api.get(users.manager, f"/api/v1/deals/{deal_id}").status_code == 200
    debrief = debrief_on(users.rep, deal_id)
    got = api.get(users.peer, f"/api/v1/deals/{deal_id}")
    assert got.status_code == 200 and got.json["has_rep_debrief"] is True
    assert [d["id"] for d in got.json["debriefs"]] == [debrief.id]
    assert api.get(users.admin, "/api/v1/deals/999999").status_code == 404
