"""XLSX exports keep verbatim text verbatim (typed string cells, never a
formula), show codes as the pages do, link each debrief and filter each
header row; CSV still neutralises what a spreadsheet would run, and JSON is
never altered."""

import json

import pytest
from openpyxl import load_workbook

from kb.themes import service as theme_service
from tests.test_exports import read_csv, read_xlsx
from tests.test_practices import make_practice, sign_in  # noqa: F401

# Texts real feedback starts with: an @-mention, a "+1", a pasted bullet
# list, and what a spreadsheet would take for a formula or an error.
VERBATIM = [
    "@acme_support never answered our ticket",
    "+1 on the pricing, it was the deciding factor",
    "- pricing\n- onboarding",
    "=SUM(A1:A9)",
    '=HYPERLINK("http://evil.example","click")',
    "#N/A",
]


def sheet_rows(ws) -> list[dict]:
    header = [c.value for c in ws[1]]
    return [dict(zip(header, row, strict=True)) for row in ws.iter_rows(min_row=2)]


@pytest.fixture
def verbatim(users, make_debrief):
    return make_debrief(
        users.rep, quotes=[{"text": text, "speaker_role": "CFO"} for text in VERBATIM]
    )


def test_xlsx_quotes_come_back_exactly_and_are_not_formulas(client, auth, users, verbatim):
    sign_in(auth, users.marketing)
    wb = read_xlsx(client.get("/exports/debriefs.xlsx").data)
    cells = [row["Quote"] for row in sheet_rows(wb["Quotes"])]
    assert [c.value for c in cells] == VERBATIM
    assert {c.data_type for c in cells} == {"s"}
    # No cell of any sheet holds a formula made of what someone wrote.
    for ws in wb:
        for row in sheet_rows(ws):
            for title, cell in row.items():
                assert cell.data_type != "f" or title == "Link", (ws.title, title, cell.value)


def test_csv_still_neutralises_and_json_keeps_the_text(client, auth, users, verbatim):
    sign_in(auth, users.marketing)
    quotes = read_csv(client.get("/exports/debriefs.csv?kind=quotes").data)
    expected = ["'" + t if t.startswith(("=", "+", "-", "@")) else t for t in VERBATIM]
    assert [q["Quote"] for q in quotes] == expected
    items = json.loads(client.get("/exports/debriefs.json").data)
    assert [q["text"] for q in items[0]["quotes"]] == VERBATIM


def test_xlsx_shows_labels_not_codes(client, auth, users, make_debrief):
    make_debrief(users.rep)  # lost to Acme
    make_debrief(
        users.marketing,
        source="buyer",
        interviewee_role="Economic buyer",
        deal={"name": "Hooli pilot", "outcome": "no_decision", "winner": "no_decision"},
    )
    sign_in(auth, users.admin)
    wb = read_xlsx(client.get("/exports/debriefs.xlsx").data)
    debriefs = {r["Deal"].value: r for r in sheet_rows(wb["Debriefs"])}
    hooli, initech = debriefs["Hooli pilot"], debriefs["Initech renewal"]
    assert hooli["Outcome"].value == "No decision"
    assert hooli["Winner"].value == "No decision"
    assert hooli["Source"].value == "Buyer interview"
    assert hooli["Status"].value == "Submitted"
    assert initech["Outcome"].value == "Lost"
    assert initech["Winner"].value == "Acme"  # a name stays a name
    assert initech["Source"].value == "Rep debrief"
    reasons = [r for r in sheet_rows(wb["Reasons"]) if r["Deal"].value == "Initech renewal"]
    assert [(r["Direction"].value, r["Primary"].value) for r in reasons] == [
        ("Hurt", "Yes"),
        ("Helped", "No"),
    ]
    assert {r["Outcome"].value for r in sheet_rows(wb["Quotes"])} == {"Lost", "No decision"}
    # CSV and JSON keep the codes, for the tools that read them.
    rows = read_csv(client.get("/exports/debriefs.csv?kind=reasons").data)
    assert {r["Direction"] for r in rows} == {"hurt", "helped"}
    assert {r["Outcome"] for r in rows} == {"lost", "no_decision"}
    assert {i["outcome"] for i in json.loads(client.get("/exports/debriefs.json").data)} == {
        "lost",
        "no_decision",
    }


def test_themes_and_practices_show_labels(client, auth, users, make_debrief, make_practice):  # noqa: F811
    make_debrief(users.rep)
    theme_service.save_theme(
        users.manager,
        theme_service.parse({"name": "Pricing", "query": "pricing", "polarity": "weakness"}),
    )
    make_practice(users.peer, kind="lesson", title="Anchor on total cost")
    sign_in(auth, users.marketing)
    themes = read_xlsx(client.get("/exports/themes.xlsx?period=all").data)
    (pricing,) = sheet_rows(themes["Themes"])
    assert pricing["Polarity"].value == "Weakness"
    assert pricing["Status"].value[0].isupper() and "_" not in pricing["Status"].value
    (evidence,) = sheet_rows(themes["Evidence"])
    assert evidence["Outcome"].value == "Lost"
    practices = read_xlsx(client.get("/exports/practices.xlsx").data)
    (lesson,) = sheet_rows(practices["Practices"])
    assert (lesson["Kind"].value, lesson["Status"].value) == ("Lesson", "Published")
    assert (lesson["Featured"].value, lesson["Anonymous"].value) == ("No", "No")


def link_target(cell) -> str:
    """The address of a link cell: a HYPERLINK formula of the app's own address."""
    assert cell.data_type == "f" and cell.value.startswith('=HYPERLINK("')
    assert cell.font.underline == "single"
    return cell.value[len('=HYPERLINK("') : -len('")')]


def test_each_debrief_links_to_its_page(client, auth, users, make_debrief):
    lost = make_debrief(users.rep)
    theme_service.save_theme(
        users.manager,
        theme_service.parse({"name": "Pricing", "query": "pricing", "polarity": "weakness"}),
    )
    sign_in(auth, users.manager)
    wb = read_xlsx(client.get("/exports/debriefs.xlsx").data)
    (row,) = sheet_rows(wb["Debriefs"])
    url = link_target(row["Link"])
    assert url == f"http://localhost/debriefs/{lost.id}"
    page = client.get(url)
    assert page.status_code == 200 and "Initech renewal" in page.text
    themes = read_xlsx(client.get("/exports/themes.xlsx?period=all").data)
    (evidence,) = sheet_rows(themes["Evidence"])
    assert link_target(evidence["Link"]) == url
    # CSV and JSON carry the same address as plain text.
    assert read_csv(client.get("/exports/debriefs.csv").data)[0]["Link"] == url
    assert json.loads(client.get("/exports/debriefs.json").data)[0]["url"] == url


def test_each_sheet_has_a_filter_on_its_header_row(client, auth, users, verbatim):
    sign_in(auth, users.marketing)
    wb = read_xlsx(client.get("/exports/debriefs.xlsx").data)
    # One debrief (28 columns, A to AB), its two reasons and its quotes.
    assert wb["Debriefs"].auto_filter.ref == "A1:AB2"
    assert wb["Reasons"].auto_filter.ref == "A1:J3"
    assert wb["Quotes"].auto_filter.ref == f"A1:F{1 + len(VERBATIM)}"
    empty = read_xlsx(client.get("/exports/practices.xlsx").data)["Practices"]
    assert empty.max_row == 1 and empty.auto_filter.ref == "A1:T1"


def test_cli_links_to_the_address_given(app, runner, users, make_debrief, tmp_path, monkeypatch):
    lost = make_debrief(users.rep)
    out = tmp_path / "d.xlsx"
    result = runner.invoke(
        args=["export", "debriefs", "--format", "xlsx", "-o", str(out)],
        env={"KB_BASE_URL": "https://kb.example.com/winloss"},
    )
    assert result.exit_code == 0, result.output
    (row,) = sheet_rows(load_workbook(out)["Debriefs"])
    assert link_target(row["Link"]) == f"https://kb.example.com/winloss/debriefs/{lost.id}"

    # Without an address (and no SERVER_NAME) there is nothing to link to.
    monkeypatch.setitem(app.config, "SERVER_NAME", None)
    result = runner.invoke(
        args=["export", "debriefs", "--format", "xlsx", "-o", str(out)], env={"KB_BASE_URL": ""}
    )
    assert result.exit_code == 0, result.output
    (row,) = sheet_rows(load_workbook(out)["Debriefs"])
    assert row["Link"].value is None and row["Deal"].value == "Initech renewal"

    out.unlink()
    result = runner.invoke(
        args=["export", "debriefs", "--format", "xlsx", "--base-url", "kb.example.com"]
        + ["-o", str(out)]
    )
    assert result.exit_code != 0
    assert "give the full address, such as https://kb.example.com" in result.output
    assert not out.exists()
