"""In a real browser, CSRF protection on: a rep turns a won debrief's "what
worked" into a published practice, a peer finds it through the playbook's
search and endorses it."""

import re

import pytest

from kb.extensions import db
from kb.models import Endorsement, Practice, PracticeStatus
from tests.browser import expect
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

WHAT_WORKED = "Ran a two-week paid pilot with their operations team before the final demo."


@pytest.fixture
def app_config(app_config):
    return {**app_config, "WTF_CSRF_ENABLED": True}


def sign_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name=re.compile(r"^Hello, "))).to_be_visible()


def test_share_a_win_then_find_and_endorse_it(live_server, browser_page, users, make_debrief):
    debrief = make_debrief(
        users.rep, deal={"outcome": "won", "winner": None}, what_worked=WHAT_WORKED
    )
    db.session.commit()
    page = browser_page

    # Rita shares what worked from her won debrief.
    sign_in(page, live_server, "rep@example.com")
    page.goto(f"{live_server}/debriefs/{debrief.id}")
    page.get_by_role("link", name="Share as practice").click()
    expect(page.get_by_role("heading", name="Share a practice or lesson")).to_be_visible()
    expect(page.get_by_label("Kind")).to_have_value("practice")
    expect(page.get_by_label("Title")).to_have_value("How we won against Acme in Enterprise")
    expect(page.get_by_label("Actions taken")).to_have_value(WHAT_WORKED)
    expect(page.get_by_role("region", name="Linked deal")).to_contain_text("Initech renewal")

    # Publishing with no title fails by its field and keeps what was typed.
    page.get_by_label("Title").fill("")
    page.get_by_label("Tags").fill("pilot, Operations")
    page.get_by_role("button", name="Publish").click()
    expect(page.locator("#title-error")).to_contain_text("cannot be empty")
    expect(page.get_by_label("Tags")).to_have_value("pilot, Operations")
    expect(page.get_by_label("Actions taken")).to_have_value(WHAT_WORKED)
    page.get_by_label("Title").fill("Run a paid pilot before the final demo")
    page.get_by_role("button", name="Publish").click()

    expect(page).to_have_url(re.compile(r"/practices/\d+$"))
    expect(page.get_by_text("Published to the playbook.")).to_be_visible()
    context = page.get_by_role("region", name="Deal context")
    expect(context).to_contain_text("Won")
    expect(context).to_contain_text("Acme")
    db.session.expire_all()
    practice = db.session.query(Practice).one()
    assert practice.status == PracticeStatus.PUBLISHED
    assert (practice.debrief_id, practice.deal_id) == (debrief.id, debrief.deal_id)
    assert [t.name for t in practice.tags] == ["operations", "pilot"]

    # Pete finds it from the playbook's search and endorses it.
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, live_server, "peer@example.com")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Playbook").click()
    page.get_by_role("searchbox", name="Search").fill("paid pilot")
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"q=paid\+pilot"))
    page.get_by_role("link", name="Run a paid pilot before the final demo").click()
    expect(page.get_by_text("by Rita Rep")).to_be_visible()
    page.get_by_role("button", name="I tried this (0)").click()
    pressed = page.get_by_role("button", name="✓ I tried this (1)")
    expect(pressed).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_role("button", name="Helpful (0)")).to_be_visible()

    db.session.expire_all()
    endorsement = db.session.query(Endorsement).one()
    assert (endorsement.user_id, endorsement.kind.value) == (users.peer.id, "tried")
