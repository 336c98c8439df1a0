"""A rep's journey in a real browser, CSRF protection on: a lost deal arrives
from the CRM, the rep files its debrief from the home page's to-do list,
finds it in search, shares a lesson anonymously and endorses a colleague's
practice; the colleague sees the endorsement and not the lesson's author."""

import re
from datetime import date

import pytest

from kb.practices import service as practices
from tests.browser import expect
from tests.journeys import CrmDeal, journey  # noqa: F401 (the fixture)

pytestmark = pytest.mark.browser

REASONS = [
    ("Total cost", "Hurt us", "Acme bundled the onboarding workshops into the licence."),
    ("Integrations", "Helped us", "Their IT lead liked our ERP connector demo."),
]
QUOTE = ("We could not justify the extra onboarding fee to finance.", "CFO")
PEER_PRACTICE = "Bring finance into the first call"


@pytest.fixture
def app_config(app_config):
    return {**app_config, "WTF_CSRF_ENABLED": True}


@pytest.fixture
def peer_practice(users):
    """A practice Pete published before the journey starts."""
    data = practices.parse(
        {
            "title": PEER_PRACTICE,
            "actions": "Asked for the CFO on the discovery call and built the business case there.",
            "status": "published",
        }
    )
    return practices.save_practice(users.peer, data)


def test_rep_files_from_the_todo_list_shares_and_endorses(journey, users, peer_practice):  # noqa: F811
    page = journey.page
    today = date.today()
    report = journey.write_report(
        "opportunities.csv",
        [
            CrmDeal("006A01", "Initech renewal", "lost", users.rep, 6, "Acme", 48_000),
            CrmDeal("006A02", "Hooli pilot", "won", users.peer, 9),
        ],
        today,
    )

    # The deals come from the CRM: Mona imports this week's report.
    journey.sign_in(users.manager.email)
    journey.import_report(report, created=2)
    journey.sign_out()

    # Rita's home page asks for the debrief of her lost deal.
    journey.sign_in(users.rep.email)
    expect(journey.todos()).to_contain_text("Deals waiting for your debrief (1)")
    journey.todo_row("Initech renewal").get_by_role("link", name="File debrief").click()

    expect(page.get_by_role("heading", name="File a win/loss debrief")).to_be_visible()
    expect(page.get_by_label("Deal name")).to_have_value("Initech renewal")
    expect(page.get_by_label("Outcome")).to_have_value("lost")
    for i, (category, effect, explanation) in enumerate(REASONS):
        if i:
            page.get_by_role("button", name="Add another reason").click()
        page.get_by_label("Category", exact=True).nth(i).select_option(label=category)
        page.get_by_label("Effect", exact=True).nth(i).select_option(label=effect)
        page.get_by_label("Explanation", exact=True).nth(i).fill(explanation)
    page.get_by_label("Primary reason").first.check()
    page.get_by_label("Competitor (optional)").first.select_option("Acme")
    page.get_by_label("Quote", exact=True).first.fill(QUOTE[0])
    page.get_by_label("Who said it").first.fill(QUOTE[1])
    page.get_by_role("button", name="Submit debrief").click()

    expect(page.get_by_text("Debrief submitted.")).to_be_visible()
    expect(page.get_by_role("heading", name="Initech renewal")).to_be_visible()

    # Search finds it by the buyer's words.
    journey.menu("Search")
    page.get_by_label("Search the debriefs").fill("onboarding fee")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.get_by_role("article")).to_have_count(1)
    expect(page.get_by_role("link", name="Initech renewal")).to_be_visible()

    # The to-do is gone from her home page.
    journey.menu("Home")
    expect(page.get_by_role("heading", name="Hello, Rita Rep")).to_be_visible()
    expect(journey.todos()).to_have_count(0)
    expect(page.get_by_role("link", name="Initech renewal")).to_be_visible()  # recently submitted

    # She shares the lesson without her name.
    page.get_by_role("link", name="Initech renewal").click()
    page.get_by_role("link", name="Share as lesson").click()
    expect(page.get_by_label("Kind")).to_have_value("lesson")
    page.get_by_label("Title").fill("Price the onboarding before procurement does")
    page.get_by_label("Actions taken").fill("Quote onboarding as part of the licence.")
    page.get_by_label("Publish anonymously").check()
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_text("Published to the playbook.")).to_be_visible()
    expect(page.get_by_text("by You (published anonymously)")).to_be_visible()

    # She endorses Pete's practice, found in the playbook.
    journey.menu("Playbook")
    page.get_by_role("link", name=PEER_PRACTICE).click()
    page.get_by_role("button", name="I tried this (0)").click()
    expect(page.get_by_role("button", name="✓ I tried this (1)")).to_have_attribute(
        "aria-pressed", "true"
    )
    journey.sign_out()

    # Pete sees the endorsement on his practice, and the lesson with no author.
    journey.sign_in(users.peer.email)
    journey.menu("Playbook")
    lesson = page.get_by_role("article").filter(has_text="Price the onboarding")
    expect(lesson).to_contain_text("by Anonymous")
    expect(lesson).not_to_contain_text("Rita")
    page.get_by_role("link", name="Price the onboarding before procurement does").click()
    expect(page.get_by_role("main")).to_contain_text("by Anonymous")
    expect(page.get_by_role("main")).not_to_contain_text("Rita Rep")
    expect(page.get_by_role("main")).not_to_contain_text("Initech")
    journey.menu("Playbook")
    page.get_by_role("link", name=PEER_PRACTICE).click()
    expect(page.get_by_role("region", name="Endorsements")).to_contain_text("I tried this: 1")
    assert re.search(r"/practices/\d+$", page.url)
