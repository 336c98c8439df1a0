"""Past win/loss notes out of a spreadsheet (CSV or XLSX): one submitted
debrief a row, on the deal the row names.

Reading, column matching, dates, amounts and the error report come from the
deal import (kb.deals.crm_import); the debriefs are written with the same
steps as one filed in the app (kb.debriefs.service: deal facts, reasons,
quotes, audit entry, search outbox), all rows in one transaction. A row with
an error stores nothing at all: the file is fixed and imported again.

Re-importing adds nothing: each debrief keeps an import key, the file's row
id when a column gives one, else a hash of the deal, date and text.
"""

import hashlib
import io
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select, tuple_

from kb import audit
from kb.deals.crm_formats import Target, header_key
from kb.deals.crm_import import (
    FileError,
    Issue,
    RowResult,
    Table,
    detect_date_order,
    detect_decimal_comma,
    parse_amount,
    parse_date,
    read_table,
    stage_outcome,
)
from kb.deals.service import Lookups
from kb.debriefs import service as debriefs
from kb.debriefs.schemas import DebriefIn
from kb.extensions import db
from kb.models import Deal, Debrief, DebriefSource, Direction, ReasonCategory, User
from kb.search.outbox import enqueue, enqueue_deal_practices
from kb.validation import field_errors

TARGETS = (
    Target("row_id", "Row id", help="A re-import skips the rows it already stored by this id."),
    Target("crm_id", "CRM id", help="Matches the deal by CRM id; else by name and account."),
    Target("name", "Deal name", True),
    Target("account", "Account", True),
    Target("outcome", "Outcome", True, "Won, lost or no decision."),
    Target("close_date", "Date", True, "The close date."),
    Target("reasons", "Reasons", True, "Why the deal was won or lost, as text."),
    Target("category", "Reason category", help="A category of the taxonomy; else Uncategorised."),
    Target("quotes", "Quotes", help="One quote a line."),
    Target("source", "Source", help="'buyer' for a buyer interview; else a rep debrief."),
    Target("author_email", "Author e-mail", help="Else the person importing."),
    Target("amount", "Amount"),
    Target("currency", "Currency"),
    Target("competitors", "Competitor", help="Several may be separated by ';'."),
    Target("winner", "Winner", help="Who won a deal we lost."),
)
REQUIRED = tuple(t.key for t in TARGETS if t.required)
# Headers that name each field in the spreadsheets teams keep, compared as
# header_key does (no case, spaces or punctuation).
HEADERS: dict[str, tuple[str, ...]] = {
    "row_id": ("id", "rowid", "debriefid", "noteid", "recordid"),
    "crm_id": ("crmid", "opportunityid", "dealid"),
    "name": ("deal", "dealname", "opportunity", "opportunityname", "name"),
    "account": ("account", "accountname", "customer", "company"),
    "outcome": ("outcome", "result", "winloss", "status", "stage"),
    "close_date": ("date", "closedate", "closed", "decisiondate"),
    "reasons": ("reasons", "reason", "why", "notes", "winlossreason", "reasontext"),
    "category": ("category", "reasoncategory", "theme"),
    "quotes": ("quotes", "quote", "verbatim", "buyerquote"),
    "source": ("source", "type", "debrieftype"),
    "author_email": ("author", "authoremail", "email", "rep", "repemail", "owneremail"),
    "amount": ("amount", "value", "dealvalue", "acv"),
    "currency": ("currency",),
    "competitors": ("competitor", "competitors", "primarycompetitor"),
    "winner": ("winner", "lostto", "wonby"),
}
UNCATEGORISED = ("other", "Other", "other.uncategorised", "Uncategorised")
_OUTCOMES = {
    "won": "won",
    "win": "won",
    "w": "won",
    "lost": "lost",
    "loss": "lost",
    "l": "lost",
    "nodecision": "no_decision",
    "nodeal": "no_decision",
}
BATCH = 500


def suggest_mapping(headers: list[str]) -> dict[str, int]:
    """Field -> column index from the headers; a column serves one field."""
    keys = [header_key(h) for h in headers]
    mapping: dict[str, int] = {}
    for target, names in HEADERS.items():
        for name in names:
            if name in keys and keys.index(name) not in mapping.values():
                mapping[target] = keys.index(name)
                break
    return mapping


def override_mapping(headers: list[str], mapping: dict[str, int], pairs) -> dict[str, int]:
    """`mapping` with "field=Column header" pairs applied ("field=" drops it)."""
    mapping = dict(mapping)
    keys = [header_key(h) for h in headers]
    for pair in pairs:
        target, _, column = pair.partition("=")
        target = target.strip()
        if target not in HEADERS:
            raise ValueError(f"Unknown field '{target}': use one of {', '.join(HEADERS)}.")
        if not column.strip():
            mapping.pop(target, None)
        elif header_key(column) in keys:
            mapping[target] = keys.index(header_key(column))
        else:
            raise ValueError(f"No column '{column}' in the file.")
    return mapping


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).replace("\r\n", "\n").strip()


def read_xlsx(data: bytes) -> Table:
    """The first sheet of a workbook as the table read_table gives for a CSV."""
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise FileError(f"The workbook cannot be read: {exc}.") from None
    try:
        records = [
            [_cell_text(v) for v in row] for row in book.worksheets[0].iter_rows(values_only=True)
        ]
    finally:
        book.close()
    if not records or not any(records[0]):
        raise FileError("The workbook's first sheet is empty.")
    headers = [h or f"Column {i + 1}" for i, h in enumerate(records[0])]
    rows = [
        (number, cells + [""] * (len(headers) - len(cells)))
        for number, cells in enumerate(records[1:], start=2)
        if any(cells)
    ]
    return Table(headers, rows, "XLSX", ",")


def read_file(data: bytes) -> Table:
    """A CSV (any encoding the deal import reads) or an XLSX workbook."""
    return read_xlsx(data) if data.startswith(b"PK\x03\x04") else read_table(data)


@dataclass
class Report:
    rows: list[RowResult]
    dry_run: bool
    created: int = 0
    already: int = 0
    repeated: int = 0  # rows the same as an earlier row of the file
    stored: bool = False
    debrief_ids: list[int] = field(default_factory=list)

    @property
    def failed(self) -> list[RowResult]:
        return [r for r in self.rows if r.errors]

    @property
    def problems(self) -> list[str]:
        return [f"Row {r.row_number}: " + "; ".join(str(e) for e in r.errors) for r in self.failed]

    @property
    def warned(self) -> list[RowResult]:
        return [r for r in self.rows if r.warnings and not r.errors]

    @property
    def notes(self) -> list[str]:
        return [
            f"Row {r.row_number}: " + "; ".join(w.message for w in r.warnings) for r in self.warned
        ]

    def summary(self) -> str:
        verb = "would be imported" if self.dry_run or not self.stored else "imported"
        noun = "debrief" if self.created == 1 else "debriefs"
        text = f"{self.created} {noun} {verb}, {self.already} already imported"
        if self.repeated:
            text += f", {self.repeated} rows repeating an earlier row"
        if self.failed:
            text += f", {len(self.failed)} rows with errors"
            if not self.dry_run:
                text += " (nothing was stored: fix them and import the file again)"
        return text + "."


class _Row:
    def __init__(self, table: Table, mapping: dict[str, int], number: int, cells: list[str]):
        self.table, self.mapping, self.number, self.cells = table, mapping, number, cells
        self.errors: list[Issue] = []
        self.warnings: list[Issue] = []

    def cell(self, key: str) -> str:
        index = self.mapping.get(key)
        return self.cells[index].strip() if index is not None and index < len(self.cells) else ""

    def fail(self, key: str, message: str) -> None:
        column = self.table.headers[self.mapping[key]] if key in self.mapping else ""
        self.errors.append(Issue(column, message))


def _outcome(text: str) -> str | None:
    return _OUTCOMES.get(header_key(text)) or (stage_outcome(text) if text else None)


def _import_key(row: _Row) -> str:
    if row_id := row.cell("row_id"):
        return f"row:{row_id}"[:80]
    parts = [row.cell(k) for k in ("crm_id", "name", "account", "close_date", "reasons", "quotes")]
    return "sha256:" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _payload(row: _Row, date_order: str, decimal_comma: bool) -> dict[str, Any]:
    """The row as DebriefIn takes it (the reason's category filled in later)."""
    deal: dict[str, Any] = {"name": row.cell("name"), "account": row.cell("account")}
    if crm_id := row.cell("crm_id"):
        deal["crm_id"] = crm_id
    outcome = _outcome(row.cell("outcome"))
    if outcome is None:
        text = row.cell("outcome")
        row.fail(
            "outcome",
            f"Unknown outcome '{text}': write won, lost or no decision."
            if text
            else "Missing outcome.",
        )
    deal["outcome"] = outcome
    if not (text := row.cell("close_date")):
        row.fail("close_date", "Missing date.")
    else:
        try:
            deal["close_date"] = parse_date(text, date_order)
        except ValueError as exc:
            row.fail("close_date", str(exc))
    if text := row.cell("amount"):
        try:
            deal["amount"], currency = parse_amount(text, decimal_comma)
            if currency:
                deal["currency"] = currency
        except ValueError as exc:
            row.fail("amount", str(exc))
    if text := row.cell("currency"):
        deal["currency"] = text
    if text := row.cell("competitors"):
        deal["competitors"] = [n.strip() for n in text.split(";") if n.strip()]
    if (text := row.cell("winner")) and outcome != "won":
        deal["winner"] = text
    buyer = row.cell("source").lower().startswith("buyer")
    reasons = row.cell("reasons")
    if not reasons:
        row.fail("reasons", "Missing reasons: say why the deal was won or lost.")
    quotes = [line.strip() for line in row.cell("quotes").splitlines() if line.strip()]
    return {
        "source": "buyer" if buyer else "rep",
        "status": "submitted",
        "deal": deal,
        # A buyer interview names who spoke; old notes rarely do.
        "interviewee_role": "Buyer" if buyer else None,
        "reasons": [
            {
                "category": "placeholder",
                "direction": Direction.HELPED if outcome == "won" else Direction.HURT,
                "explanation": reasons,
            }
        ],
        "quotes": [{"text": q} for q in quotes],
    }


class _Categories:
    """Reason categories by slug or name, and the Uncategorised one, made on
    first need (it is not in the seeded taxonomy)."""

    def __init__(self) -> None:
        children = db.session.scalars(
            select(ReasonCategory).where(ReasonCategory.parent_id.is_not(None))
        )
        self.by_key: dict[str, ReasonCategory] = {}
        for category in children:
            if category.active:
                self.by_key.setdefault(category.slug.lower(), category)
                self.by_key.setdefault(category.name.lower(), category)
        self._other: ReasonCategory | None = None

    def find(self, text: str) -> ReasonCategory | None:
        return self.by_key.get(text.strip().lower())

    def uncategorised(self) -> ReasonCategory:
        if self._other is None:
            group_slug, group_name, slug, name = UNCATEGORISED
            self._other = db.session.scalar(
                select(ReasonCategory).where(ReasonCategory.slug == slug)
            )
            if self._other is None:
                parent = db.session.scalar(
                    select(ReasonCategory).where(ReasonCategory.slug == group_slug)
                ) or ReasonCategory(slug=group_slug, name=group_name, position=99)
                self._other = ReasonCategory(slug=slug, name=name, parent=parent, position=0)
                db.session.add(self._other)
        return self._other


def _batched(values: list, size: int = BATCH):
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _stored_keys(keys: list[str]) -> set[str]:
    found: set[str] = set()
    for batch in _batched(keys):
        found.update(
            db.session.scalars(select(Debrief.import_key).where(Debrief.import_key.in_(batch)))
        )
    return found


def _deals_by_name(pairs: list[tuple[str, str]]) -> dict[tuple[str, str], Deal]:
    found: dict[tuple[str, str], Deal] = {}
    for batch in _batched(pairs):
        stmt = select(Deal).where(
            tuple_(func.lower(Deal.name), func.lower(Deal.account)).in_(batch)
        )
        for deal in db.session.scalars(stmt):
            found.setdefault((deal.name.lower(), deal.account.lower()), deal)
    return found


def import_debriefs(
    actor: User | None,
    table: Table,
    mapping: dict[str, int],
    date_order: str = "auto",
    dry_run: bool = False,
    source: str = "",
) -> Report:
    """Check every row, then (unless `dry_run` or a row failed) store them
    all in one commit. `actor` is the importing user: the author of rows
    without an author column, and who the audit log names."""
    if missing := [t.label for t in TARGETS if t.required and t.key not in mapping]:
        raise ValueError("Map a column to: " + ", ".join(missing) + ".")
    if date_order not in ("mdy", "dmy"):
        index = mapping["close_date"]
        date_order, _ = detect_date_order([cells[index] for _, cells in table.rows])
    amounts = [cells[mapping["amount"]] for _, cells in table.rows] if "amount" in mapping else []
    decimal_comma = detect_decimal_comma(amounts)

    lookups, categories = Lookups(), _Categories()
    parsed: list[tuple[RowResult, _Row, DebriefIn | None, str]] = []
    seen: dict[str, int] = {}
    report_repeats = 0
    for number, cells in table.rows:
        row = _Row(table, mapping, number, cells)
        payload = _payload(row, date_order, decimal_comma)
        key = _import_key(row)
        result = RowResult(number, None, cells=cells)
        data = None
        if key in seen:
            result.skipped = f"The same debrief as row {seen[key]}."
            report_repeats += 1
        elif not row.errors:
            seen[key] = number
            try:
                data = DebriefIn.model_validate(payload)
            except ValidationError as exc:
                row.errors += [Issue(k, v) for k, v in field_errors(exc).items()]
        result.errors = row.errors
        parsed.append((result, row, data, key))

    stored = _stored_keys([key for _, _, data, key in parsed if data is not None])
    lookups.prefetch_deals([d.deal.crm_id for _, _, d, _ in parsed if d and d.deal.crm_id])
    by_name = _deals_by_name(
        list({(d.deal.name.lower(), d.deal.account.lower()) for _, _, d, _ in parsed if d})
    )
    report = Report([r for r, _, _, _ in parsed], dry_run, repeated=report_repeats)
    plans = []
    for result, row, data, key in parsed:
        if data is None:
            continue
        if key in stored:
            result.skipped = "Already imported."
            report.already += 1
            continue
        plan = _resolve(actor, row, data, lookups, categories, by_name)
        result.warnings = row.warnings
        if not row.errors:
            plans.append((data, key, *plan))
            report.created += 1
    if dry_run or report.failed:
        db.session.rollback()
        return report
    _store(actor, plans, report, source)
    return report


def _resolve(actor, row: _Row, data: DebriefIn, lookups, categories, by_name):
    """(author, resolved records) for one row; errors go on the row."""
    email = row.cell("author_email")
    author = lookups.user_by_email(email) if email else actor
    if author is None:
        row.fail(
            "author_email",
            f"No user has the e-mail '{email}'."
            if email
            else "No author: map an author e-mail column or name the importing user.",
        )
    category = categories.find(text) if (text := row.cell("category")) else None
    if text and category is None:
        row.fail("category", f"Unknown reason category '{text}'.")
    found = debriefs.Resolved()
    facts = data.deal
    deal = lookups.deal(facts.crm_id) if facts.crm_id else None
    found.deal = deal or by_name.get((facts.name.lower(), facts.account.lower()))
    if found.deal is not None:
        _note_other_facts(row, found.deal, facts)
    if found.deal is None:
        # A new deal: its facts checked as the debrief form checks them, but
        # competitors nobody set up are left out with a warning, as the deal
        # import does: history names rivals long gone from the list.
        facts = _without_unknown_competitors(row, facts, lookups)
        debriefs.resolve_deal_facts(facts, None, found, lookups)
        for key, message in found.errors.items():
            target = key.removeprefix("deal.").split(".")[0]
            if target in row.mapping:
                row.fail(target, message)
            else:
                row.errors.append(Issue(target, message))
    found.categories = [category or categories.uncategorised()]
    found.reason_competitors = [None]
    return author, found


def _without_unknown_competitors(row: _Row, facts, lookups):
    unknown = [name for name in facts.competitors if lookups.competitor(name) is None]
    if not unknown:
        return facts
    noun = "competitor" if len(unknown) == 1 else "competitors"
    names = ", ".join(f"'{name}'" for name in unknown)
    column = row.table.headers[row.mapping["competitors"]] if "competitors" in row.mapping else ""
    row.warnings.append(Issue(column, f"Unknown {noun} {names}, left out; an admin can add it."))
    kept = [name for name in facts.competitors if name not in unknown]
    return facts.model_copy(update={"competitors": kept})


def _note_other_facts(row: _Row, deal: Deal, facts) -> None:
    """A row on a stored deal leaves the deal's facts as they are (the CRM
    import keeps them); say so where the row tells another story."""
    stored, given = [], []
    if facts.outcome != deal.outcome:
        stored.append(deal.outcome.label.lower())
        given.append(facts.outcome.label.lower())
    if facts.close_date != deal.close_date:
        stored.append(f"closed {deal.close_date.isoformat()}")
        given.append(f"closed {facts.close_date.isoformat()}")
    if stored:
        column = row.table.headers[row.mapping["outcome"]] if facts.outcome != deal.outcome else ""
        row.warnings.append(
            Issue(
                column,
                f"The deal '{deal.name}' is stored as {', '.join(stored)}; this row says "
                f"{', '.join(given)}. The debrief goes on the stored deal, whose facts stay.",
            )
        )


def _store(actor, plans, report: Report, source: str) -> None:
    new: list[tuple[Debrief, Any]] = []
    touched_deals: set[int] = set()
    # Several rows may name the same new deal: the first one creates it.
    new_deals: dict[tuple[str, str], Deal] = {}
    try:
        with db.session.no_autoflush:
            for data, key, author, found in plans:
                name_key = (data.deal.name.lower(), data.deal.account.lower())
                if found.deal is None and name_key in new_deals:
                    found.deal, found.deal_fields = new_deals[name_key], {}
                if found.deal is not None and found.deal.id is not None:
                    touched_deals.add(found.deal.id)
                debrief = Debrief(
                    author=author, status=debriefs.DebriefStatus.DRAFT, source=data.source
                )
                debrief.import_key = key
                debriefs.apply_debrief(author, data, debrief, found)
                db.session.add(debrief)
                new_deals.setdefault(name_key, found.deal)
                new.append((debrief, author))
        db.session.flush()
        for debrief, author in new:
            audit.record(actor or author, "create", "debrief", debrief.id, debrief.title)
        report.debrief_ids = [d.id for d, _ in new]
        stale = (
            db.session.scalars(select(Debrief.id).where(Debrief.deal_id.in_(touched_deals)))
            if touched_deals
            else []
        )
        enqueue("debrief", *sorted(set(report.debrief_ids) | set(stale)))
        if touched_deals:
            enqueue_deal_practices(sorted(touched_deals))
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    report.stored = True


__all__ = [
    "DebriefSource",
    "FileError",
    "Report",
    "TARGETS",
    "import_debriefs",
    "override_mapping",
    "read_file",
    "suggest_mapping",
]
