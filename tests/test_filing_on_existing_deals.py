"""Filing a debrief on a deal that is already stored (imported from a CRM),
by the paths people take: the "File debrief" link of a rep's to-do list, the
same link on a manager's Coverage page, and the API with `deal_id` plus the
deal's facts. The form always sends the deal's facts, as a browser does.
What was stored is read back through a connection of its own."""

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.extensions import db
from kb.models import Deal, DebriefSource, DebriefStatus
from tests.conftest import debrief_payload
from tests.test_coverage import todo_rows
from tests.test_debrief_form import open_form, row

CRM_ID = "0065g00000XyZ001AAA"
REASON = {
    "category": "price.total-cost",
    "direction": "hurt",
    "explanation": "Acme bundled implementation at no cost.",
    "competitor": "Acme",
}


@pytest.fixture
def crm_deal(api, users) -> int:
    """A lost deal of Rita's, closed a month ago, as the CRM posts it."""
    body = {
        "crm_id": CRM_ID,
        "name": "Deal Umbrella",
        "account": "Umbrella Corp",
        "amount": 72000,
        "currency": "USD",
        "close_date": (date.today() - timedelta(days=30)).isoformat(),
        "outcome": "lost",
        "segment": "Enterprise",
        "owner_email": users.rep.email,
        "competitors": ["Acme", "Globex"],
        "winner": "Acme",
    }
    response = api.post(users.admin, "/api/v1/deals", json=body)
    assert response.status_code == 201, response.json
    return response.json["id"]


def stored(deal_id: int) -> dict:
    """The deal and its debriefs as another connection reads them."""
    with Session(db.engine) as session:
        deal = session.get(Deal, deal_id)
        deals = session.scalars(select(Deal.crm_id)).all()
        return {
            "deals": deals,
            "amount": deal.amount,
            "competitors": sorted(c.name for c in deal.competitors),
            "debriefs": [
                (
                    d.source,
                    d.status,
                    d.author.email,
                    [(r.category.slug, r.explanation) for r in d.reasons],
                )
                for d in deal.debriefs
            ],
        }


def file_debrief_link(page: str, deal_name: str) -> str:
    """The "File debrief" link of the deal's row in a table of the page."""
    for table_row in re.findall(r"<tr>.*?</tr>", page, re.S):
        if f"<td>{deal_name}" in table_row:
            link = re.search(r'href="([^"]+)"[^>]*>File debrief</a>', table_row)
            assert link, table_row
            return link.group(1).replace("&amp;", "&")
    raise AssertionError(f"no row for {deal_name}")


def submit_the_form(client, url: str):
    """Open the form as the link shows it, add a reason, press Submit."""
    form = open_form(client, url)
    # The deal's facts are in the form, filled in from the stored deal.
    assert form["deal-name"] == "Deal Umbrella" and form["deal-account"] == "Umbrella Corp"
    assert form["deal-outcome"] == "lost"
    form.fill(row("reasons", 0, REASON))
    return form.press(client, url, "submit")


def test_a_rep_files_from_the_to_do_list(client, auth, users, crm_deal):
    auth.login(users.rep)
    home = client.get("/").get_data(as_text=True)
    assert "Deal Umbrella" in todo_rows_by_name(home)
    url = file_debrief_link(home, "Deal Umbrella")

    response = submit_the_form(client, url)
    assert response.status_code == 302, response.get_data(as_text=True)
    assert re.fullmatch(r"/debriefs/\d+", response.headers["Location"])

    found = stored(crm_deal)
    assert found["deals"] == [CRM_ID]  # filed on the imported deal, no new one
    assert found["debriefs"] == [
        (
            DebriefSource.REP,
            DebriefStatus.SUBMITTED,
            users.rep.email,
            [("price.total-cost", REASON["explanation"])],
        )
    ]
    assert found["amount"] == Decimal("72000.00")
    assert found["competitors"] == ["Acme", "Globex"]
    assert "Deal Umbrella" not in todo_rows_by_name(client.get("/").get_data(as_text=True))


def test_a_manager_files_from_coverage(client, auth, users, crm_deal):
    auth.login(users.manager)
    coverage = client.get("/coverage").get_data(as_text=True)
    url = file_debrief_link(coverage, "Deal Umbrella")

    response = submit_the_form(client, url)
    assert response.status_code == 302, response.get_data(as_text=True)

    found = stored(crm_deal)
    assert found["deals"] == [CRM_ID]
    assert found["debriefs"] == [
        (
            DebriefSource.REP,
            DebriefStatus.SUBMITTED,
            users.manager.email,
            [("price.total-cost", REASON["explanation"])],
        )
    ]
    # No longer overdue on Coverage, and no longer waiting in Rita's to-do list.
    assert "Deal Umbrella" not in client.get("/coverage").get_data(as_text=True)
    auth.logout()
    auth.login(users.rep)
    assert "Deal Umbrella" not in todo_rows_by_name(client.get("/").get_data(as_text=True))


def test_the_api_files_with_deal_id_and_changed_deal_facts(api, client, auth, users, crm_deal):
    payload = debrief_payload(
        deal={
            # All of the deal's facts, as the form sends them: facts left out are cleared.
            "crm_id": CRM_ID,
            "name": "Deal Umbrella",
            "account": "Umbrella Corp",
            "amount": 80000,  # changed
            "close_date": (date.today() - timedelta(days=30)).isoformat(),
            "competitors": ["Acme", "Globex", "Salesforce"],  # one more
        }
    )
    payload["deal_id"] = crm_deal
    response = api.post(users.rep, "/api/v1/debriefs", json=payload)
    assert response.status_code == 201, response.json

    found = stored(crm_deal)
    assert found["deals"] == [CRM_ID]
    assert found["amount"] == Decimal("80000.00")
    assert found["competitors"] == ["Acme", "Globex", "Salesforce"]
    assert [(source, status, email) for source, status, email, _ in found["debriefs"]] == [
        (DebriefSource.REP, DebriefStatus.SUBMITTED, users.rep.email)
    ]
    assert len(found["debriefs"][0][3]) == 2  # both reasons of the payload
    auth.login(users.rep)
    assert "Deal Umbrella" not in todo_rows_by_name(client.get("/").get_data(as_text=True))


def todo_rows_by_name(page: str) -> dict[str, str]:
    """The rep's to-do rows by deal name; none when the list is not shown."""
    if "Deals waiting for your debrief" not in page:
        return {}
    return todo_rows(page)


def test_facts_left_out_of_an_api_filing_keep_their_stored_values(api, users, crm_deal):
    """A CRM posting a debrief with `deal_id` and only the facts it changed
    must not wipe the others: the CRM id above all, or the next import would
    make a second deal."""
    payload = debrief_payload()
    payload["deal"] = {
        "name": "Deal Umbrella",
        "account": "Umbrella Corp",
        "close_date": (date.today() - timedelta(days=30)).isoformat(),
        "outcome": "lost",
        "amount": 75000,  # the one change
    }
    payload["deal_id"] = crm_deal
    response = api.post(users.rep, "/api/v1/debriefs", json=payload)
    assert response.status_code == 201, response.json

    found = stored(crm_deal)
    assert found["deals"] == [CRM_ID]
    assert found["amount"] == Decimal("75000.00")
    assert found["competitors"] == ["Acme", "Globex"]
    with Session(db.engine) as session:
        deal = session.get(Deal, crm_deal)
        assert (deal.segment, deal.winner_competitor.name) == ("Enterprise", "Acme")
