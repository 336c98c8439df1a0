"""Filing a debrief in a real browser, CSRF protection on: sign in, fill the
deal, add rows, fail validation, keep everything typed, add a quote after the
error, fix it, submit, and find it all on the debrief's page."""

import re
from datetime import date, timedelta

import pytest

from kb.extensions import db
from kb.models import Debrief, DebriefStatus
from tests.browser import expect
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

REASONS = [
    ("price.total-cost", "hurt", "Acme threw in implementation for free."),
    ("product.integrations", "helped", "The SAP connector demo won over IT."),
    ("relationship-trust.references", "helped", "Two reference calls with their peers."),
]
QUOTES = [
    ("Acme was simply cheaper over three years.", "CFO"),
    ("Your connector was the best thing we saw.", "IT director"),
]


@pytest.fixture
def app_config(app_config):
    return {**app_config, "WTF_CSRF_ENABLED": True}


def fill_reason(page, i: int) -> None:
    category, direction, explanation = REASONS[i]
    page.locator(f"#reasons-{i}-category").select_option(category)
    page.locator(f"#reasons-{i}-direction").select_option(direction)
    page.locator(f"#reasons-{i}-explanation").fill(explanation)


def test_file_a_debrief_in_the_browser(live_server, browser_page, users):
    page = browser_page
    close_date = (date.today() - timedelta(days=12)).isoformat()

    # Sign in through the login page.
    page.goto(f"{live_server}/")
    expect(page).to_have_url(re.compile(r"/login"))
    page.get_by_label("E-mail").fill("rep@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Hello, Rita Rep")).to_be_visible()

    page.get_by_role("link", name="File a debrief").click()
    expect(page.get_by_role("heading", name="File a win/loss debrief")).to_be_visible()

    # The deal's facts, with an amount that is not a number and no close date.
    page.get_by_label("Deal name").fill("Initech renewal")
    page.get_by_label("Account").fill("Initech")
    page.get_by_label("Outcome").select_option("lost")
    page.get_by_label("Amount").fill("abc")
    page.get_by_label("Segment").select_option("Enterprise")
    page.locator("#deal-competitors input[value='Acme']").check()
    page.get_by_label("Who won").select_option("Acme")

    # Three reasons, added with the button.
    fill_reason(page, 0)
    page.locator("#reasons-0-competitor").select_option("Acme")
    page.locator("#reasons-0-primary").check()
    for i in (1, 2):
        page.get_by_role("button", name="+ Add another reason").click()
        expect(page.locator(f"#reasons-{i}-explanation")).to_have_value("")
        expect(page.locator("#reasons-0-explanation")).to_have_value(REASONS[0][2])
        fill_reason(page, i)
    page.locator("#quotes-0-text").fill(QUOTES[0][0])
    page.locator("#quotes-0-speaker_role").fill(QUOTES[0][1])
    page.get_by_label("Lessons learned").fill("Anchor on total cost early.")

    page.get_by_role("button", name="Submit", exact=True).click()

    # The errors are shown by their fields, and everything typed is still there.
    expect(page.get_by_text("Nothing was saved yet")).to_be_visible()
    expect(page.locator("#deal-amount-error")).to_contain_text("Enter a number")
    expect(page.locator("#deal-close_date-error")).to_contain_text("YYYY-MM-DD")
    expect(page.get_by_label("Amount")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Deal name")).to_have_value("Initech renewal")
    expect(page.get_by_label("Account")).to_have_value("Initech")
    expect(page.get_by_label("Outcome")).to_have_value("lost")
    expect(page.get_by_label("Amount")).to_have_value("abc")
    expect(page.get_by_label("Segment")).to_have_value("Enterprise")
    expect(page.locator("#deal-competitors input[value='Acme']")).to_be_checked()
    expect(page.get_by_label("Who won")).to_have_value("Acme")
    for i, (category, direction, explanation) in enumerate(REASONS):
        expect(page.locator(f"#reasons-{i}-category")).to_have_value(category)
        expect(page.locator(f"#reasons-{i}-direction")).to_have_value(direction)
        expect(page.locator(f"#reasons-{i}-explanation")).to_have_value(explanation)
    expect(page.locator("#reasons-0-primary")).to_be_checked()
    expect(page.locator("#reasons-0-competitor")).to_have_value("Acme")
    expect(page.locator("#quotes-0-text")).to_have_value(QUOTES[0][0])
    expect(page.locator("#quotes-0-speaker_role")).to_have_value(QUOTES[0][1])
    expect(page.get_by_label("Lessons learned")).to_have_value("Anchor on total cost early.")
    db.session.expire_all()
    assert db.session.query(Debrief).count() == 0  # nothing was stored

    # A second quote, added after the error; then the fixes.
    page.get_by_role("button", name="+ Add another quote").click()
    expect(page.locator("#quotes-1-text")).to_have_value("")
    expect(page.locator("#quotes-0-text")).to_have_value(QUOTES[0][0])
    expect(page.get_by_label("Amount")).to_have_value("abc")
    page.locator("#quotes-1-text").fill(QUOTES[1][0])
    page.locator("#quotes-1-speaker_role").fill(QUOTES[1][1])
    page.get_by_label("Amount").fill("48000")
    page.get_by_label("Close date").fill(close_date)
    page.get_by_role("button", name="Submit", exact=True).click()

    # The debrief's page shows all of it.
    expect(page).to_have_url(re.compile(r"/debriefs/\d+$"))
    expect(page.get_by_text("Debrief submitted.")).to_be_visible()
    expect(page.get_by_role("heading", name="Initech renewal")).to_be_visible()
    facts = page.get_by_role("region", name="Deal facts")
    expect(facts).to_contain_text("Lost")
    expect(facts).to_contain_text("$48,000")
    expect(facts).to_contain_text(close_date)
    expect(facts).to_contain_text("Enterprise")
    expect(facts).to_contain_text("Acme")
    reasons = page.locator("ol.reasons > li")
    expect(reasons).to_have_count(3)
    for i, (_, _, explanation) in enumerate(REASONS):
        expect(reasons.nth(i)).to_contain_text(explanation)
    expect(reasons.nth(0)).to_contain_text("Primary")
    expect(reasons.nth(0)).to_contain_text("Price › Total cost")
    quotes = page.locator("figure.quote")
    expect(quotes).to_have_count(2)
    for i, (text, speaker) in enumerate(QUOTES):
        expect(quotes.nth(i)).to_contain_text(text)
        expect(quotes.nth(i)).to_contain_text(speaker)

    db.session.expire_all()
    debrief = db.session.query(Debrief).one()
    assert debrief.status == DebriefStatus.SUBMITTED and debrief.author_id == users.rep.id
    assert [r.explanation for r in debrief.reasons] == [r[2] for r in REASONS]
    assert [(q.text, q.speaker_role) for q in debrief.quotes] == QUOTES
    assert page.url.endswith(f"/debriefs/{debrief.id}")
