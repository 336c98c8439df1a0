"""Searching in a real browser: a query, a facet, a result."""

import re

import pytest

from tests.browser import expect
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def test_search_filter_by_facet_and_open_a_result(
    make_debrief,
    users,
    live_server,
    browser_page,
):
    make_debrief(
        users.rep,
        deal={"name": "Initech renewal", "outcome": "lost"},
        competitive_notes="Their security review dragged on for weeks.",
    )
    make_debrief(
        users.peer,
        deal={
            "name": "Globex expansion",
            "outcome": "won",
            "competitors": ["Globex"],
            "winner": None,
        },
        competitive_notes="We passed the security review in two days.",
    )
    page = browser_page
    page.goto(f"{live_server}/login")
    page.get_by_label("E-mail").fill(users.manager.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    page.get_by_role("link", name="Search", exact=True).click()
    page.get_by_label("Search the debriefs").fill('"security review"')
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.locator(".results-head")).to_contain_text("of 2 debriefs")
    expect(page.locator("mark").first).to_have_text(re.compile("security", re.I))

    page.locator(".facet").filter(has_text="Outcome").get_by_role("link", name="Won").click()
    expect(page.locator(".results-head")).to_contain_text("1–1 of 1 debrief")
    expect(page.get_by_role("link", name="Initech renewal")).to_have_count(0)

    page.get_by_role("link", name="Globex expansion").click()
    expect(page.get_by_role("heading", name="Globex expansion")).to_be_visible()
    expect(page.get_by_text("We passed the security review in two days.")).to_be_visible()
