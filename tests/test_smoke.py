from sqlalchemy import func, select

from kb.extensions import db
from kb.models import Debrief


def test_api_round_trip_with_token(api, users):
    from tests.conftest import debrief_payload

    created = api.post(users.rep, "/api/v1/debriefs", json=debrief_payload())
    assert created.status_code == 201, created.json
    body = created.json
    assert body["deal"]["winner"] == "Acme"
    assert [r["category"] for r in body["reasons"]] == ["price.total-cost", "product.integrations"]
    got = api.get(users.rep, f"/api/v1/debriefs/{body['id']}")
    assert got.json["quotes"][0]["text"] == "Your pricing was simply too high."
    bad = api.post(users.rep, "/api/v1/debriefs", json=debrief_payload(deal={"amount": -5}))
    assert bad.status_code == 400 and "deal.amount" in bad.json["fields"]
    assert db.session.scalar(select(func.count()).select_from(Debrief)) == 1
