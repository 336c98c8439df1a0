"""Importing closed deals from Salesforce and HubSpot CSV exports: reading the
files, the dry run, the real run, re-imports, the pages and the CLI command."""

import csv
import io
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from kb.deals import crm_import, service
from kb.deals.crm_formats import FORMATS, detect_format, suggest_mapping
from kb.deals.crm_values import (
    detect_date_order,
    detect_decimal_comma,
    parse_amount,
    parse_date,
    stage_outcome,
)
from kb.debriefs import service as debriefs
from kb.extensions import db
from kb.models import AuditEntry, Deal, IndexChange
from tests.conftest import debrief_payload

DATA = Path(__file__).parent / "data"
SALESFORCE = DATA / "salesforce_opportunities.csv"
HUBSPOT = DATA / "hubspot_deals_semicolon.csv"


@pytest.fixture(autouse=True)
def _uploads_in_tmp(request, tmp_path):
    """Uploaded files go to the test's own instance folder."""
    if "app" in request.fixturenames:
        request.getfixturevalue("app").instance_path = str(tmp_path / "instance")


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def deal(crm_id: str) -> Deal:
    return db.session.scalar(select(Deal).where(Deal.crm_id == crm_id))


def parse_file(data: bytes, fmt: str = "auto", date_order: str = "auto"):
    table = crm_import.read_table(data)
    crm = detect_format(table.headers) if fmt == "auto" else FORMATS[fmt]
    return table, crm_import.parse_rows(table, suggest_mapping(table.headers, crm), date_order)


def run_import(data: bytes, actor=None, dry_run=False):
    table, parsed = parse_file(data)
    return table, service.import_rows(actor, parsed, dry_run=dry_run, source="test.csv")


def debrief_on(author, deal: Deal, **overrides):
    """A submitted rep debrief of an existing deal, filed through the service."""
    payload = debrief_payload(**overrides)
    # With the deal's facts, as the form sends them.
    payload["deal"] = debriefs.deal_as_input(deal)
    payload["deal_id"] = deal.id
    return debriefs.save_debrief(author, debriefs.parse(payload))


def errors_by_row(report) -> dict[int, list[tuple[str, str]]]:
    return {r.row_number: [(e.column, e.message) for e in r.errors] for r in report.failed}


# --- reading values ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "decimal_comma", "expected"),
    [
        ("$12,000.00", False, (Decimal("12000.00"), "USD")),
        ("USD 12,000", False, (Decimal("12000.00"), "USD")),
        ("12000 usd", False, (Decimal("12000.00"), "USD")),
        ("12.000,00 €", True, (Decimal("12000.00"), "EUR")),
        ("12.000,00 €", False, (Decimal("12000.00"), "EUR")),
        ("1.234.567,89", True, (Decimal("1234567.89"), None)),
        ("12 000,50", True, (Decimal("12000.50"), None)),
        ("£99.5", False, (Decimal("99.50"), "GBP")),
        ("12.000", True, (Decimal("12000.00"), None)),
        ("1,20,000", False, (Decimal("120000.00"), None)),
        ("0", False, (Decimal("0.00"), None)),
        ("", False, (None, None)),
    ],
)
def test_amounts_as_crms_write_them(text, decimal_comma, expected):
    assert parse_amount(text, decimal_comma) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("(1,200.00)", "negative"),
        ("-500", "negative"),
        ("$-500", "negative"),
        ("USD (75)", "negative"),
        ("twelve", "not an amount"),
        ("12,000.00.00", "not an amount"),
        ("1.005", "two decimal places"),
        ("9" * 40, "too large for an amount"),
    ],
)
def test_bad_amounts_are_refused(text, message):
    with pytest.raises(ValueError, match=message):
        parse_amount(text)


def test_decimal_comma_is_decided_by_the_column():
    assert detect_decimal_comma(["12.000,00 €", "9.999,99", "12.000"])
    assert not detect_decimal_comma(["$12,000.00", "USD 1,000", "7.5"])


@pytest.mark.parametrize(
    ("text", "order", "expected"),
    [
        ("2026-03-05", "mdy", date(2026, 3, 5)),
        ("2026-03-05 14:00", "dmy", date(2026, 3, 5)),
        ("2026-03-05T14:00:00.000Z", "mdy", date(2026, 3, 5)),
        ("03/05/2026", "mdy", date(2026, 3, 5)),
        ("03/05/2026", "dmy", date(2026, 5, 3)),
        ("3/5/26", "mdy", date(2026, 3, 5)),
        ("3/5/2026 2:00 PM", "mdy", date(2026, 3, 5)),
        ("05.03.2026", "mdy", date(2026, 3, 5)),
        ("05.03.2026 09:15", "dmy", date(2026, 3, 5)),
        ("Mar 5, 2026", "dmy", date(2026, 3, 5)),
        ("March 5 2026", "mdy", date(2026, 3, 5)),
        ("5 Mar 2026", "mdy", date(2026, 3, 5)),
        ("05-Mar-26", "mdy", date(2026, 3, 5)),
    ],
)
def test_dates_in_the_formats_crms_export(text, order, expected):
    assert parse_date(text, order) == expected


@pytest.mark.parametrize(
    ("text", "order", "message"),
    [
        ("2026-02-30", "mdy", "not a real date"),
        ("31.02.2026", "dmy", "not a real date"),
        ("13/13/2026", "mdy", "not a real date"),
        ("25/03/2026", "mdy", "does not fit the MM/DD/YYYY"),
        ("03/25/2026", "dmy", "does not fit the DD/MM/YYYY"),
        ("Smarch 5, 2026", "mdy", "unknown month"),
        ("next week", "mdy", "is not a date"),
    ],
)
def test_impossible_dates_are_refused(text, order, message):
    with pytest.raises(ValueError, match=message):
        parse_date(text, order)


def test_date_order_is_detected_per_file():
    assert detect_date_order(["25/03/2026", "03/04/2026"]) == ("dmy", False)
    assert detect_date_order(["3/25/2026", "3/4/2026"]) == ("mdy", False)
    assert detect_date_order(["03/04/2026"]) == ("mdy", True)  # cannot tell: say so
    assert detect_date_order(["2026-03-04", "05.03.2026"]) == ("mdy", False)


@pytest.mark.parametrize(
    ("stage", "outcome"),
    [
        ("Closed Won", "won"),
        ("closedwon", "won"),
        ("Won", "won"),
        ("Closed Lost", "lost"),
        ("closedlost", "lost"),
        ("Lost", "lost"),
        ("No decision", "no_decision"),
        ("Closed - No Decision", "no_decision"),
        ("Negotiation/Review", "open"),
        ("Appointment Scheduled", "open"),
        ("decisionmakerboughtin", "open"),
        ("Stalled", None),
    ],
)
def test_stages(stage, outcome):
    assert stage_outcome(stage) == outcome


# --- reading files ---------------------------------------------------------------


def test_salesforce_report_is_read_with_bom_quoted_newlines_and_footer():
    table = crm_import.read_table(SALESFORCE.read_bytes())
    assert table.headers[0] == "Opportunity Owner"  # no byte-order mark left on it
    assert table.encoding.startswith("UTF-8") and table.delimiter == ","
    assert detect_format(table.headers).key == "salesforce"
    # Ten data rows; the report's "Grand Totals" and copyright footer are not rows.
    assert [n for n, _ in table.rows] == list(range(2, 12))
    description = table.rows[0][1][table.headers.index("Description")]
    assert description == "Bake-off against Acme.\nProcurement pushed hard on price."


def test_hubspot_export_is_read_with_semicolons():
    table = crm_import.read_table(HUBSPOT.read_bytes())
    assert table.delimiter == ";" and table.headers[0] == "Record ID"
    assert detect_format(table.headers).key == "hubspot"
    mapping = suggest_mapping(table.headers, detect_format(table.headers))
    assert table.headers[mapping["owner_name"]] == "Deal owner"
    assert table.headers[mapping["account"]] == "Associated Company"


def test_windows_1252_tab_separated_file_and_excel_sep_line():
    text = "sep=\t\r\nRecord ID\tDeal Name\tDeal Stage\tClose Date\tAssociated Company\r\n"
    text += "77\tSociété Générale\tClosed Won\t2026-03-01\tSociété Générale SA\r\n"
    table = crm_import.read_table(text.encode("cp1252"))
    assert table.encoding == "Windows-1252" and table.delimiter == "\t"
    assert table.rows == [
        (2, ["77", "Société Générale", "Closed Won", "2026-03-01", "Société Générale SA"])
    ]


def test_utf16_text_from_excel():
    text = "Record ID\tDeal Name\tDeal Stage\tClose Date\tAssociated Company\r\n"
    text += "78\tZürich Re\tClosed Lost\t2026-03-01\tZürich Re AG\r\n"
    table = crm_import.read_table(text.encode("utf-16"))
    assert table.encoding == "UTF-16" and table.rows[0][1][1] == "Zürich Re"


def test_salesforce_closed_and_won_checkboxes_settle_custom_stages():
    text = "Opportunity ID,Opportunity Name,Account Name,Stage,Close Date,Closed,Won\n"
    text += "1,A,X,Signed,3/1/2026,1,1\n2,B,X,Walked away,3/1/2026,1,0\n3,C,X,Legal,3/1/2026,0,0\n"
    _, parsed = parse_file(text.encode())
    assert [r.values["outcome"] for r in parsed.rows[:2]] == ["won", "lost"]
    assert "still open" in parsed.rows[2].skipped


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"PK\x03\x04rest-of-a-zip", "Excel workbook"),
        (b"just one column\nvalue\n", "single column"),
    ],
)
def test_unreadable_files_are_explained(data, message):
    with pytest.raises(crm_import.FileError, match=message):
        crm_import.read_table(data)


def test_a_generic_csv_is_mapped_by_common_names():
    table = crm_import.read_table(b"CRM ID,Name,Company,Outcome,Close Date,Owner Email\n")
    crm = detect_format(table.headers)
    assert crm.key == "csv"
    assert set(suggest_mapping(table.headers, crm)) == {
        "crm_id",
        "name",
        "account",
        "stage",
        "close_date",
        "owner_email",
    }


def test_every_row_error_has_its_row_number_and_column():
    _, parsed = parse_file(SALESFORCE.read_bytes())
    errors = {r.row_number: [(e.column, e.message) for e in r.errors] for r in parsed.rows}
    assert errors[7] == [("Opportunity ID", errors[7][0][1])]
    assert "Missing CRM id" in errors[7][0][1]
    assert errors[8][0][0] == "Amount" and "'twelve thousand' is not an amount" in errors[8][0][1]
    assert errors[9] == [("Close Date", "'2/30/2026' is not a real date.")]
    assert errors[10][0][0] == "Stage" and "Unknown stage 'Stalled'" in errors[10][0][1]
    assert errors[11][0][0] == "Amount" and "negative" in errors[11][0][1]
    skipped = [r.row_number for r in parsed.rows if r.skipped]
    assert skipped == [5]
    assert all(not errors[n] for n in (2, 3, 4, 6))


def test_a_crm_id_twice_in_one_file_is_an_error():
    text = "Record ID,Deal Name,Deal Stage,Close Date,Associated Company\n"
    text += "1,A,Closed Won,2026-03-01,X\n1,A again,Closed Lost,2026-03-02,X\n"
    _, parsed = parse_file(text.encode())
    assert parsed.rows[0].values is not None
    assert "also on row 2" in parsed.rows[1].errors[0].message


# --- storing ------------------------------------------------------------------------


def test_dry_run_checks_everything_and_writes_nothing(app, users):
    before = (count(Deal), count(AuditEntry), count(IndexChange))
    _, report = run_import(SALESFORCE.read_bytes(), users.admin, dry_run=True)
    assert report.counts == {
        "created": 4,
        "updated": 0,
        "unchanged": 0,
        "skipped": 1,
        "errors": 5,
    }
    assert sorted(errors_by_row(report)) == [7, 8, 9, 10, 11]
    assert (count(Deal), count(AuditEntry), count(IndexChange)) == before
    # The preview shows the rows as they would be stored.
    first = report.preview[0]
    assert first.result.row_number == 2 and first.action == "create"
    assert first.stored["name"] == "Initech renewal" and first.stored["owner"] == "Rita Rep"
    assert first.stored["amount"] == "48000.00" and first.stored["competitors"] == ["Acme"]


def test_real_run_imports_the_good_rows_and_reports_the_bad(app, users):
    table, report = run_import(SALESFORCE.read_bytes(), users.admin)
    assert report.counts["created"] == 4 and report.counts["errors"] == 5
    assert count(Deal) == 4

    initech = deal("0065g00000AbCdEAAV")
    assert (initech.name, initech.account, initech.outcome.value) == (
        "Initech renewal",
        "Initech",
        "lost",
    )
    assert initech.amount == Decimal("48000.00") and initech.currency == "USD"
    assert initech.close_date == date(2026, 3, 5) and initech.sales_cycle_days == 92
    assert initech.owner_id == users.rep.id  # matched by e-mail
    assert [c.name for c in initech.competitors] == ["Acme"]
    assert initech.industry == "Software"

    globex = deal("0065g00000AbCdFAAV")
    assert globex.owner_id == users.peer.id and globex.amount == Decimal("120500.50")
    assert [c.name for c in globex.competitors] == ["Salesforce"]  # by its alias, SFDC
    assert deal("0065g00000AbCdGAAV").outcome.value == "no_decision"

    # An unknown owner, competitor or industry is a warning; the deal is stored.
    vandelay = deal("0065g00000AbCdIAAV")
    assert vandelay.owner is None and vandelay.competitors == [] and vandelay.industry is None
    warnings = {
        (w.column, w.message.split(";")[0].split(",")[0]) for w in report.warned[0].warnings
    }
    assert ("Owner Email", "No user has the e-mail address nora@example.com") in warnings
    assert ("Primary Competitor", "Unknown competitor 'Hooli'") in warnings
    assert ("Industry", "Unknown industry 'Banking'") in warnings

    audits = db.session.scalars(select(AuditEntry).where(AuditEntry.entity_type == "deal")).all()
    assert sorted(a.entity_id for a in audits if a.action == "create") == sorted(
        d.id for d in db.session.scalars(select(Deal))
    )
    assert all(a.user_id == users.admin.id for a in audits)

    report_csv = list(csv.reader(io.StringIO(crm_import.error_report(table, report.failed))))
    assert report_csv[0] == [*table.headers, "error"]
    assert [row[3] for row in report_csv[1:]] == [
        "Massive Dynamic pilot",
        "Wonka rollout",
        "Oscorp renewal",
        "Cyberdyne upsell",
        "Soylent credit note",
    ]
    assert report_csv[2][-1].startswith("Row 8: Amount: 'twelve thousand' is not an amount")
    assert report_csv[5][7] == "(1,200.00)"


def test_reimport_updates_instead_of_duplicating(app, users):
    data = SALESFORCE.read_bytes()
    run_import(data, users.admin)
    initech = deal("0065g00000AbCdEAAV")
    debrief = debrief_on(users.rep, initech)
    audits, outbox = count(AuditEntry), count(IndexChange)

    _, again = run_import(data, users.admin)
    assert count(Deal) == 4
    assert again.counts["unchanged"] == 4 and again.counts["created"] == 0
    assert (count(AuditEntry), count(IndexChange)) == (audits, outbox)  # nothing to record

    changed = data.replace(b'"$48,000.00"', b'"$52,500.00"').replace(
        b'"Closed Lost","Q1-2026"', b'"Closed Won","Q1-2026"', 1
    )
    _, third = run_import(changed, users.admin)
    assert third.counts["updated"] == 1 and count(Deal) == 4
    db.session.expire_all()
    initech = deal("0065g00000AbCdEAAV")
    assert initech.amount == Decimal("52500.00") and initech.outcome.value == "won"
    update = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "update", AuditEntry.entity_type == "deal")
    ).one()
    assert update.changes["amount"] == ["48000.00", "52500.00"]
    assert update.changes["outcome"] == ["lost", "won"]
    # The search index copies deal facts into debriefs: the debrief is queued again.
    queued = db.session.scalars(select(IndexChange).where(IndexChange.id > outbox)).all()
    assert [(c.doc_type, c.doc_id) for c in queued] == [("debrief", debrief.id)]


def test_blank_cells_keep_stored_values_and_competitors_are_added(app, users):
    header = "Record ID,Deal Name,Deal Stage,Close Date,Associated Company,Segment,Competitor\n"
    run_import((header + "9,Deal,Closed Lost,2026-03-01,Co,Enterprise,Acme\n").encode())
    _, report = run_import((header + "9,Deal,Closed Lost,2026-03-01,Co,,Globex\n").encode())
    assert report.counts["updated"] == 1
    stored = deal("9")
    assert stored.segment == "Enterprise"
    assert [c.name for c in stored.competitors] == ["Acme", "Globex"]


def test_hubspot_export_with_owner_names_and_european_numbers(app, users):
    _, report = run_import(HUBSPOT.read_bytes(), users.manager)
    assert report.counts == {
        "created": 4,
        "updated": 0,
        "unchanged": 0,
        "skipped": 1,
        "errors": 3,
    }
    errors = errors_by_row(report)
    assert errors[6] == [("Close Date", "'31.02.2026' is not a real date.")]
    assert errors[7][0][0] == "Record ID"
    assert errors[8][0][0] == "Deal Stage"

    stark = deal("14592837301")
    assert stark.owner_id == users.rep.id  # by the owner's name
    assert (stark.amount, stark.currency) == (Decimal("48000.00"), "EUR")
    assert [c.name for c in stark.competitors] == ["Acme"]  # alias "ACME Corp"
    assert stark.sales_cycle_days == (date(2026, 3, 5) - date(2026, 1, 12)).days
    wayne = deal("14592837302")
    assert wayne.owner_id == users.manager.id and wayne.amount == Decimal("120500.50")
    assert wayne.close_date == date(2026, 3, 12) and wayne.outcome.value == "won"
    assert [c.name for c in wayne.competitors] == ["Globex", "Salesforce"]
    cyberdyne = deal("14592837304")
    assert cyberdyne.close_date == date(2026, 3, 5) and cyberdyne.owner is None
    assert deal("14592837308").owner_id == users.rep.id  # names match without case
    assert deal("14592837303") is None  # still open


def test_owner_email_inside_the_owner_column(app, users):
    text = "Record ID,Deal Name,Deal Stage,Close Date,Associated Company,Deal owner\n"
    text += "5,Deal,Closed Won,2026-03-01,Co,Someone Else (peer@example.com)\n"
    run_import(text.encode())
    assert deal("5").owner_id == users.peer.id


def test_day_first_dates_by_detection_or_by_choice(app, users):
    text = "Record ID,Deal Name,Deal Stage,Close Date,Associated Company\n"
    text += "1,A,Closed Won,25/03/2026,X\n2,B,Closed Won,04/03/2026,X\n"
    _, parsed = parse_file(text.encode())
    assert (parsed.date_order, parsed.date_order_guessed) == ("dmy", False)
    assert [r.values["close_date"] for r in parsed.rows] == [date(2026, 3, 25), date(2026, 3, 4)]
    ambiguous = (
        "Record ID,Deal Name,Deal Stage,Close Date,Associated Company\n1,A,Won,04/03/2026,X\n"
    )
    _, parsed = parse_file(ambiguous.encode(), date_order="dmy")
    assert parsed.rows[0].values["close_date"] == date(2026, 3, 4)
    _, parsed = parse_file(ambiguous.encode())
    assert parsed.date_order_guessed and parsed.rows[0].values["close_date"] == date(2026, 4, 3)


def test_a_crash_mid_import_leaves_nothing(app, users, monkeypatch):
    real_write, calls = service._write, []

    def failing_write(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("disk full")
        return real_write(*args, **kwargs)

    monkeypatch.setattr(service, "_write", failing_write)
    with pytest.raises(RuntimeError):
        run_import(SALESFORCE.read_bytes(), users.admin)
    assert (count(Deal), count(IndexChange)) == (0, 0)
    assert count(AuditEntry) == db.session.scalar(
        select(func.count()).select_from(AuditEntry).where(AuditEntry.entity_type != "deal")
    )


# --- the pages ------------------------------------------------------------------------


def upload(client, path: Path, dry_run=True, fmt="auto"):
    data = {"file": (io.BytesIO(path.read_bytes()), path.name), "format": fmt}
    if dry_run:
        data["dry_run"] = "y"
    return client.post("/deals/import", data=data, content_type="multipart/form-data")


def mapping_fields(page: str) -> dict[str, str]:
    """The selected option of every select on the mapping page."""
    import re

    fields = {}
    for name, body in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', page, re.S):
        chosen = re.search(
            r'<option selected value="([^"]*)"|<option value="([^"]*)" selected', body
        )
        fields[name] = next((g for g in chosen.groups() if g is not None), "") if chosen else ""
    return fields


def test_import_page_dry_run_then_import(app, client, auth, users):
    auth.login(users.manager)
    assert client.get("/deals/import").status_code == 200
    response = upload(client, SALESFORCE)
    assert response.status_code == 302
    mapping_url = response.headers["Location"]
    token = mapping_url.split("/deals/import/")[1].split("?")[0]
    stored = Path(app.instance_path) / "imports" / f"{token}.csv"
    assert stored.read_bytes() == SALESFORCE.read_bytes()  # kept on the server, by a random name
    assert "salesforce" not in token

    page = client.get(mapping_url).get_data(as_text=True)
    assert "Detected format: <strong>Salesforce opportunity report</strong>" in page
    fields = mapping_fields(page)
    headers = crm_import.read_table(SALESFORCE.read_bytes()).headers
    assert headers[int(fields["map_crm_id"])] == "Opportunity ID"
    assert headers[int(fields["map_owner_email"])] == "Owner Email"
    assert '<input checked id="dry_run" name="dry_run" type="checkbox"' in page

    form = {**fields, "dry_run": "y", "action": "run"}
    page = client.post(f"/deals/import/{token}", data=form).get_data(as_text=True)
    assert "Dry run: nothing was stored" in page
    assert count(Deal) == 0
    for row, message in [
        (7, "Missing CRM id"),
        (8, "&#39;twelve thousand&#39; is not an amount"),
        (9, "&#39;2/30/2026&#39; is not a real date."),
        (10, "Unknown stage &#39;Stalled&#39;"),
        (11, "negative"),
    ]:
        assert f'<td class="num">{row}</td>' in page and message in page
    assert "Initech renewal" in page  # the preview
    warnings = page[page.index("<h2>Warnings</h2>") : page.index("How the first rows")]
    assert "Unknown competitor &#39;Hooli&#39;, left out." in warnings
    assert "No user has the e-mail address nora@example.com" in warnings

    errors = client.get(f"/deals/import/{token}/errors.csv")
    assert errors.status_code == 200 and errors.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(errors.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][-1] == "error" and len(rows) == 6

    form.pop("dry_run")
    page = client.post(f"/deals/import/{token}", data=form).get_data(as_text=True)
    assert "Import finished" in page and count(Deal) == 4


def test_mapping_can_be_edited_and_required_fields_are_checked(app, client, auth, users):
    auth.login(users.admin)
    token = upload(client, HUBSPOT).headers["Location"].split("/deals/import/")[1].split("?")[0]
    fields = mapping_fields(client.get(f"/deals/import/{token}").get_data(as_text=True))
    missing = client.post(
        f"/deals/import/{token}", data={**fields, "map_crm_id": "", "action": "run"}
    )
    assert missing.status_code == 422
    assert "Choose the column with the crm id." in missing.get_data(as_text=True)
    assert count(Deal) == 0

    # Leave the competitor column out: deals import without competitors.
    page = client.post(
        f"/deals/import/{token}", data={**fields, "map_competitors": "", "action": "run"}
    )
    assert page.status_code == 200 and count(Deal) == 4
    assert deal("14592837301").competitors == []

    # "Map again" redoes the mapping for another format.
    page = client.get(f"/deals/import/{token}?format=csv&dry_run=1").get_data(as_text=True)
    assert mapping_fields(page)["map_owner_name"] == ""
    assert mapping_fields(page)["format"] == "csv"


def test_upload_errors_are_shown_on_the_form(app, client, auth, users):
    auth.login(users.manager)
    app.config["KB_IMPORT_MAX_BYTES"] = 1000
    too_big = upload(client, SALESFORCE)
    assert too_big.status_code == 422
    assert "The file is larger than" in too_big.get_data(as_text=True)
    app.config["KB_IMPORT_MAX_BYTES"] = 10 * 1024 * 1024
    no_file = client.post("/deals/import", data={"format": "auto"})
    assert no_file.status_code == 422
    assert "Choose the CSV file" in no_file.get_data(as_text=True)
    workbook = client.post(
        "/deals/import",
        data={"file": (io.BytesIO(b"PK\x03\x04..."), "deals.xlsx"), "format": "auto"},
        content_type="multipart/form-data",
    )
    assert "save it as CSV first" in workbook.get_data(as_text=True)


def test_only_managers_and_admins_import(app, client, auth, users):
    auth.login(users.manager)
    token = upload(client, SALESFORCE).headers["Location"].split("/deals/import/")[1]
    token = token.split("?")[0]
    auth.logout()
    for user in (users.rep, users.marketing):
        auth.login(user)
        assert client.get("/deals/import").status_code == 403
        assert upload(client, SALESFORCE).status_code == 403
        assert client.get(f"/deals/import/{token}").status_code == 403
        assert client.post(f"/deals/import/{token}", data={"action": "run"}).status_code == 403
        auth.logout()
    # Another manager cannot use someone else's upload; an admin can.
    auth.login(users.west_manager)
    assert client.get(f"/deals/import/{token}").status_code == 404
    auth.logout()
    auth.login(users.admin)
    assert client.get(f"/deals/import/{token}").status_code == 200
    assert client.get("/deals/import/..%2F..%2Fsecret_key").status_code == 404


def test_nav_links_for_importers(app, client, auth, users):
    auth.login(users.manager)
    page = client.get("/").get_data(as_text=True)
    assert 'href="/coverage"' in page
    assert 'href="/deals/import"' in client.get("/coverage").get_data(as_text=True)
    auth.logout()
    auth.login(users.rep)
    page = client.get("/").get_data(as_text=True)
    assert 'href="/deals/import"' not in page and 'href="/coverage"' not in page


# --- the command ------------------------------------------------------------------------


def test_cli_import_deals(app, runner, users):
    result = runner.invoke(args=["import-deals", str(SALESFORCE), "--dry-run"])
    assert "Salesforce opportunity report (detected): 10 rows" in result.output
    assert "Dry run, nothing stored. Created 4, updated 0, unchanged 0, skipped 1, errors 5." in (
        result.output
    )
    assert "Row 9: Close Date: '2/30/2026' is not a real date." in result.output
    assert result.exit_code == 1 and count(Deal) == 0

    result = runner.invoke(args=["import-deals", str(SALESFORCE), "--format", "salesforce"])
    assert "Created 4, updated 0, unchanged 0, skipped 1, errors 5." in result.output
    assert "Row 6: warning: Owner Email: No user has the e-mail address" in result.output
    assert count(Deal) == 4
    assert db.session.scalars(select(AuditEntry).where(AuditEntry.entity_type == "deal")).all()

    result = runner.invoke(args=["import-deals", str(SALESFORCE)])
    assert "Created 0, updated 0, unchanged 4" in result.output and count(Deal) == 4


def test_cli_mapping_overrides(app, runner, users, tmp_path):
    path = tmp_path / "deals.csv"
    path.write_text("Ref,Title,Customer,Result,Closed on\nA1,Deal,Co,Won,2026-03-01\n")
    result = runner.invoke(args=["import-deals", str(path)])
    assert result.exit_code == 1 and "No column for: crm_id (CRM id)" in result.output
    result = runner.invoke(
        args=[
            "import-deals",
            str(path),
            "--map",
            "crm_id=Ref",
            "--map",
            "name=Title",
            "--map",
            "account=Customer",
            "--map",
            "stage=Result",
            "--map",
            "close_date=Closed on",
        ]
    )
    assert result.exit_code == 0, result.output
    assert deal("A1").outcome.value == "won"
    result = runner.invoke(args=["import-deals", str(path), "--map", "colour=Ref"])
    assert result.exit_code == 1 and "Unknown field 'colour'" in result.output
    result = runner.invoke(args=["import-deals", str(path), "--map", "crm_id=Nope"])
    assert result.exit_code == 1 and "The file has no column 'Nope'." in result.output


def test_a_currency_that_is_not_an_iso_code_is_a_row_error(app, users):
    text = "Record ID,Deal Name,Deal Stage,Close Date,Associated Company,Amount,Currency\n"
    text += "1,A,Closed Won,2026-03-01,X,100,EUR\n2,B,Closed Lost,2026-03-02,X,100,ABC\n"
    _, parsed = parse_file(text.encode())
    assert parsed.rows[0].values is not None and not parsed.rows[0].errors
    assert [e.message for e in parsed.rows[1].errors] == ["'ABC' is not an ISO 4217 currency code."]
