"""Filing a debrief in a real browser, CSRF protection on: sign in, fill the
deal, add rows, fail validation, keep everything typed, add a quote after the
error, fix it, submit, and find it all on the debrief's page."""

import re
import time
from datetime import date, timedelta

import pytest

from kb.extensions import db
from kb.models import Debrief, DebriefStatus
from tests.browser import expect
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def close_date() -> date:
    """A close date twelve days before the (pinned) day the test runs."""
    return date.today() - timedelta(days=12)


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
    page.get_by_text("More about the deal").click()  # the optional facts are folded away
    page.get_by_label("Amount").fill("abc")
    page.get_by_label("Segment").select_option("Enterprise")
    page.locator("#deal-competitors input[value='Acme']").check()
    page.get_by_label("Who won").select_option("Acme")

    # Three reasons, added with the button.
    fill_reason(page, 0)
    page.locator("#reasons-0-competitor").select_option("Acme")
    page.locator("#reasons-0-primary").check()
    for i in (1, 2):
        page.get_by_role("button", name="Add another reason").click()
        expect(page.locator(f"#reasons-{i}-explanation")).to_have_value("")
        expect(page.locator("#reasons-0-explanation")).to_have_value(REASONS[0][2])
        fill_reason(page, i)
    page.locator("#quotes-0-text").fill(QUOTES[0][0])
    page.locator("#quotes-0-speaker_role").fill(QUOTES[0][1])
    page.get_by_text("The story (optional)").click()
    page.get_by_label("Lessons learned").fill("Anchor on total cost early.")

    page.get_by_role("button", name="Submit debrief").click()

    # The errors are shown by their fields, and everything typed is still there.
    expect(page.get_by_text("Nothing was saved yet")).to_be_visible()
    expect(page.locator("#deal-amount-error")).to_contain_text("Enter a number")
    # In the format the date picker shows (Chromium's default locale here is en-US).
    expect(page.locator("#deal-close_date-error")).to_contain_text("mm/dd/yyyy")
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
    page.get_by_role("button", name="Add another quote").click()
    expect(page.locator("#quotes-1-text")).to_have_value("")
    expect(page.locator("#quotes-0-text")).to_have_value(QUOTES[0][0])
    expect(page.get_by_label("Amount")).to_have_value("abc")
    page.locator("#quotes-1-text").fill(QUOTES[1][0])
    page.locator("#quotes-1-speaker_role").fill(QUOTES[1][1])
    page.get_by_label("Amount").fill("48000")
    page.get_by_label("Close date").fill(close_date().isoformat())
    page.get_by_role("button", name="Submit debrief").click()

    # The debrief's page shows all of it.
    expect(page).to_have_url(re.compile(r"/debriefs/\d+$"))
    expect(page.get_by_text("Debrief submitted.")).to_be_visible()
    expect(page.get_by_role("heading", name="Initech renewal")).to_be_visible()
    facts = page.get_by_role("region", name="Deal facts")
    expect(facts).to_contain_text("Lost")
    expect(facts).to_contain_text("$48,000")
    expect(facts).to_contain_text(close_date().isoformat())
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


def sign_in(page, base: str, email: str = "rep@example.com") -> None:
    page.goto(f"{base}/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name=re.compile(r"^Hello, "))).to_be_visible()


def focused_id(page) -> str:
    return page.evaluate("document.activeElement && document.activeElement.id")


def test_rows_are_added_removed_and_moved_in_place(live_server, browser_page, users):
    page = browser_page
    sign_in(page, live_server)
    page.get_by_role("link", name="File a debrief").click()
    page.evaluate("window.sameDocument = true")  # gone if the page reloads

    page.get_by_label("Outcome").select_option("lost")
    page.get_by_label("Deal name").fill("Initech renewal")
    page.get_by_label("Account").fill("Initech")
    page.get_by_label("Close date").fill(close_date().isoformat())
    fill_reason(page, 0)
    for i in (1, 2):
        page.get_by_role("button", name="Add another reason").click()
        # The new row is there, empty, with the focus in it.
        expect(page.get_by_role("heading", name=f"Reason {i + 1}")).to_be_visible()
        assert focused_id(page) == f"reasons-{i}-category"
        expect(page.locator(f"#reasons-{i}-explanation")).to_have_value("")
        expect(page.locator(f"#reasons-{i}-direction")).to_have_value("")
        fill_reason(page, i)
    expect(page.locator("#reasons-0-explanation")).to_have_value(REASONS[0][2])

    # Move the third reason to the top, one step at a time; the focus stays on the button.
    page.get_by_role("button", name="Move reason 3 up").click()
    focused = page.evaluate("document.activeElement.getAttribute('aria-label')")
    assert focused == "Move reason 2 up"
    page.get_by_role("button", name="Move reason 2 up").click()
    expect(page.get_by_role("button", name="Move reason 1 up")).to_be_disabled()
    order = [2, 0, 1]
    for place, i in enumerate(order):
        expect(page.locator(f"#reasons-{place}-explanation")).to_have_value(REASONS[i][2])
        expect(page.locator(f"#reasons-{place}-category")).to_have_value(REASONS[i][0])
    # Remove the (now) second reason: the others close up and are numbered again.
    page.get_by_role("button", name="Remove reason 2").click()
    expect(page.get_by_role("button", name="Remove reason 3")).to_have_count(0)
    expect(page.locator("#reasons-1-explanation")).to_have_value(REASONS[1][2])
    assert focused_id(page) == "reasons-1-category"

    page.get_by_role("button", name="Add another quote").click()
    expect(page.locator("#quotes-1-text")).to_be_focused()
    page.locator("#quotes-1-text").fill("Acme was simply cheaper.")
    page.get_by_role("button", name="Remove quote 1").click()
    expect(page.locator("#quotes-0-text")).to_have_value("Acme was simply cheaper.")
    assert page.evaluate("window.sameDocument") is True  # no round-trip so far

    page.get_by_role("button", name="Submit debrief").click()
    expect(page.get_by_text("Debrief submitted.")).to_be_visible()
    db.session.expire_all()
    debrief = db.session.query(Debrief).one()
    # Stored in the order shown; an effect chosen by the rep is kept.
    assert [r.explanation for r in debrief.reasons] == [REASONS[2][2], REASONS[1][2]]
    assert [r.direction.value for r in debrief.reasons] == [REASONS[2][1], REASONS[1][1]]
    assert [q.text for q in debrief.quotes] == ["Acme was simply cheaper."]


def test_without_javascript_the_row_buttons_return_to_the_new_row(live_server, chromium, users):
    context = chromium.new_context(java_script_enabled=False)
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        sign_in(page, live_server)
        page.get_by_role("link", name="File a debrief").click()
        page.get_by_label("Deal name").fill("Initech renewal")
        fill_reason(page, 0)
        page.get_by_role("button", name="Add another reason").click()
        expect(page).to_have_url(re.compile(r"/debriefs/new\?source=rep#reasons-1-category$"))
        expect(page.locator("#reasons-1-category")).to_be_focused()
        expect(page.locator("#reasons-0-explanation")).to_have_value(REASONS[0][2])
        expect(page.get_by_label("Deal name")).to_have_value("Initech renewal")
        fill_reason(page, 1)
        page.get_by_role("button", name="Move reason 2 up").click()
        expect(page).to_have_url(re.compile(r"#reasons-0-category$"))
        expect(page.locator("#reasons-0-category")).to_be_focused()
        expect(page.locator("#reasons-0-explanation")).to_have_value(REASONS[1][2])
    finally:
        context.close()


def test_choices_follow_the_outcome_and_the_deals_competitors(live_server, browser_page, users):
    page = browser_page
    sign_in(page, live_server)
    page.get_by_role("link", name="File a debrief").click()
    winner = page.get_by_label("Who won")
    expect(winner).to_have_value("")
    # The form's script (deferred) must be running before a choice is made:
    # a choice made while the page is still loading is not followed.
    page.wait_for_load_state()
    page.get_by_label("Outcome").select_option("won")
    expect(winner).to_have_value("us")
    page.get_by_label("Outcome").select_option("lost")
    expect(winner).to_have_value("")

    competitor = page.locator("#reasons-0-competitor")
    competitor.select_option("Globex")
    page.locator("#deal-competitors input[value='Salesforce']").check()
    options = competitor.locator("option").evaluate_all("all => all.map(o => o.value)")
    assert options == ["", "Salesforce", "Acme", "Globex"]
    expect(competitor).to_have_value("Globex")  # the choice made stays
    page.get_by_role("button", name="Add another reason").click()
    options = page.locator("#reasons-1-competitor option").evaluate_all(
        "all => all.map(o => o.value)"
    )
    assert options[:2] == ["", "Salesforce"]


# ---------------------------------------------------------------- the effort a debrief takes


class Effort:
    """What a person does to file a debrief, counted as they would do it:
    fields filled (typed into or chosen from a list), clicks (a choice from a
    list is two: open it, pick), characters typed, and the time it all took.
    A person's time is estimated as 1.5 s a click and typing at 40 words
    (200 characters) a minute; reading and thinking are not counted."""

    def __init__(self, page):
        self.page = page
        self.fields = self.clicks = self.characters = 0
        self.started = time.perf_counter()

    def click(self, locator) -> None:
        self.clicks += 1
        locator.click()

    def choose(self, locator, value: str) -> None:
        self.fields += 1
        self.clicks += 2
        locator.select_option(value)

    def type(self, locator, text: str) -> None:
        self.fields += 1
        self.clicks += 1  # into the field
        self.characters += len(text)
        locator.fill(text)

    def report(self, what: str) -> float:
        seconds = time.perf_counter() - self.started
        person = self.clicks * 1.5 + self.characters / 200 * 60
        print(
            f"\n{what}: {self.fields} fields filled, {self.clicks} clicks, "
            f"{self.characters} characters typed; {seconds:.1f} s in the browser; "
            f"about {person:.0f} s for a person"
        )
        return person


@pytest.fixture
def crm_lost_deal(app, users):
    """A lost deal imported from the CRM, owed its debrief by Rita."""
    from kb.models import Competitor, Deal, Outcome

    acme = db.session.query(Competitor).filter_by(name="Acme").one()
    deal = Deal(
        crm_id="SF-0042",
        name="Umbrella renewal",
        account="Umbrella",
        outcome=Outcome.LOST,
        close_date=date.today() - timedelta(days=4),
        amount=48000,
        currency="USD",
        owner=users.rep,
        competitors=[acme],
    )
    db.session.add(deal)
    db.session.commit()
    return deal


def file_from_the_to_do_list(page, effort) -> None:
    todo = page.get_by_role("row", name=re.compile("Umbrella renewal"))
    effort.click(todo.get_by_role("link", name="File debrief"))
    expect(page.get_by_label("Outcome")).to_have_value("lost")


def test_a_quick_lost_deal_debrief(live_server, browser_page, users, crm_lost_deal):
    page = browser_page
    sign_in(page, live_server)
    effort = Effort(page)
    file_from_the_to_do_list(page, effort)
    effort.choose(page.locator("#reasons-0-category"), "price.total-cost")
    effort.type(page.locator("#reasons-0-explanation"), "Acme bundled implementation for free.")
    effort.click(page.get_by_role("button", name="Submit debrief"))
    expect(page.get_by_text("Debrief submitted.")).to_be_visible()
    person = effort.report("Quick lost-deal debrief (outcome, primary reason, one sentence)")
    assert effort.fields <= 3 and person < 120

    db.session.expire_all()
    debrief = db.session.query(Debrief).one()
    assert debrief.status == DebriefStatus.SUBMITTED and debrief.deal_id == crm_lost_deal.id
    assert [(r.direction.value, r.is_primary) for r in debrief.reasons] == [("hurt", True)]


def test_a_full_lost_deal_debrief(live_server, browser_page, users, crm_lost_deal):
    page = browser_page
    sign_in(page, live_server)
    effort = Effort(page)
    file_from_the_to_do_list(page, effort)
    effort.choose(page.get_by_label("Who won"), "Acme")
    # The deal's competitor comes first in the reason's list.
    options = page.locator("#reasons-0-competitor option")
    assert options.evaluate_all("all => all.map(o => o.value)")[:2] == ["", "Acme"]
    effort.choose(page.locator("#reasons-0-category"), "price.total-cost")
    effort.choose(page.locator("#reasons-0-direction"), "hurt")
    effort.choose(page.locator("#reasons-0-competitor"), "Acme")
    effort.type(page.locator("#reasons-0-explanation"), REASONS[0][2])
    effort.click(page.get_by_role("button", name="Add another reason"))
    effort.choose(page.locator("#reasons-1-category"), REASONS[1][0])
    effort.choose(page.locator("#reasons-1-direction"), REASONS[1][1])
    effort.type(page.locator("#reasons-1-explanation"), REASONS[1][2])
    effort.type(page.locator("#quotes-0-text"), QUOTES[0][0])
    effort.type(page.locator("#quotes-0-speaker_role"), QUOTES[0][1])
    effort.click(page.get_by_text("The story (optional)"))
    effort.type(page.get_by_label("Lessons learned"), "Anchor on total cost before procurement.")
    effort.click(page.get_by_role("button", name="Submit debrief"))
    expect(page.get_by_text("Debrief submitted.")).to_be_visible()
    effort.report("Full lost-deal debrief (two reasons, a quote, who won, a lesson)")

    db.session.expire_all()
    debrief = db.session.query(Debrief).one()
    assert [r.explanation for r in debrief.reasons] == [REASONS[0][2], REASONS[1][2]]
    assert [(q.text, q.speaker_role) for q in debrief.quotes] == [QUOTES[0]]
    assert debrief.deal.winner_competitor.name == "Acme"


def test_a_quick_debrief_of_a_deal_not_in_the_crm(live_server, browser_page, users):
    page = browser_page
    sign_in(page, live_server)
    effort = Effort(page)
    effort.click(page.get_by_role("link", name="File a debrief"))
    effort.choose(page.get_by_label("Outcome"), "lost")
    effort.type(page.get_by_label("Deal name"), "Initech renewal")
    effort.type(page.get_by_label("Account"), "Initech")
    effort.type(page.get_by_label("Close date"), close_date().isoformat())
    effort.choose(page.locator("#reasons-0-category"), "price.total-cost")
    effort.type(page.locator("#reasons-0-explanation"), "Acme bundled implementation for free.")
    effort.click(page.get_by_role("button", name="Submit debrief"))
    expect(page.get_by_text("Debrief submitted.")).to_be_visible()
    person = effort.report("Quick lost-deal debrief of a deal typed in (no CRM record)")
    assert person < 120
