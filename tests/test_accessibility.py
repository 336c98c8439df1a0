"""axe-core in a real Chromium: every main page, as every role, has no
serious or critical accessibility violation.

axe comes from npm (package.json, `npm ci`); it is injected as a script,
which the Content-Security-Policy would refuse, so these pages are opened in
a context that bypasses the CSP (nothing else here depends on it).
"""

import os
from pathlib import Path

import pytest

from tests import main_pages
from tests.browser import TIMEOUT_MS

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parent.parent / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")
RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 4).map(n => n.target.join(" ")),
  }));
}"""


def _axe_context(chromium, viewport: dict):
    if not AXE.exists():
        message = f"{AXE} is missing: run `npm ci`"
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    context = chromium.new_context(viewport=viewport, bypass_csp=True)
    context.set_default_timeout(TIMEOUT_MS)
    return context


@pytest.fixture
def axe_page(chromium):
    context = _axe_context(chromium, {"width": 1280, "height": 1000})
    yield context.new_page()
    context.close()


@pytest.fixture
def axe_phone(chromium):
    context = _axe_context(chromium, {"width": 390, "height": 844})
    yield context.new_page()
    context.close()


def violations(page, url: str | None) -> list[dict]:
    """axe's findings on `url`, or on the page as it is when None."""
    if url is not None:
        response = page.goto(url)
        assert response.status == 200, f"{url}: HTTP {response.status}"
    page.add_script_tag(path=str(AXE))
    return page.evaluate(RUN_AXE)


def blocking(found: list[dict]) -> list[str]:
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {', '.join(v['nodes'])}"
        for v in found
        if v["impact"] in BLOCKING
    ]


def test_the_sign_in_page_has_no_serious_violation(app, users, live_server, axe_page):
    assert blocking(violations(axe_page, f"{live_server}/login")) == []


@pytest.mark.parametrize("role", ["rep", "manager", "marketing", "admin"])
def test_every_main_page_has_no_serious_violation(
    app, users, make_debrief, live_server, axe_page, role
):
    seeded = main_pages.seed(users, make_debrief)
    paths = main_pages.pages(seeded, role)
    main_pages.sign_in(axe_page, live_server, getattr(users, role).email)
    problems = {}
    for path in paths:
        everything = violations(axe_page, live_server + path)
        # Shown with `pytest -s`: every rule a page breaks, whatever its impact.
        print(f"axe {role} {path}: {[(v['id'], v['impact']) for v in everything]}")
        found = blocking(everything)
        if found:
            problems[path] = found
    assert problems == {}


def test_the_phone_layout_open_menu_and_filters_have_no_serious_violation(
    app, users, make_debrief, live_server, axe_phone
):
    main_pages.seed(users, make_debrief)
    main_pages.sign_in(axe_phone, live_server, users.manager.email)
    axe_phone.get_by_role("button", name="Menu").click()
    assert blocking(violations(axe_phone, None)) == []  # home, menu open
    axe_phone.goto(live_server + main_pages.SEARCH)
    axe_phone.locator("details.filters-panel > summary").click()
    assert blocking(violations(axe_phone, None)) == []  # results, filters open
