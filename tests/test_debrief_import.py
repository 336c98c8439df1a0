"""Importing past win/loss notes as debriefs: the CLI and the service, the
dry run, row errors that store nothing, re-imports, XLSX."""

import io
from datetime import date

import openpyxl
from sqlalchemy import select

from kb import search
from kb.deals import debrief_import
from kb.extensions import db
from kb.models import Deal, Debrief, DebriefSource, Outcome
from kb.search import SearchParams
from tests.conftest import row_counts

HEADER = "Id,Deal,Account,Outcome,Date,Reasons,Category,Quotes,Author,Competitor,Source\n"
ROWS = [
    "1,Orbit renewal,Orbit Ltd,Lost,2025-03-04,Zanzibar pricing was too steep,Total cost,"
    '"Too dear for us",rep@example.com,Globex,',
    "2,Nova platform,Nova Inc,Won,2025-04-10,Zanzibar onboarding impressed them,,,,,",
    "3,Helix expansion,Helix GmbH,No decision,2025-05-01,Zanzibar budget frozen,"
    "Budget cut or frozen,,,,buyer",
    "4,Quark pilot,Quark SA,Lost,2025-06-15,Zanzibar integration gaps,Integrations,,,Acme,",
    "5,Orbit renewal,Orbit Ltd,Lost,2025-07-20,Zanzibar second look also lost on price,,,,,",
]
GOOD = (HEADER + "\n".join(ROWS) + "\n").encode()


def run(data: bytes, actor, dry_run=False):
    table = debrief_import.read_file(data)
    mapping = debrief_import.suggest_mapping(table.headers)
    return debrief_import.import_debriefs(actor, table, mapping, dry_run=dry_run, source="t.csv")


def imported() -> list[Debrief]:
    return list(db.session.scalars(select(Debrief).where(Debrief.import_key.is_not(None))))


def test_five_rows_become_five_searchable_debriefs(app, users):
    report = run(GOOD, users.manager)
    assert not report.failed, report.problems
    assert report.created == 5
    found = imported()
    assert len(found) == 5
    # Rows 1 and 5 name the same deal: one deal, two debriefs.
    orbit = db.session.scalar(select(Deal).where(Deal.name == "Orbit renewal"))
    assert len(orbit.debriefs) == 2 and orbit.outcome == Outcome.LOST
    first = next(d for d in found if "steep" in d.reasons[0].explanation)
    assert first.author == users.rep
    assert first.reasons[0].category.name == "Total cost"
    assert [q.text for q in first.quotes] == ["Too dear for us"]
    assert [c.name for c in first.deal.competitors] == ["Globex"]
    assert first.deal.close_date == date(2025, 3, 4)
    nova = next(d for d in found if d.deal.name == "Nova platform")
    assert nova.author == users.manager
    assert nova.reasons[0].category.name == "Uncategorised"
    helix = next(d for d in found if d.deal.name == "Helix expansion")
    assert helix.source == DebriefSource.BUYER and helix.deal.outcome == Outcome.NO_DECISION
    search.catch_up()
    hits = search.search(users.admin, SearchParams(q="zanzibar", per_page=50))
    assert {h.id for h in hits.hits} == {d.id for d in found}


def test_dry_run_stores_nothing(app, users):
    before = row_counts()
    report = run(GOOD, users.manager, dry_run=True)
    assert report.created == 5 and not report.failed
    assert "would be imported" in report.summary()
    assert row_counts() == before


def test_a_bad_row_is_reported_and_nothing_is_stored(app, users):
    bad = [
        "6,Bad one,Bad Co,,2025-01-01,No outcome here,,,,,",
        "7,Bad two,Bad Co,Lost,31/31/2025,Bad date here,,,,,",
        "8,Bad three,Bad Co,Lost,2025-01-01,Unknown category,Nonsense,,,,",
    ]
    data = (HEADER + "\n".join(ROWS + bad) + "\n").encode()
    before = row_counts()
    report = run(data, users.manager)
    errors = {r.row_number: " ".join(str(e) for e in r.errors) for r in report.failed}
    assert set(errors) == {7, 8, 9}
    assert "Missing outcome" in errors[7]
    assert errors[8].startswith("Date:")
    assert "Unknown reason category 'Nonsense'" in errors[9]
    assert "nothing was stored" in report.summary()
    assert row_counts() == before


def test_reimport_creates_nothing_new(app, users):
    run(GOOD, users.manager)
    before = row_counts()
    again = run(GOOD, users.manager)
    assert again.created == 0 and again.already == 5
    assert row_counts() == before


def test_without_a_row_id_the_text_is_the_key(app, users):
    data = GOOD.replace(b"Id,", b"Ref,")
    assert run(data, users.manager).created == 5
    assert run(data, users.manager).already == 5
    assert len(imported()) == 5


def test_xlsx(app, users):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Deal", "Account", "Outcome", "Date", "Reasons", "Quotes"])
    sheet.append(["Tile deal", "Tile Co", "Won", date(2025, 2, 3), "Fast rollout", "- quick\n@ok"])
    buffer = io.BytesIO()
    book.save(buffer)
    report = run(buffer.getvalue(), users.manager)
    assert report.created == 1, report.problems
    (debrief,) = imported()
    assert debrief.deal.close_date == date(2025, 2, 3)
    assert [q.text for q in debrief.quotes] == ["- quick", "@ok"]


def test_cli(app, runner, users, tmp_path):
    path = tmp_path / "history.csv"
    path.write_bytes(GOOD)
    args = ["import-debriefs", str(path), "--user", "manager@example.com"]
    result = runner.invoke(args=[*args, "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "5 debriefs would be imported" in result.output
    assert imported() == []
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    assert "5 debriefs imported, 0 already imported." in result.output
    result = runner.invoke(args=args)
    assert "0 debriefs imported, 5 already imported." in result.output
    path.write_bytes(GOOD + b"9,Broken,Co,Lost,not a date,Text,,,,,\n")
    result = runner.invoke(args=args)
    assert result.exit_code == 1
    assert "Row 7: Date:" in result.output
    result = runner.invoke(args=[*args[:2], "--user", "rep@example.com"])
    assert result.exit_code == 1 and "Only managers and admins" in result.output


def test_unknown_competitor_is_left_out_with_a_warning_naming_its_column(app, users):
    # As the deal import does: a rival nobody set up does not hold back the
    # history; the debrief is stored on a deal without that competitor.
    row = ROWS[0].replace("Globex", "Nobody Corp;Globex")
    report = run((HEADER + row + "\n").encode(), users.manager)
    assert not report.failed and report.created == 1
    (warned,) = report.warned
    assert [(w.column, w.message) for w in warned.warnings] == [
        ("Competitor", "Unknown competitor 'Nobody Corp', left out; an admin can add it.")
    ]
    (debrief,) = imported()
    assert [c.name for c in debrief.deal.competitors] == ["Globex"]


def test_unknown_winner_is_an_error_that_stores_nothing(app, users):
    header = HEADER.replace("Source\n", "Source,Winner\n")
    data = (header + ROWS[0] + ",Nobody Corp\n").encode()
    before = row_counts()
    report = run(data, users.manager)
    (row,) = report.failed
    assert [(e.column, e.message) for e in row.errors] == [
        ("Winner", "Unknown competitor 'Nobody Corp'.")
    ]
    assert row_counts() == before


def test_upload_page_dry_run_then_import(app, client, auth, users, tmp_path):
    app.instance_path = str(tmp_path / "instance")
    auth.login(users.rep)
    assert client.get("/deals/import-debriefs").status_code == 403
    auth.logout()
    auth.login(users.manager)
    page = client.get("/deals/import-debriefs")
    assert page.status_code == 200 and b"Import debrief history" in page.data
    response = client.post(
        "/deals/import-debriefs",
        data={"file": (io.BytesIO(GOOD), "history.csv"), "dry_run": "y"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    mapping_url = response.headers["Location"]
    mapping = client.get(mapping_url)
    assert mapping.status_code == 200 and b"Orbit renewal" in mapping.data
    form = {
        "map_row_id": "0",
        "map_name": "1",
        "map_account": "2",
        "map_outcome": "3",
        "map_close_date": "4",
        "map_reasons": "5",
        "map_category": "6",
        "map_quotes": "7",
        "map_author_email": "8",
        "map_competitors": "9",
        "map_source": "10",
        "date_order": "auto",
    }
    url = mapping_url.split("?")[0]
    dry = client.post(url, data={**form, "dry_run": "y"})
    assert dry.status_code == 200
    assert b"5 debriefs would be imported" in dry.data and b"Import now" in dry.data
    assert imported() == []
    done = client.post(url, data=form)
    assert b"5 debriefs imported" in done.data
    assert len(imported()) == 5
    unmapped = client.post(url, data={**form, "map_reasons": ""})
    assert unmapped.status_code == 422 and len(imported()) == 5


def test_upload_page_rejects_a_file_it_cannot_read(app, client, auth, users, tmp_path):
    app.instance_path = str(tmp_path / "instance")
    auth.login(users.admin)
    response = client.post(
        "/deals/import-debriefs",
        data={"file": (io.BytesIO(b"PK\x03\x04broken"), "history.xlsx")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert b"The workbook cannot be read" in response.data


def test_a_row_repeated_in_the_file_is_imported_once(app, users):
    data = GOOD.replace(b"Id,", b"Ref,") + ROWS[1].encode() + b"\n"
    report = run(data, users.manager)
    assert report.created == 5 and report.repeated == 1
    assert "1 rows repeating an earlier row" in report.summary()
    assert len(imported()) == 5


def test_a_row_on_a_stored_deal_with_other_facts_is_noted_and_the_deal_kept(app, users, runner):
    assert not run(GOOD, users.manager).failed
    later = (
        HEADER + "7,Orbit renewal,Orbit Ltd,Won,2025-09-30,Zanzibar came back and signed,,,,,\n"
    ).encode()
    report = run(later, users.manager, dry_run=True)
    assert not report.failed and report.created == 1
    (row,) = report.warned
    assert row.row_number == 2
    assert [(w.column, w.message) for w in row.warnings] == [
        (
            "Outcome",
            "The deal 'Orbit renewal' is stored as lost, closed 2025-03-04; this row says "
            "won, closed 2025-09-30. The debrief goes on the stored deal, whose facts stay.",
        )
    ]
    report = run(later, users.manager)
    assert report.summary().startswith("1 debrief imported, 0 already imported")
    assert report.created == 1 and report.notes == ["Row 2: " + row.warnings[0].message]
    orbit = db.session.scalar(select(Deal).where(Deal.name == "Orbit renewal"))
    assert orbit.outcome == Outcome.LOST and orbit.close_date == date(2025, 3, 4)
    assert len(orbit.debriefs) == 3
    # A row that agrees with the stored deal says nothing.
    same = (HEADER + "8,Orbit renewal,Orbit Ltd,Lost,2025-03-04,Zanzibar again,,,,,\n").encode()
    assert run(same, users.manager).warned == []
