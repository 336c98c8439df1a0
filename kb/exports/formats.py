"""Writing rows out as CSV, XLSX or JSON, a chunk at a time.

Every string cell of a CSV file goes through `neutralise`: a spreadsheet
runs a cell starting with =, +, -, @, a tab or a carriage return as a
formula, so such a cell gets a leading single quote. A separator of another
locale (";", a tab, "|") followed by a formula character ("fine;=1+2") gets
the same quote before that character, and the value is quoted: a spreadsheet
whose locale splits on that separator ignores the file's quoting there and
would otherwise open the rest as a cell of its own starting with "=".

An XLSX cell says what it holds, so its text is kept exactly: every string
is written as a string cell, which a spreadsheet shows as text and never
runs, even when it starts with "=". XLSX sheets are for people: codes are
shown as the pages show them ("No decision", "Hurt", "Yes"), each debrief
has a link to its page, and each header row has a filter. JSON is never
altered."""

import io
import json
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from kb.exports.rows import Book, Column, Sheet
from kb.models.enums import label_of

FORMATS = ("csv", "xlsx", "json")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CHUNK = 64 * 1024
ROWS_PER_CHUNK = 200
XLSX_MAX_CELL = 32_767


def neutralise(value: Any) -> Any:
    """A string a spreadsheet would run as a formula, made plain text."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


# A separator of another locale, then a formula start: the cell such a
# spreadsheet would make of the rest.
_FOREIGN_CELL_FORMULA = re.compile(r"([;\t|]\s*)([=+\-@])")


def _csv_text(value: Any) -> Any:
    value = neutralise(value)
    if isinstance(value, str):
        return _FOREIGN_CELL_FORMULA.sub(r"\1'\2", value)
    return value


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return _csv_text("; ".join(str(v) for v in value))
    return _csv_text(value)


# What makes a CSV field need quotes: the comma, a quote or a line break (as
# the csv module quotes), or any locale's separator before a formula start.
_NEEDS_QUOTES = re.compile(r'[,"\r\n]|[;\t|]\s*\'?[=+\-@]')


def _csv_field(value: Any) -> str:
    text = str(value)
    if _NEEDS_QUOTES.search(text):
        return '"' + text.replace('"', '""') + '"'
    return text


def _csv_line(values: Iterable[Any]) -> str:
    return ",".join(_csv_field(v) for v in values) + "\r\n"


def csv_chunks(sheet: Sheet) -> Iterator[str]:
    """One sheet as CSV text (with a byte-order mark, so spreadsheets read UTF-8)."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    buffer.write(_csv_line(c.title for c in sheet.columns))
    for count, row in enumerate(sheet.rows, 1):
        buffer.write(_csv_line(_csv_value(row.get(c.key)) for c in sheet.columns))
        if count % ROWS_PER_CHUNK == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, set | tuple):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def json_chunks(items: Iterable[dict[str, Any]]) -> Iterator[str]:
    """A JSON array written an item at a time."""
    yield "["
    parts: list[str] = []
    first = True
    for item in items:
        parts.append(("\n" if first else ",\n") + json.dumps(item, default=_json_default))
        first = False
        if len(parts) >= ROWS_PER_CHUNK:
            yield "".join(parts)
            parts = []
    parts.append("\n]\n")
    yield "".join(parts)


LINK_STYLE = "Link"


def _load_openpyxl() -> None:
    """Import openpyxl on the first XLSX export rather than at start-up:
    its hundreds of modules cost every web worker about 6 MB, and most
    never write a workbook. The cell helpers below use these globals."""
    global Workbook, WriteOnlyCell, ERROR_CODES, ILLEGAL_CHARACTERS_RE, TYPE_STRING
    global Alignment, Font, NamedStyle, get_column_letter
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE, TYPE_STRING
    from openpyxl.styles import Alignment, Font, NamedStyle
    from openpyxl.utils import get_column_letter


def _xlsx_text(ws, text: str) -> Any:
    """Text exactly as written. openpyxl takes a string starting with "="
    for a formula and one such as "#N/A" for an error; those go in a cell
    typed as a string. Control characters (pasted from other tools) are not
    allowed in the file format; they are invisible, so they are dropped."""
    text = ILLEGAL_CHARACTERS_RE.sub("", text)[:XLSX_MAX_CELL]
    if text.startswith("=") or text in ERROR_CODES:
        cell = WriteOnlyCell(ws, value=text)
        cell.data_type = TYPE_STRING
        return cell
    return text


def _xlsx_link(ws, url: str | None) -> Any:
    """A link to `url`, as a HYPERLINK formula of the app's own address (no
    user text), not a cell link: openpyxl holds every cell link of a sheet in
    memory until the file is saved, and Excel opens at most 65,530 of them a
    sheet, while an export may link any number of debriefs."""
    if url is None:
        return None
    cell = WriteOnlyCell(ws, value='=HYPERLINK("{}")'.format(url.replace('"', "%22")))
    cell.style = LINK_STYLE  # by name: setting a Font would look it up per cell
    return cell


def _xlsx_value(ws, value: Any) -> Any:
    """A cell's value, typed; dates and amounts as cells with their format."""
    if value is None:
        return None
    if isinstance(value, bool):
        value = "Yes" if value else "No"
    elif isinstance(value, Decimal):
        value = float(value)
    elif isinstance(value, list | tuple):
        value = "; ".join(str(v) for v in value)
    if isinstance(value, str):
        return _xlsx_text(ws, value)
    if isinstance(value, datetime):
        cell = WriteOnlyCell(ws, value=value.replace(tzinfo=None))
        cell.number_format = "yyyy-mm-dd hh:mm"
    elif isinstance(value, date):
        cell = WriteOnlyCell(ws, value=value)
        cell.number_format = "yyyy-mm-dd"
    elif isinstance(value, float):
        cell = WriteOnlyCell(ws, value=value)
        cell.number_format = "#,##0.00"
    else:
        return value
    return cell


def _xlsx_cell_maker(column: Column) -> Callable[[Any, Any], Any]:
    """How a column's values become cells: a link, a code's label, or as typed."""
    if column.link:
        return _xlsx_link
    if column.codes is None:
        return _xlsx_value
    # A value that is not a code stays as it is: the winner column holds
    # competitors' names as well as "no_decision" and "in_house".
    labels = {member.value: label_of(member) for member in column.codes}
    return lambda ws, value: _xlsx_value(ws, labels.get(value, value))


def write_xlsx(book: Book, out) -> None:
    """The book into one workbook on `out` (a path or a binary file), in one
    pass over its rows: openpyxl's write-only sheets each spool their rows
    to a temporary file, so rows of several sheets may come interleaved. A
    sheet's filter, written after its rows, covers the rows it got."""
    _load_openpyxl()
    wb = Workbook(write_only=True)
    wb.add_named_style(NamedStyle(LINK_STYLE, font=Font(color="0563C1", underline="single")))
    bold = Font(bold=True)
    sheets = []
    for name, columns in book.sheets:
        ws = wb.create_sheet(name[:31])
        for i, column in enumerate(columns, 1):
            ws.column_dimensions[get_column_letter(i)].width = column.width
        ws.freeze_panes = "A2"
        header = []
        for column in columns:
            cell = WriteOnlyCell(ws, value=column.title)
            cell.font = bold
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            header.append(cell)
        ws.append(header)
        sheets.append((ws, [(c.key, _xlsx_cell_maker(c)) for c in columns]))
    written = [1] * len(sheets)
    for number, row in book.items():
        ws, makers = sheets[number]
        ws.append([make(ws, row.get(key)) for key, make in makers])
        written[number] += 1
    for (ws, makers), last_row in zip(sheets, written, strict=True):
        ws.auto_filter.ref = f"A1:{get_column_letter(len(makers))}{last_row}"
    wb.save(out)


def xlsx_chunks(book: Book) -> Iterator[bytes]:
    """The workbook, written to a temporary file on disk, then read back in chunks."""
    with tempfile.TemporaryFile() as spool:
        write_xlsx(book, spool)
        spool.seek(0)
        while chunk := spool.read(CHUNK):
            yield chunk
