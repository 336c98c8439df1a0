"""What the journey tests share: a Salesforce opportunity report dated from
today, and a person at the browser who signs in, follows the menus and
imports that report the way the pages ask.

After signing in, a journey moves only by what a person clicks or types:
links, buttons, menus and form fields. The one typed address is the
product's own, before anyone has signed in.

A test module asks for the `journey` fixture (import it from here) and turns
CSRF protection on in its own `app_config`, as a real server has it.
"""

import csv
import io
import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from kb.deals import crm_import
from kb.deals import service as deals
from kb.deals.crm_formats import detect_format, suggest_mapping
from kb.debriefs import service as debriefs
from kb.extensions import db
from kb.models import Deal, Debrief
from tests.browser import expect
from tests.conftest import PASSWORD

# The columns of a Salesforce opportunity report, as Salesforce names them.
SALESFORCE_HEADERS = (
    "Opportunity Owner",
    "Owner Email",
    "Account Name",
    "Opportunity Name",
    "Stage",
    "Fiscal Period",
    "Amount Currency",
    "Amount",
    "Probability (%)",
    "Close Date",
    "Created Date",
    "Lead Source",
    "Primary Competitor",
    "Segment",
    "Opportunity ID",
)
STAGES = {"won": "Closed Won", "lost": "Closed Lost", "no_decision": "Closed - No Decision"}


@dataclass(frozen=True)
class CrmDeal:
    """One opportunity of the report, owned by `owner` (a User); the account
    is the deal name's first word, and `closed_days_ago` counts from today."""

    crm_id: str
    name: str
    outcome: str  # won, lost, no_decision
    owner: Any
    closed_days_ago: int
    competitor: str = ""
    amount: int = 25_000
    segment: str = "Enterprise"

    @property
    def account(self) -> str:
        return self.name.split()[0]

    def close_date(self, today: date) -> date:
        return today - timedelta(days=self.closed_days_ago)


def _us_date(day: date) -> str:
    return f"{day.month}/{day.day}/{day.year}"


def salesforce_report(deals: list[CrmDeal], today: date) -> bytes:
    """The report as Salesforce exports it: UTF-8 with a BOM, every cell
    quoted, US dates and dollar amounts, and its footer lines."""
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(SALESFORCE_HEADERS)
    for d in deals:
        closed = d.close_date(today)
        quarter = (closed.month - 1) // 3 + 1
        writer.writerow(
            (
                d.owner.display_name,
                d.owner.email,
                d.account,
                d.name,
                STAGES[d.outcome],
                f"Q{quarter}-{closed.year}",
                "USD",
                f"${d.amount:,.2f}",
                "100" if d.outcome == "won" else "0",
                _us_date(closed),
                _us_date(closed - timedelta(days=60)),
                "Web",
                d.competitor,
                d.segment,
                d.crm_id,
            )
        )
    writer.writerow(("",))
    writer.writerow((f"Grand Totals ({len(deals)} records)",))
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def import_before(actor, deals_: list[CrmDeal], today: date) -> None:
    """Deals that arrived before the journey starts: the report read and
    stored by the same code as the import page's."""
    table = crm_import.read_table(salesforce_report(deals_, today))
    parsed = crm_import.parse_rows(
        table, suggest_mapping(table.headers, detect_format(table.headers))
    )
    report = deals.import_rows(actor, parsed, dry_run=False, source="earlier.csv")
    assert report.counts["created"] == len(deals_), report.problems()


def debrief_before(author, deal_name: str, reason: tuple[str, str, str], **story) -> Debrief:
    """A submitted rep debrief of an imported deal, filed before the journey
    starts through the service behind the form. `reason` is (category slug,
    hurt or helped, explanation); `story` the free-text sections and quotes."""
    deal = db.session.scalar(select(Deal).where(Deal.name == deal_name))
    category, direction, explanation = reason
    payload = {
        "source": "rep",
        "status": "submitted",
        "deal_id": deal.id,
        "reasons": [
            {
                "category": category,
                "direction": direction,
                "explanation": explanation,
                "primary": True,
            }
        ],
        **story,
    }
    return debriefs.save_debrief(author, debriefs.parse(payload))


def same_page(url: str) -> tuple[str, dict[str, list[str]]]:
    """A URL's path and query arguments, however its query is spelled."""
    parts = urlsplit(url)
    return parts.path, parse_qs(parts.query, keep_blank_values=True)


def pdf_pages(data: bytes) -> list[tuple[str, float]]:
    """Each page of a PDF as (its text, how far down the page the text
    reaches: 0 at the top edge, 1 at the bottom)."""
    return [_page_text(page) for page in PdfReader(io.BytesIO(data)).pages]


def _page_text(page) -> tuple[str, float]:
    baselines = []  # heights above the bottom edge

    def visit(text, cm, tm, *_):
        if text.strip():
            baselines.append(tm[4] * cm[1] + tm[5] * cm[3] + cm[5])

    text = page.extract_text(visitor_text=visit).strip()
    height = float(page.mediabox.height)
    return text, 1 - min(baselines, default=height) / height


class Journey:
    """A person at the browser, on the product served at `base`."""

    def __init__(self, page, base: str, files: Path):
        self.page = page
        self.base = base
        self.files = files

    def open_product(self) -> None:
        """Type the product's address: the only address a journey types."""
        self.page.goto(f"{self.base}/")

    def sign_in(self, email: str, password: str = PASSWORD) -> None:
        page = self.page
        if not re.search(r"/login", page.url):
            self.open_product()
        expect(page).to_have_url(re.compile(r"/login"))
        page.get_by_label("E-mail").fill(email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("button", name="Sign out")).to_be_visible()

    def sign_out(self) -> None:
        self.page.get_by_role("button", name="Sign out").click()
        expect(self.page.get_by_role("button", name="Sign in")).to_be_visible()

    def menu(self, label: str) -> None:
        """Follow a link of the main menu."""
        nav = self.page.get_by_role("navigation", name="Main")
        nav.get_by_role("link", name=label, exact=True).click()

    def write_report(self, name: str, deals: list[CrmDeal], today: date) -> Path:
        """Save a Salesforce report where the person's file chooser finds it."""
        path = self.files / name
        path.write_bytes(salesforce_report(deals, today))
        return path

    def import_report(self, path: Path, created: int) -> None:
        """From Coverage: upload the report for a dry run, check what it
        would store, then import it for real."""
        page = self.page
        self.menu("Coverage")
        page.get_by_role("link", name="Import deals").click()
        page.get_by_label("CSV export").set_input_files(str(path))
        page.get_by_label("Dry run: preview and check every row, store nothing").check()
        page.get_by_role("button", name="Upload and map columns").click()
        expect(page.get_by_text("Detected format:")).to_contain_text("Salesforce")
        page.get_by_role("button", name="Continue").click()

        expect(page.get_by_role("heading", name="Dry run: nothing was stored")).to_be_visible()
        summary = page.get_by_role("region", name="Summary")
        expect(summary.get_by_role("definition").first).to_have_text(str(created))
        page.get_by_role("button", name="Import now").click()

        expect(page.get_by_role("heading", name="Import finished")).to_be_visible()
        expect(page.get_by_role("status")).to_contain_text(f"{created} created")

    def todos(self):
        """The home page's list of deals waiting for the person's debrief."""
        return self.page.get_by_role("region", name=re.compile(r"^Deals waiting for your debrief"))

    def todo_row(self, deal_name: str):
        return self.todos().get_by_role("row").filter(has_text=deal_name)


@pytest.fixture
def journey(app, live_server, browser_page, tmp_path) -> Journey:
    # Uploaded reports are kept in the instance folder: the test's own.
    app.instance_path = str(tmp_path / "instance")
    files = tmp_path / "downloads"
    files.mkdir()
    return Journey(browser_page, live_server, files)
