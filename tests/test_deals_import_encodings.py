"""CSV files in encodings that break a naive reader: broken UTF-16, NUL
characters deep in the file, and non-Western legacy encodings. Each is read
correctly or refused with a message, on the upload page, at the import step
and on the command line; nothing is stored from a refused file."""

import codecs
import io

import pytest
from sqlalchemy import func, select

from kb.deals import crm_import
from kb.extensions import db
from kb.models import Deal

HEADER = "Opportunity ID,Opportunity Name,Account Name,Amount,Close Date,Stage\n"


def csv_text(names: list[str]) -> str:
    rows = [f"00{n},{name},{name} Ltd,48000,3/5/2026,Closed Won\n" for n, name in enumerate(names)]
    return HEADER + "".join(rows)


def long_csv_with_nul() -> bytes:
    """A UTF-8 file whose first 4 KB are clean and a later row holds a NUL."""
    good = csv_text([f"Renewal {n}" for n in range(200)])
    assert len(good) > 4096
    return (good + "00999,Bad\x00name,Bad Ltd,1,3/5/2026,Closed Won\n").encode()


JAPANESE = csv_text(["東京の更新", "大阪の新規契約", "名古屋の拡大"])
RUSSIAN = csv_text(["Продление договора", "Новая сделка", "Расширение"])
BROKEN = {
    "UTF-16 with an odd byte count": codecs.BOM_UTF16_LE
    + csv_text(["A", "B"]).encode("utf-16-le")[:-1],
    "UTF-16 with a lone surrogate": codecs.BOM_UTF16_LE
    + csv_text(["A"]).encode("utf-16-le")
    + b"\x00\xd8A\x00",
    "a NUL after the first 4 KB": long_csv_with_nul(),
    "UTF-16 holding a NUL": codecs.BOM_UTF16_LE + "a,b\n1,\x00\n".encode("utf-16-le"),
}
MESSAGES = {
    "UTF-16 with an odd byte count": "is not valid UTF-16",
    "UTF-16 with a lone surrogate": "is not valid UTF-16",
    "a NUL after the first 4 KB": "Line 202 holds a NUL character",
    "UTF-16 holding a NUL": "Line 2 holds a NUL character",
}


@pytest.mark.parametrize("name", BROKEN)
def test_broken_files_are_refused_with_a_message(name):
    with pytest.raises(crm_import.FileError, match=MESSAGES[name]):
        crm_import.read_table(BROKEN[name])


@pytest.mark.parametrize(
    ("text", "codec", "label"),
    [(JAPANESE, "shift_jis", "CP932 (detected)"), (RUSSIAN, "cp1251", "CP1251 (detected)")],
)
def test_non_western_encodings_are_detected_not_read_as_windows_1252(text, codec, label):
    table = crm_import.read_table(text.encode(codec))
    assert table.encoding == label
    assert [cells[1] for _, cells in table.rows] == [
        line.split(",")[1] for line in text.splitlines()[1:]
    ]


def test_western_files_still_read_as_windows_1252():
    text = csv_text(["Café renewal", "Müller “deal”", "Größe", "Zürich – Genève"])
    table = crm_import.read_table(text.encode("cp1252"))
    assert table.encoding == "Windows-1252"
    assert table.rows[1][1][1] == "Müller “deal”" and table.rows[2][1][1] == "Größe"


def test_text_that_fits_no_encoding_is_refused():
    # Bytes that read as mojibake in Windows-1252 and match no other encoding.
    noise = bytes(range(0xC0, 0x100)) * 8
    with pytest.raises(crm_import.FileError, match="save it as CSV UTF-8"):
        crm_import.read_table(HEADER.encode() + b"001," + noise + b",x,1,3/5/2026,Closed Won\n")


@pytest.mark.parametrize("name", BROKEN)
def test_the_upload_page_explains_a_broken_file(app, client, auth, users, name):
    app.instance_path = str(app.instance_path) + "-" + name.replace(" ", "-")
    auth.login(users.manager)
    response = client.post(
        "/deals/import",
        data={"file": (io.BytesIO(BROKEN[name]), "deals.csv"), "format": "auto"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert MESSAGES[name] in response.get_data(as_text=True)


def test_a_japanese_file_imports_with_its_names(app, client, auth, users, tmp_path):
    app.instance_path = str(tmp_path / "instance")
    auth.login(users.manager)
    uploaded = client.post(
        "/deals/import",
        data={"file": (io.BytesIO(JAPANESE.encode("shift_jis")), "deals.csv"), "format": "auto"},
        content_type="multipart/form-data",
    )
    assert uploaded.status_code == 302
    mapping = client.get(uploaded.headers["Location"])
    assert mapping.status_code == 200 and "CP932 (detected)" in mapping.get_data(as_text=True)
    assert "東京の更新" in mapping.get_data(as_text=True)


@pytest.mark.parametrize("name", BROKEN)
def test_the_command_line_explains_a_broken_file(app, runner, users, tmp_path, name):
    path = tmp_path / "deals.csv"
    path.write_bytes(BROKEN[name])
    result = runner.invoke(args=["import-deals", str(path)])
    assert result.exit_code == 1
    assert MESSAGES[name] in result.output and "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert db.session.scalar(select(func.count()).select_from(Deal)) == 0
