"""Exports: debriefs (with reasons and quotes), themes and practices as CSV,
XLSX and JSON, for any search filter, for managers, marketing and admins; the
command `kb export`."""

import csv
import io
import json
import re
from datetime import date, datetime

import pytest
from openpyxl import load_workbook

from kb.auth.service import create_user
from kb.exports.formats import neutralise
from kb.extensions import db
from kb.models import Role
from kb.themes import service as theme_service
from tests.conftest import PASSWORD
from tests.test_practices import make_practice, sign_in  # noqa: F401


def read_csv(data: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def read_xlsx(data: bytes):
    return load_workbook(io.BytesIO(data))


@pytest.fixture
def filed(users, make_debrief):
    """Three debriefs: Rita's lost Initech deal (with a formula-like quote),
    Pete's won Globex deal, and Pete's draft."""
    lost = make_debrief(
        users.rep,
        quotes=[{"text": '=HYPERLINK("http://x")', "speaker_role": "CFO"}],
    )
    won = make_debrief(
        users.peer,
        deal={"name": "Globex expansion", "outcome": "won", "winner": None, "amount": 1200.5},
    )
    draft = make_debrief(users.west_rep, status="draft", deal={"name": "Secret draft deal"})
    return lost, won, draft


def test_neutralise_prefixes_formula_starts():
    for start in ("=", "+", "-", "@", "\t", "\r"):
        assert neutralise(f"{start}SUM(A1)") == f"'{start}SUM(A1)"
    assert neutralise("plain") == "plain"
    assert neutralise("a=b") == "a=b"
    assert neutralise(12) == 12 and neutralise(None) is None


def test_reps_may_not_export(client, auth, users):
    sign_in(auth, users.rep)
    for what in ("debriefs", "themes", "practices"):
        assert client.get(f"/exports/{what}.csv").status_code == 403
    assert client.get("/exports/nothing.csv").status_code == 404


def test_debriefs_csv_honours_filters_and_neutralises(client, auth, users, filed):
    lost, won, draft = filed
    sign_in(auth, users.marketing)
    response = client.get("/exports/debriefs.csv")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    rows = read_csv(response.data)
    assert {r["Debrief id"] for r in rows} == {str(lost.id), str(won.id)}  # never the draft
    assert "Secret draft deal" not in response.data.decode()

    only_won = read_csv(client.get("/exports/debriefs.csv?outcome=won").data)
    assert [r["Deal"] for r in only_won] == ["Globex expansion"]
    by_text = read_csv(client.get("/exports/debriefs.csv?q=Globex").data)
    assert [r["Debrief id"] for r in by_text] == [str(won.id)]

    quotes = read_csv(client.get("/exports/debriefs.csv?kind=quotes&outcome=lost").data)
    assert [q["Quote"] for q in quotes] == ['\'=HYPERLINK("http://x")']
    reasons = read_csv(client.get("/exports/debriefs.csv?kind=reasons").data)
    assert len(reasons) == 4 and {r["Direction"] for r in reasons} == {"hurt", "helped"}


def test_a_manager_never_gets_another_teams_draft(client, auth, users, filed):
    sign_in(auth, users.manager)
    for fmt in ("csv", "json", "xlsx"):
        response = client.get(f"/exports/debriefs.{fmt}")
        assert response.status_code == 200
        if fmt != "xlsx":
            assert "Secret draft deal" not in response.data.decode()
        else:
            wb = read_xlsx(response.data)
            cells = [c for ws in wb for row in ws.iter_rows(values_only=True) for c in row]
            assert "Secret draft deal" not in cells
    sign_in(auth, users.admin)
    assert "Secret draft deal" in client.get("/exports/debriefs.json").data.decode()


def test_debriefs_xlsx_has_typed_sheets(client, auth, users, filed):
    lost, won, _ = filed
    sign_in(auth, users.admin)
    response = client.get("/exports/debriefs.xlsx?status=submitted")
    assert response.status_code == 200
    wb = read_xlsx(response.data)
    assert wb.sheetnames == ["Debriefs", "Reasons", "Quotes"]
    ws = wb["Debriefs"]
    header = [c.value for c in ws[1]]
    rows = [dict(zip(header, r, strict=True)) for r in ws.iter_rows(min_row=2, values_only=True)]
    assert {r["Debrief id"] for r in rows} == {lost.id, won.id}
    globex = next(r for r in rows if r["Deal"] == "Globex expansion")
    assert globex["Amount"] == 1200.5
    assert isinstance(globex["Close date"], datetime)
    assert globex["Close date"].date() == won.deal.close_date
    assert ws.column_dimensions["G"].width > 10
    quotes = [r for r in wb["Quotes"].iter_rows(min_row=2, values_only=True)]
    assert '=HYPERLINK("http://x")' in [r[-1] for r in quotes]  # as text, not a formula
    assert wb["Reasons"].max_row == 5  # a header and four reasons


def test_debriefs_json_nests_reasons_and_quotes(client, auth, users, filed):
    lost, _, _ = filed
    sign_in(auth, users.manager)
    items = json.loads(client.get("/exports/debriefs.json?outcome=lost").data)
    assert [i["id"] for i in items] == [lost.id]
    assert items[0]["quotes"][0]["text"] == '=HYPERLINK("http://x")'
    assert len(items[0]["reasons"]) == 2
    assert items[0]["close_date"] == lost.deal.close_date.isoformat()


def test_themes_export_has_figures_and_quotes(client, auth, users, filed):
    theme_service.save_theme(
        users.manager,
        theme_service.parse({"name": "Pricing", "query": "pricing", "polarity": "weakness"}),
    )
    sign_in(auth, users.marketing)
    items = json.loads(client.get("/exports/themes.json?period=all").data)
    assert [i["name"] for i in items] == ["Pricing"]
    assert items[0]["mentions"] == 1
    assert items[0]["top_quotes"][0]["text"] == "Your pricing was simply too high."
    rows = read_csv(client.get("/exports/themes.csv?period=all").data)
    assert rows[0]["Theme"] == "Pricing" and rows[0]["Mentions"] == "1"
    wb = read_xlsx(client.get("/exports/themes.xlsx?period=all").data)
    assert wb.sheetnames == ["Themes", "Evidence"]
    assert wb["Evidence"]["H2"].value == "Your pricing was simply too high."


@pytest.fixture
def anonymous_practice(users, make_debrief, make_practice):  # noqa: F811
    author = create_user("zelda.quill@example.com", PASSWORD, Role.REP, "Zelda Quill", "East")
    db.session.commit()
    debrief = make_debrief(author, deal={"name": "Umbrella Megadeal"})
    practice = make_practice(
        author,
        kind="lesson",
        title="Anchor on total cost",
        debrief_id=debrief.id,
        anonymous=True,
    )
    make_practice(users.peer, title="Named practice")
    return author, practice


def test_exports_never_reveal_an_anonymous_author(client, auth, users, anonymous_practice):
    author, practice = anonymous_practice
    traces = ("Zelda", "Quill", "zelda.quill@example.com", "Umbrella")
    for viewer in (users.manager, users.marketing):
        sign_in(auth, viewer)
        for fmt in ("csv", "json", "xlsx"):
            response = client.get(f"/exports/practices.{fmt}")
            assert response.status_code == 200
            if fmt == "xlsx":
                wb = read_xlsx(response.data)
                text = " ".join(
                    str(c) for ws in wb for row in ws.iter_rows(values_only=True) for c in row
                )
            else:
                text = response.data.decode()
            assert "Anchor on total cost" in text and "Named practice" in text
            for trace in traces:
                assert trace not in text
        items = json.loads(client.get("/exports/practices.json").data)
        anon = next(i for i in items if i["id"] == practice.id)
        assert anon["author_id"] is None and anon["byline"] == "Anonymous"
    sign_in(auth, users.admin)
    assert "Zelda Quill" in client.get("/exports/practices.json").data.decode()


def test_the_export_links_show_for_exporters_only(client, auth, users):
    sign_in(auth, users.marketing)
    for page in ("/search?q=x", "/themes/", "/practices/"):
        assert "/exports/" in client.get(page).text
    sign_in(auth, users.rep)
    for page in ("/search?q=x", "/themes/", "/practices/"):
        assert "/exports/" not in client.get(page).text


def test_cli_export(runner, users, filed, anonymous_practice, tmp_path):
    lost, won, draft = filed
    out = tmp_path / "d.json"
    result = runner.invoke(
        args=["export", "debriefs", "--format", "json", "--outcome", "lost", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    ids = {i["id"] for i in json.loads(out.read_text())}
    assert lost.id in ids and draft.id in ids and won.id not in ids  # an admin's view

    # A query the search cannot use as written is reported, as on the search page.
    result = runner.invoke(
        args=["export", "debriefs", "--q", "colour:blue", "--outcome", "maybe", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "Note:" in result.output and "colour" in result.output and "maybe" in result.output

    out = tmp_path / "d.xlsx"
    result = runner.invoke(args=["export", "debriefs", "--format", "xlsx", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert load_workbook(out).sheetnames == ["Debriefs", "Reasons", "Quotes"]

    out = tmp_path / "p.csv"
    result = runner.invoke(args=["export", "practices", "--format", "csv", "-o", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8-sig")
    assert "Anchor on total cost" in text and "Zelda" not in text and "Umbrella" not in text

    out = tmp_path / "t.csv"
    result = runner.invoke(args=["export", "themes", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert date.today().year > 2000 and out.exists()


SEPARATED_FORMULAS = [
    "Budget was fine;=1+2",
    "Budget was fine, =1+2",
    "Budget was fine\t=1+2",
    "Budget was fine|@SUM(1)",
    "Scope; -cmd|' /C calc'!A0",
]


def as_exported(text: str) -> str:
    """The CSV form of a value: a formula start after another locale's
    separator gets the same quote as one at the start of a cell."""
    return re.sub(r"([;\t|]\s*)([=+\-@])", r"\1'\2", text)


def test_a_separator_before_a_formula_is_neutralised(client, auth, users, make_debrief):
    make_debrief(
        users.rep, quotes=[{"text": text, "speaker_role": "CFO"} for text in SEPARATED_FORMULAS]
    )
    sign_in(auth, users.marketing)
    data = client.get("/exports/debriefs.csv?kind=quotes").data.decode("utf-8-sig")
    for text in SEPARATED_FORMULAS:
        assert '"' + as_exported(text).replace('"', '""') + '"' in data, text
    # A spreadsheet that honours quotes keeps each of them one cell.
    for row in csv.reader(io.StringIO(data)):
        assert not any(cell.lstrip().startswith(("=", "+", "@")) for cell in row), row
    # One whose locale splits on ";", a tab or "|" ignores the file's quotes
    # inside a field: none of the cells it makes starts a formula either.
    for line in data.splitlines():
        for cell in re.split(r"[;\t|]", line):
            assert not cell.strip().startswith(("=", "+", "-", "@")), (line, cell)
    # Read back as CSV, every value is the text as exported; JSON keeps it as typed.
    expected = sorted(as_exported(text) for text in SEPARATED_FORMULAS)
    assert sorted(r["Quote"] for r in read_csv(data.encode())) == expected
    exported = json.loads(client.get("/exports/debriefs.json").data)
    assert sorted(q["text"] for q in exported[0]["quotes"]) == sorted(SEPARATED_FORMULAS)


def test_plain_values_keep_their_csv_form(client, auth, users, make_debrief):
    make_debrief(users.rep, quotes=[{"text": "Price; value and a=b", "speaker_role": "CFO"}])
    sign_in(auth, users.marketing)
    data = client.get("/exports/debriefs.csv?kind=quotes").data.decode("utf-8-sig")
    assert ",CFO,Price; value and a=b\r\n" in data
