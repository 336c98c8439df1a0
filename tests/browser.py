"""Fixtures for tests that drive a real Chromium (Debian's /usr/bin/chromium)
through Playwright's sync API. tests/conftest.py loads this module as a
pytest plugin, so a browser test module imports only `expect`:

    from tests.browser import expect

and asks for `live_server` (the base URL of the test's `app`, served from a
background thread) and `browser_page` (a fresh page in its own browser
context). Mark such tests with @pytest.mark.browser.

Without Chromium (or Playwright) the tests are skipped, except in CI (the
CI environment variable is set), where they fail: a browser test that CI
skips tests nothing.
"""

import os
import threading

import pytest
from werkzeug.serving import make_server

from kb.extensions import db

try:
    from playwright.sync_api import expect
except ImportError:  # the `chromium` fixture skips or fails the tests that need it
    expect = None

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 10_000


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(
            f"{reason}; CI must run the browser tests (apt-get install chromium).",
            pytrace=False,
        )
    pytest.skip(f"{reason}; the browser tests need it")


@pytest.fixture(scope="session")
def chromium():
    """One headless Chromium for the whole run."""
    if not os.access(CHROMIUM, os.X_OK):
        _unavailable(f"{CHROMIUM} is missing")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright is not installed")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def browser_page(chromium):
    """A page in a fresh browser context: no cookies from another test."""
    context = chromium.new_context(viewport={"width": 1280, "height": 1000})
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def live_server(app):
    """Serve the test's app on a free localhost port; yields its base URL.

    Each request runs in a server thread with its own app context and
    database session; the test's own session (the `app` fixture's) is
    committed first so that it holds no transaction the server would wait on.
    """
    db.session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
