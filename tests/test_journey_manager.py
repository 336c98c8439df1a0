"""A manager's journey in a real browser, CSRF protection on: file the
debrief of a team member's overdue deal from Coverage, import the week's
Salesforce report (a dry run first) and see the reps' new to-dos, then search
a phrase with a facet, open a result with its terms highlighted and go back
to the same results."""

import re
from datetime import date

import pytest

from tests.browser import expect
from tests.journeys import (  # noqa: F401 (the journey fixture)
    CrmDeal,
    debrief_before,
    import_before,
    journey,
    same_page,
)

pytestmark = pytest.mark.browser


@pytest.fixture
def app_config(app_config):
    return {**app_config, "WTF_CSRF_ENABLED": True}


@pytest.fixture
def team_history(users):
    """The team's deals from earlier imports; three already debriefed."""
    import_before(
        None,
        [
            CrmDeal("006M01", "Wonka rollout", "lost", users.peer, 20, "Globex"),
            CrmDeal("006M02", "Globex expansion", "won", users.rep, 30, "Globex"),
            CrmDeal("006M03", "Umbrella analytics", "lost", users.peer, 25, "Acme"),
            CrmDeal("006M04", "Stark upgrade", "lost", users.rep, 28, "Acme"),
        ],
        date.today(),
    )
    debrief_before(
        users.rep,
        "Globex expansion",
        ("product.security-and-compliance", "helped", "Our security answers were ready."),
        competitive_notes="We passed the security review in two days.",
    )
    debrief_before(
        users.peer,
        "Umbrella analytics",
        ("product.security-and-compliance", "hurt", "Their CISO wanted an on-premise option."),
        competitive_notes="Their security review dragged on for six weeks.",
    )
    debrief_before(
        users.rep,
        "Stark upgrade",
        ("price.total-cost", "hurt", "Acme was cheaper over three years."),
        competitive_notes="Security was never raised; the price review took weeks.",
    )


def test_manager_covers_imports_and_searches(journey, users, team_history):  # noqa: F811
    page = journey.page
    journey.sign_in(users.manager.email)

    # Coverage: Pete's lost deal is overdue; Mona files its debrief.
    journey.menu("Coverage")
    row = page.get_by_role("row").filter(has_text="Wonka rollout")
    expect(row).to_contain_text("Pete Peer")
    row.get_by_role("link", name="File debrief").click()
    expect(page.get_by_role("heading", name="File a win/loss debrief")).to_be_visible()
    expect(page.get_by_label("Deal name")).to_have_value("Wonka rollout")
    page.get_by_label("Category", exact=True).first.select_option(label="Discounting")
    page.get_by_label("Effect", exact=True).first.select_option(label="Hurt us")
    page.get_by_label("Explanation", exact=True).first.fill(
        "Globex cut its price by a third in the last week."
    )
    page.get_by_label("Primary reason").first.check()
    page.get_by_role("button", name="Submit debrief").click()
    expect(page.get_by_text("Debrief submitted.")).to_be_visible()
    journey.menu("Coverage")
    expect(page.get_by_text("Nothing overdue.")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="Wonka rollout")).to_have_count(0)

    # This week's Salesforce report: a dry run, then the import.
    report = journey.write_report(
        "this-week.csv",
        [
            CrmDeal("006M05", "Cyberdyne upsell", "lost", users.rep, 2, "Acme"),
            CrmDeal("006M06", "Soylent renewal", "won", users.peer, 3),
        ],
        date.today(),
    )
    journey.import_report(report, created=2)
    journey.sign_out()

    # Each rep finds their new deal waiting for a debrief.
    for rep, deal in ((users.rep, "Cyberdyne upsell"), (users.peer, "Soylent renewal")):
        journey.sign_in(rep.email)
        expect(journey.todos()).to_contain_text("Deals waiting for your debrief (1)")
        expect(journey.todo_row(deal).get_by_role("link", name="File debrief")).to_be_visible()
        journey.sign_out()

    # Back as Mona: a phrase and a facet.
    journey.sign_in(users.manager.email)
    journey.menu("Search")
    page.get_by_label("Search the debriefs").fill('"security review"')
    page.get_by_role("button", name="Search", exact=True).click()
    results = page.get_by_role("article")
    expect(results).to_have_count(2)
    lost = page.get_by_role("complementary", name="Filters").get_by_role("link", name="Lost")
    lost.click()
    expect(results).to_have_count(1)
    results_url = page.url
    assert "outcome=lost" in results_url

    # The opened debrief shows the words searched for, and the way back.
    page.get_by_role("link", name="Umbrella analytics").click()
    expect(page.get_by_role("heading", name="Umbrella analytics")).to_be_visible()
    marks = page.get_by_role("main").locator("mark")
    expect(marks.first).to_have_text(re.compile(r"security|review", re.I))
    page.get_by_role("link", name="Back to results").click()
    expect(page.get_by_label("Search the debriefs")).to_have_value('"security review"')
    assert same_page(page.url) == same_page(results_url)
    expect(lost).to_have_attribute("aria-current", "true")
    expect(results).to_have_count(1)
    expect(results.first).to_contain_text("Umbrella analytics")
