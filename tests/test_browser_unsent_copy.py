"""Work is never lost, in a real browser: what is typed into the debrief and
practice forms is kept in this browser until the server confirms the save. A
save that fails for real (a database trigger refuses it and the server answers
500), a request that times out or a closed tab leave it there, and opening the
form again offers it back; a confirmed save and signing out remove it."""

import re
from datetime import date, timedelta

import pytest

from kb.extensions import db
from kb.models import Debrief, Practice
from tests.browser import expect
from tests.conftest import PASSWORD
from tests.test_debrief_form import refused_saves  # noqa: F401 (a fixture)

pytestmark = pytest.mark.browser


def close_date() -> date:
    """Nine days before the (pinned) day the test runs."""
    return date.today() - timedelta(days=9)


REASONS = [
    ("price.total-cost", "hurt", "Acme threw in implementation for free."),
    ("product.integrations", "helped", "The SAP connector demo won over IT."),
]
QUOTES = [("Acme was simply cheaper.", "CFO"), ("Your connector was the best we saw.", "CIO")]
COPIES = "Object.keys(localStorage).filter(key => key.startsWith('kb-unsent:'))"


@pytest.fixture
def app_config(app_config):
    return {**app_config, "WTF_CSRF_ENABLED": True}


def wait_for_copies(page, count: int) -> None:
    """Wait out the pause after typing before the copy is written."""
    for _ in range(50):
        if len(page.evaluate(COPIES)) == count:
            return
        page.wait_for_timeout(100)
    assert len(page.evaluate(COPIES)) == count


def sign_in(page, base: str, email: str = "rep@example.com") -> None:
    page.goto(f"{base}/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name=re.compile(r"^Hello, "))).to_be_visible()


def open_debrief_form(page) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Home").click()
    page.get_by_role("link", name="File a debrief").click()
    expect(page.get_by_role("heading", name="File a win/loss debrief")).to_be_visible()
    # Typing starts once the form's scripts run, as it does for a person.
    page.wait_for_load_state()


def fill_debrief(page) -> None:
    page.get_by_label("Outcome").select_option("lost")
    page.get_by_label("Deal name").fill("Initech renewal")
    page.get_by_label("Account").fill("Initech")
    page.get_by_label("Close date").fill(close_date().isoformat())
    page.locator("#deal-competitors input[value='Acme']").check()
    page.get_by_label("Who won").select_option("Acme")
    for i, (category, direction, explanation) in enumerate(REASONS):
        if i:
            page.get_by_role("button", name="Add another reason").click()
        page.locator(f"#reasons-{i}-category").select_option(category)
        page.locator(f"#reasons-{i}-direction").select_option(direction)
        page.locator(f"#reasons-{i}-explanation").fill(explanation)
    page.locator("#reasons-1-primary").check()
    for i, (text, speaker) in enumerate(QUOTES):
        if i:
            page.get_by_role("button", name="Add another quote").click()
        page.locator(f"#quotes-{i}-text").fill(text)
        page.locator(f"#quotes-{i}-speaker_role").fill(speaker)
    page.get_by_text("The story (optional)").click()
    page.get_by_label("Lessons learned").fill("Anchor on total cost early.")


def expect_debrief_restored(page) -> None:
    expect(page.get_by_label("Outcome")).to_have_value("lost")
    expect(page.get_by_label("Deal name")).to_have_value("Initech renewal")
    expect(page.get_by_label("Account")).to_have_value("Initech")
    expect(page.get_by_label("Close date")).to_have_value(close_date().isoformat())
    expect(page.locator("#deal-competitors input[value='Acme']")).to_be_checked()
    expect(page.locator("#deal-competitors input[value='Globex']")).not_to_be_checked()
    expect(page.get_by_label("Who won")).to_have_value("Acme")
    expect(page.get_by_role("heading", name=re.compile(r"^Reason \d$"))).to_have_count(2)
    for i, (category, direction, explanation) in enumerate(REASONS):
        expect(page.locator(f"#reasons-{i}-category")).to_have_value(category)
        expect(page.locator(f"#reasons-{i}-direction")).to_have_value(direction)
        expect(page.locator(f"#reasons-{i}-explanation")).to_have_value(explanation)
    expect(page.locator("#reasons-0-primary")).not_to_be_checked()
    expect(page.locator("#reasons-1-primary")).to_be_checked()
    expect(page.get_by_role("heading", name=re.compile(r"^Quote \d$"))).to_have_count(2)
    for i, (text, speaker) in enumerate(QUOTES):
        expect(page.locator(f"#quotes-{i}-text")).to_have_value(text)
        expect(page.locator(f"#quotes-{i}-speaker_role")).to_have_value(speaker)
    # Restored into a folded section, which opens so that it is seen.
    expect(page.get_by_label("Lessons learned")).to_be_visible()
    expect(page.get_by_label("Lessons learned")).to_have_value("Anchor on total cost early.")


def test_a_debrief_typed_before_a_failed_save_is_offered_back(
    live_server,
    browser_page,
    users,
    refused_saves,  # noqa: F811
):
    page = browser_page
    sign_in(page, live_server)
    open_debrief_form(page)
    expect(page.get_by_role("button", name=re.compile("^Restore"))).to_have_count(0)
    fill_debrief(page)
    page.get_by_role("button", name="Submit debrief").click()

    # The server failed for real, and says so.
    expect(page.get_by_role("heading", name="Something went wrong")).to_be_visible()
    expect(page.get_by_text("What you sent was not saved.")).to_be_visible()
    expect(page.get_by_text("A copy of what you typed is kept in this browser")).to_be_visible()
    expect(page.get_by_text("Nothing you saved was lost")).to_have_count(0)
    db.session.expire_all()
    assert db.session.query(Debrief).count() == 0

    # Back on the form, empty as the server sends it, the copy is offered.
    page.get_by_role("link", name="Back to the form").click()
    expect(page.get_by_label("Deal name")).to_have_value("")
    restore = page.get_by_role("button", name=re.compile(r"^Restore what you typed on \w"))
    expect(restore).to_be_visible()
    expect(page.get_by_role("button", name="Discard")).to_be_visible()
    restore.click()
    expect(restore).to_have_count(0)
    expect_debrief_restored(page)

    # Once the save goes through, the copy is gone, and is not offered again.
    refused_saves.allow()
    page.get_by_role("button", name="Submit debrief").click()
    expect(page.get_by_text("Debrief submitted.")).to_be_visible()
    assert page.evaluate(COPIES) == []
    db.session.expire_all()
    debrief = db.session.query(Debrief).one()
    assert [r.explanation for r in debrief.reasons] == [r[2] for r in REASONS]
    assert [r.is_primary for r in debrief.reasons] == [False, True]
    assert [(q.text, q.speaker_role) for q in debrief.quotes] == QUOTES
    assert debrief.deal.winner_competitor.name == "Acme"
    open_debrief_form(page)
    expect(page.get_by_label("Deal name")).to_have_value("")
    expect(page.get_by_role("button", name=re.compile("^Restore"))).to_have_count(0)


def test_a_closed_tab_and_a_timed_out_save_keep_the_copy(live_server, browser_page, users):
    page = browser_page
    sign_in(page, live_server)
    open_debrief_form(page)
    fill_debrief(page)
    # The request never gets an answer (the network drops it).
    page.route(
        re.compile(r".*/debriefs/new.*"),
        lambda route: (
            route.abort("timedout") if route.request.method == "POST" else route.continue_()
        ),
    )
    page.get_by_role("button", name="Submit debrief").click()
    page.wait_for_load_state()
    expect(page).not_to_have_url(re.compile(r"/debriefs/\d+$"))
    db.session.expire_all()
    assert db.session.query(Debrief).count() == 0
    page.unroute(re.compile(r".*/debriefs/new.*"))
    page.close()

    # A new tab, the next day for all it knows.
    page = browser_page.context.new_page()
    page.goto(f"{live_server}/")
    open_debrief_form(page)
    page.get_by_role("button", name=re.compile(r"^Restore what you typed on ")).click()
    expect_debrief_restored(page)


def test_a_refused_save_is_not_offered_back_as_it_is_still_on_the_page(
    live_server, browser_page, users
):
    page = browser_page
    sign_in(page, live_server)
    open_debrief_form(page)
    fill_debrief(page)
    page.get_by_label("Close date").fill("")
    page.get_by_role("button", name="Submit debrief").click()
    expect(page.get_by_text("Nothing was saved yet")).to_be_visible()
    expect(page.get_by_label("Deal name")).to_have_value("Initech renewal")
    expect(page.get_by_role("button", name=re.compile("^Restore"))).to_have_count(0)
    assert len(page.evaluate(COPIES)) == 1  # still kept: nothing is saved yet


def test_discard_and_sign_out_remove_the_copy(live_server, browser_page, users):
    page = browser_page
    sign_in(page, live_server)
    open_debrief_form(page)
    page.get_by_label("Deal name").fill("Initech renewal")
    page.get_by_label("Account").fill("Initech")
    wait_for_copies(page, 1)
    page.reload()
    page.get_by_role("button", name="Discard").click()
    expect(page.get_by_label("Deal name")).to_have_value("")
    assert page.evaluate(COPIES) == []
    page.reload()
    expect(page.get_by_role("button", name=re.compile("^Restore"))).to_have_count(0)

    # Typed again, then signed out: the next person at this browser sees nothing of it.
    page.get_by_label("Deal name").fill("Initech renewal")
    wait_for_copies(page, 1)
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login"))
    assert page.evaluate(COPIES) == []


def test_a_practice_typed_before_a_failed_save_is_offered_back(
    live_server,
    browser_page,
    users,
    refused_saves,  # noqa: F811
):
    page = browser_page
    sign_in(page, live_server)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Playbook").click()
    page.get_by_role("link", name="Share a practice").click()
    expect(page.get_by_label("Title")).to_be_visible()
    page.wait_for_load_state()
    page.get_by_label("Title").fill("Run a paid pilot before the final demo")
    page.get_by_label("Actions taken").fill("Two weeks with their operations team.")
    page.get_by_label("Tags").fill("pilot")
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_text("What you sent was not saved.")).to_be_visible()
    expect(page.get_by_text("A copy of what you typed is kept in this browser")).to_be_visible()

    page.get_by_role("link", name="Back to the form").click()
    expect(page.get_by_label("Title")).to_have_value("")
    page.get_by_role("button", name=re.compile(r"^Restore what you typed on ")).click()
    expect(page.get_by_label("Title")).to_have_value("Run a paid pilot before the final demo")
    expect(page.get_by_label("Actions taken")).to_have_value(
        "Two weeks with their operations team."
    )
    expect(page.get_by_label("Tags")).to_have_value("pilot")

    refused_saves.allow()
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_text("Published to the playbook.")).to_be_visible()
    assert page.evaluate(COPIES) == []
    db.session.expire_all()
    assert db.session.query(Practice).one().title == "Run a paid pilot before the final demo"
