"""Importing a HubSpot export in a real browser, with CSRF on: a dry run,
the real import without changing anything, and the owner's new to-dos."""

import pytest

from kb.extensions import db
from kb.models import Deal
from tests.browser import expect
from tests.conftest import PASSWORD
from tests.test_deals_import import HUBSPOT

pytestmark = pytest.mark.browser


@pytest.fixture
def app_config(app_config):
    return {**app_config, "WTF_CSRF_ENABLED": True}


def sign_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def deal_count() -> int:
    db.session.rollback()
    return db.session.query(Deal).count()


def test_dry_run_then_import_then_the_rep_sees_the_new_todos(users, live_server, browser_page):
    page = browser_page
    sign_in(page, live_server, users.manager.email)

    page.goto(f"{live_server}/deals/import")
    page.get_by_label("CSV export").set_input_files(str(HUBSPOT))
    dry_run = page.get_by_label("Dry run: preview and check every row, store nothing")
    dry_run.check()
    page.get_by_role("button", name="Upload and map columns").click()

    expect(page.get_by_role("heading", name="Map the columns")).to_be_visible()
    expect(page.get_by_text("Detected format:")).to_contain_text("HubSpot")
    expect(page.get_by_label("Dry run: preview and check every row, store nothing")).to_be_checked()
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_role("heading", name="Dry run: nothing was stored")).to_be_visible()
    expect(page.get_by_role("heading", name="Rows with errors (3)")).to_be_visible()
    expect(page.get_by_role("cell", name="'31.02.2026' is not a real date.")).to_be_visible()
    expect(page.get_by_role("heading", name="How the first rows would be stored")).to_be_visible()
    expect(page.get_by_role("cell", name="Stark renewal")).to_be_visible()
    assert deal_count() == 0

    # Nothing fixed: the rows with errors are left out.
    page.get_by_role("button", name="Import now").click()
    expect(page.get_by_role("heading", name="Import finished")).to_be_visible()
    expect(page.locator(".flash")).to_contain_text("4 created")
    expect(page.locator(".flash")).to_contain_text("3 with errors")
    assert deal_count() == 4

    page.get_by_role("button", name="Sign out").click()
    sign_in(page, live_server, users.rep.email)
    todos = page.locator("section", has=page.get_by_role("heading", name="Deals waiting"))
    expect(todos.get_by_role("heading")).to_have_text("Deals waiting for your debrief (2)")
    expect(todos.get_by_text("Stark renewal")).to_be_visible()
    expect(todos.get_by_text("Acme Foods", exact=True)).to_be_visible()
    expect(todos.get_by_text("Wayne platform")).to_have_count(0)  # Mona's deal
    expect(todos.get_by_role("link", name="File debrief")).to_have_count(2)
