"""In a real browser, CSRF protection on: marketing discovers a planted phrase
in the demo data, tracks it as a theme in one click, and sees its chart."""

import re
from datetime import date

import pytest

from kb import search
from kb.demo.generator import generate
from tests.browser import expect
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def app_config(app_config):
    return {**app_config, "WTF_CSRF_ENABLED": True}


def test_discover_track_and_chart_a_theme(app, users, live_server, browser_page):
    generate(400, 3, None, anchor=date.today())
    search.catch_up()
    page = browser_page
    refused = []
    page.on(
        "console",
        lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None,
    )

    page.goto(f"{live_server}/login")
    page.get_by_label("E-mail").fill(users.marketing.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    page.get_by_role("link", name="Themes", exact=True).first.click()
    page.get_by_role("link", name="Discover themes").click()
    expect(page.get_by_role("heading", name="Discover themes")).to_be_visible()

    # Bad input first: the field says what is wrong, and nothing is lost.
    page.get_by_label("Outcome").select_option("no_decision")
    page.get_by_label("Minimum support (debriefs)").fill("0")
    page.get_by_role("button", name="Discover").click()
    expect(page.locator("#min_support-error")).to_contain_text("from 1 to 1000")
    expect(page.get_by_label("Outcome")).to_have_value("no_decision")

    page.get_by_label("Minimum support (debriefs)").fill("5")
    page.get_by_role("button", name="Discover").click()
    findings = page.locator("#findings-head").locator("xpath=..").locator("table.findings")
    # The phrase itself, not the longer phrases that contain it.
    track = findings.get_by_role("button", name="Track “change management” as a theme", exact=True)
    expect(track).to_have_count(1)
    top_ten = findings.locator("tbody tr td.phrase").all_inner_texts()[:10]
    assert "change management" in [text.splitlines()[0] for text in top_ten], top_ten

    track.click()
    expect(page.get_by_role("heading", name="Change management", level=1)).to_be_visible()
    expect(page.get_by_text("Now tracking 'Change management'")).to_be_visible()
    expect(page.locator(".badge-status-tracked")).to_be_visible()

    # The mentions chart is drawn by the vendored Chart.js, under the CSP.
    page.wait_for_function(
        "() => window.Chart && Chart.getChart(document.getElementById('mentions'))"
    )
    box = page.locator("#mentions").bounding_box()
    assert box["width"] > 200 and box["height"] > 100
    # Its figures are also in the table behind it.
    figure = page.locator("#mentions-figure")
    figure.get_by_text("Table of the figures").click()
    expect(figure.locator("table")).to_be_visible()
    expect(figure.locator("tbody tr")).to_have_count(8)
    expect(page.locator(".evidence blockquote mark").first).to_contain_text(
        re.compile("change|management", re.I)
    )
    assert refused == []  # nothing on the pages broke the Content-Security-Policy
