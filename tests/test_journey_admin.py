"""An admin's journey in a real browser, CSRF protection on: the first run of
a new installation (no user yet), the first admin, a new rep and a new
competitor known by an alias; the CRM report names the competitor by its
alias, the rep's debrief names it, and a search for the alias finds it."""

import re
from datetime import date
from types import SimpleNamespace

import pytest

from kb.auth.service import user_count
from tests.browser import expect
from tests.conftest import PASSWORD
from tests.journeys import CrmDeal, journey  # noqa: F401 (the fixture)

pytestmark = pytest.mark.browser

ROSA = SimpleNamespace(email="rosa@example.com", display_name="Rosa Rep")


@pytest.fixture
def app_config(app_config):
    return {**app_config, "WTF_CSRF_ENABLED": True}


def test_first_admin_sets_up_people_and_competitors(journey):  # noqa: F811
    page = journey.page
    assert user_count() == 0

    # The first visit leads to the setup page.
    journey.open_product()
    expect(page.get_by_role("heading", name="Welcome")).to_be_visible()
    page.get_by_label("Your name").fill("Ada Admin")
    page.get_by_label("E-mail").fill("ada@example.com")
    page.get_by_label("Team (optional)").fill("Head office")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD + "!")
    page.get_by_role("button", name="Create the admin account").click()
    expect(page.get_by_text("The passwords differ.")).to_be_visible()
    expect(page.get_by_label("Your name")).to_have_value("Ada Admin")
    assert user_count() == 0
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD)
    page.get_by_role("button", name="Create the admin account").click()
    expect(page.get_by_text("Welcome. You are the admin of this knowledge base.")).to_be_visible()
    expect(page.get_by_role("heading", name="Hello, Ada Admin")).to_be_visible()

    # A rep on a new team.
    journey.menu("Admin")
    admin_menu = page.get_by_role("navigation", name="Administration")
    admin_menu.get_by_role("link", name="Users").click()
    page.get_by_role("link", name="Add a user").click()
    page.get_by_label("E-mail").fill(ROSA.email)
    page.get_by_label("Name", exact=True).fill(ROSA.display_name)
    page.get_by_label("Role").select_option(label="Rep")
    page.get_by_label("Or a new team").fill("East")
    page.get_by_label("Initial password").fill(PASSWORD)
    page.get_by_role("button", name="Add the user").click()
    expect(page.get_by_text(f"{ROSA.email} can now sign in as rep.")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text=ROSA.email)).to_contain_text("East")

    # A competitor people call by another name.
    admin_menu.get_by_role("link", name="Competitors").click()
    page.get_by_label("Competitor name").fill("Hooli")
    page.get_by_role("button", name="Add the competitor").click()
    expect(page.get_by_role("heading", name="Hooli", level=1)).to_be_visible()
    page.get_by_label("New alias").fill("HLI")
    page.get_by_role("button", name="Add the alias").click()
    expect(page.get_by_text("'HLI' now finds Hooli.")).to_be_visible()

    # The CRM report names the competitor by its alias; the import knows it.
    report = journey.write_report(
        "opportunities.csv",
        [CrmDeal("006H01", "Initech renewal", "lost", ROSA, 4, "HLI", 36_000)],
        date.today(),
    )
    journey.import_report(report, created=1)
    expect(page.get_by_role("row").filter(has_text="Initech renewal")).to_contain_text("Hooli")
    journey.sign_out()

    # Rosa files the debrief of her lost deal, naming the competitor.
    journey.sign_in(ROSA.email)
    journey.todo_row("Initech renewal").get_by_role("link", name="File debrief").click()
    page.get_by_label("Category", exact=True).first.select_option(label="Time to value")
    page.get_by_label("Effect", exact=True).first.select_option(label="Hurt us")
    page.get_by_label("Competitor (optional)").first.select_option("Hooli")
    page.get_by_label("Explanation", exact=True).first.fill(
        "Hooli promised a live system within a fortnight."
    )
    page.get_by_label("Primary reason").first.check()
    page.get_by_role("button", name="Submit debrief").click()
    expect(page.get_by_text("Debrief submitted.")).to_be_visible()
    journey.sign_out()

    # Searching the alias finds it.
    journey.sign_in("ada@example.com")
    journey.menu("Search")
    page.get_by_label("Search the debriefs").fill("HLI")
    page.get_by_role("button", name="Search", exact=True).click()
    results = page.get_by_role("article")
    expect(results).to_have_count(1)
    expect(results.first.get_by_role("link", name="Initech renewal")).to_be_visible()
    expect(results.first).to_contain_text("Hooli")
    expect(page).to_have_url(re.compile(r"q=HLI"))
