"""Writing rows out as CSV, XLSX or JSON, a chunk at a time.

Every string cell of a CSV or XLSX file goes through `neutralise`: a
spreadsheet runs a cell starting with =, +, -, @, a tab or a carriage return
as a formula, so such a cell gets a leading single quote."""

import csv
import io
import json
import tempfile
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from kb.exports.rows import Sheet

FORMATS = ("csv", "xlsx", "json")
MIMETYPES = {
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


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return neutralise("; ".join(str(v) for v in value))
    return neutralise(value)


def csv_chunks(sheet: Sheet) -> Iterator[str]:
    """One sheet as CSV text (with a byte-order mark, so spreadsheets read UTF-8)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow([c.title for c in sheet.columns])
    for count, row in enumerate(sheet.rows, 1):
        writer.writerow([_csv_value(row.get(c.key)) for c in sheet.columns])
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


def _xlsx_cell(ws, value: Any) -> WriteOnlyCell:
    if isinstance(value, Decimal):
        value = float(value)
    elif isinstance(value, list | tuple):
        value = "; ".join(str(v) for v in value)
    if isinstance(value, datetime) and value.tzinfo is not None:
        value = value.replace(tzinfo=None)
    if isinstance(value, str):
        value = neutralise(value)[:XLSX_MAX_CELL]
    cell = WriteOnlyCell(ws, value=value)
    if isinstance(value, datetime):
        cell.number_format = "yyyy-mm-dd hh:mm"
    elif isinstance(value, date):
        cell.number_format = "yyyy-mm-dd"
    elif isinstance(value, float):
        cell.number_format = "#,##0.00"
    return cell


def write_xlsx(sheets: list[Sheet], out) -> None:
    """The sheets into one workbook on `out` (a path or a binary file). The
    workbook is written row by row (openpyxl's write-only mode)."""
    wb = Workbook(write_only=True)
    bold = Font(bold=True)
    for sheet in sheets:
        ws = wb.create_sheet(sheet.name[:31])
        for i, column in enumerate(sheet.columns, 1):
            ws.column_dimensions[get_column_letter(i)].width = column.width
        ws.freeze_panes = "A2"
        header = []
        for column in sheet.columns:
            cell = WriteOnlyCell(ws, value=column.title)
            cell.font = bold
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            header.append(cell)
        ws.append(header)
        for row in sheet.rows:
            ws.append([_xlsx_cell(ws, row.get(c.key)) for c in sheet.columns])
    wb.save(out)


def xlsx_chunks(sheets: list[Sheet]) -> Iterator[bytes]:
    """The workbook, written to a temporary file on disk, then read back in chunks."""
    with tempfile.TemporaryFile() as spool:
        write_xlsx(sheets, spool)
        spool.seek(0)
        while chunk := spool.read(CHUNK):
            yield chunk
