"""Marketing's journey in a real browser, CSRF protection on: discover what
lost deals talk about, track a finding as a theme, read its figures, export
the themes as a workbook that agrees with the page, and print the month's
review pack to PDF without a blank page."""

import re
from datetime import date

import openpyxl
import pytest

from tests.browser import expect
from tests.journeys import (  # noqa: F401 (the journey fixture)
    CrmDeal,
    debrief_before,
    import_before,
    journey,
    pdf_pages,
)

pytestmark = pytest.mark.browser

LOST = ["Initech", "Hooli", "Vandelay", "Wonka", "Oscorp", "Cyberdyne", "Soylent", "Tyrell"]
WON = ["Aperture", "Nakatomi", "Gringotts", "Virtucon", "Prestige", "Sirius", "Zorg", "Monarch"]
LOST_QUOTES = [
    "The onboarding fee was the sticking point for finance.",
    "Nobody here could defend the onboarding fee.",
    "Acme simply did not charge an onboarding fee.",
    "We asked twice to waive the onboarding fee.",
]
WON_STORIES = [
    "Their analysts liked the reporting dashboards.",
    "The pilot showed results in the first fortnight.",
    "Our references in their industry carried weight.",
    "The connector to their ERP worked on day one.",
]


@pytest.fixture
def app_config(app_config):
    return {**app_config, "WTF_CSRF_ENABLED": True}


@pytest.fixture
def debriefed_quarter(users):
    """Sixteen deals of the last two months from the CRM, each with its rep
    debrief: every loss names the onboarding fee, no win does."""
    reps = [users.rep, users.peer, users.west_rep]
    lost = [
        CrmDeal(f"006K{i:02d}", f"{name} renewal", "lost", reps[i % 3], 3 + 7 * i, "Acme", 40_000)
        for i, name in enumerate(LOST)
    ]
    won = [
        CrmDeal(f"006W{i:02d}", f"{name} platform", "won", reps[i % 3], 5 + 7 * i, "", 30_000)
        for i, name in enumerate(WON)
    ]
    import_before(None, lost + won, date.today())
    for i, deal in enumerate(lost):
        debrief_before(
            deal.owner,
            deal.name,
            ("price.total-cost", "hurt", f"{deal.account} compared the first-year cost."),
            quotes=[{"text": LOST_QUOTES[i % 4], "speaker_role": "CFO"}],
        )
    for i, deal in enumerate(won):
        debrief_before(
            deal.owner,
            deal.name,
            ("product.integrations", "helped", WON_STORIES[i % 4]),
        )
    return lost, won


def test_marketing_discovers_tracks_exports_and_prints(journey, users, debriefed_quarter):  # noqa: F811
    page = journey.page
    lost, _ = debriefed_quarter
    journey.sign_in(users.marketing.email)

    # Discover: what the lost deals say more than the rest.
    journey.menu("Themes")
    page.get_by_role("link", name="Discover themes").click()
    page.get_by_label("Outcome").select_option(label="Lost")
    page.get_by_label("Minimum support (debriefs)").fill("4")
    page.get_by_role("button", name="Discover").click()
    findings = page.get_by_role("region", name="Over-represented in the subset")
    finding = findings.get_by_role("row").filter(
        has=page.get_by_role("cell", name=re.compile(r"^onboarding fee\b"))
    )
    expect(finding).to_have_count(1)
    expect(finding).to_contain_text(f"{len(lost)} of {len(lost)}")

    # Track it: the theme's page shows its figures.
    finding.get_by_role("button", name="Track “onboarding fee” as a theme").click()
    expect(page.get_by_role("heading", name="Onboarding fee", level=1)).to_be_visible()
    expect(page.get_by_text("Now tracking 'Onboarding fee'")).to_be_visible()
    figures = page.get_by_role("region", name=re.compile(r"Last 12 months"))
    mentions = figures.get_by_role("definition").first
    expect(mentions).to_have_text(str(len(lost)))
    expect(figures).to_contain_text(f"0 won of {len(lost)} decided deals")
    expect(figures).to_contain_text(f"${40_000 * len(lost):,} lost")
    mentions_on_page = int(mentions.inner_text())

    # The themes workbook agrees with the page.
    journey.menu("Themes")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name="Onboarding fee"))
    expect(row).to_contain_text(f"{mentions_on_page} ")
    with page.expect_download() as download:
        page.get_by_role("link", name="XLSX").click()
    saved = journey.files / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.suffix == ".xlsx"
    workbook = openpyxl.load_workbook(saved, read_only=True)
    sheet = workbook["Themes"]
    header, *rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    themes = [dict(zip(header, r, strict=True)) for r in rows]
    assert [t["Theme"] for t in themes] == ["Onboarding fee"]
    assert themes[0]["Mentions"] == mentions_on_page
    assert themes[0]["Lost"] == len(lost) and themes[0]["Won"] == 0
    workbook.close()

    # The month's review pack prints with text on every page.
    journey.menu("Review pack")
    expect(page.get_by_role("heading", name=re.compile(r"^Review pack: "))).to_be_visible()
    pages = pdf_pages(page.pdf(format="A4", print_background=True))
    blank = [n for n, (text, _) in enumerate(pages, 1) if not text]
    assert not blank, f"blank pages {blank} of {len(pages)}"
    assert "Onboarding fee" in "\n".join(text for text, _ in pages)
    short = [n for n, (_, reach) in enumerate(pages[:-1], 1) if reach < 0.5]
    assert not short, f"pages {short} of {len(pages)} are more than half empty"
