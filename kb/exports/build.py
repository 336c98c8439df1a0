"""An export as a stream of chunks: what the routes and `kb export` share."""

from collections.abc import Iterator
from datetime import date

from kb.analytics.periods import Period
from kb.exports import debrief_rows, formats, rows
from kb.models import User
from kb.practices.queries import PlaybookParams
from kb.search import SearchParams

WHATS = ("debriefs", "themes", "practices")
# The sheet a CSV holds (one sheet per file), by export and ?kind=.
CSV_KINDS = {
    "debriefs": ("debriefs", "reasons", "quotes"),
    "themes": ("themes", "evidence"),
    "practices": ("practices",),
}


def book(what: str, user: User, viewer: User | None, args: dict) -> rows.Book:
    if what == "debriefs":
        return debrief_rows.debrief_book(user, args["search"])
    if what == "themes":
        return rows.theme_book(args["period"], args["today"])
    return rows.practice_book(viewer, args["playbook"])


def chunks(what: str, fmt: str, kind: str, user: User, viewer: User | None, args: dict) -> Iterator:
    """`what` ("debriefs", "themes", "practices") as `fmt`. `user` decides which
    debriefs are read; `viewer` how practices are presented (None: nobody in
    particular). `kind` picks the sheet of a CSV."""
    if fmt == "json":
        if what == "debriefs":
            return formats.json_chunks(debrief_rows.debrief_documents(user, args["search"]))
        if what == "themes":
            return formats.json_chunks(rows.theme_documents(args["period"], args["today"]))
        return formats.json_chunks(rows.practice_documents(viewer, args["playbook"]))
    found = book(what, user, viewer, args)
    if fmt == "xlsx":
        return formats.xlsx_chunks(found)
    kinds = CSV_KINDS[what]
    return formats.csv_chunks(found.sheet(kinds.index(kind) if kind in kinds else 0))


def filename(what: str, fmt: str, kind: str, today: date) -> str:
    label = kind if fmt == "csv" and kind in CSV_KINDS[what] and kind != what else what
    if label != what:
        label = f"{what}-{label}"
    return f"kb-{label}-{today.isoformat()}.{fmt}"


def arguments(
    search: SearchParams | None = None,
    playbook: PlaybookParams | None = None,
    period: Period | None = None,
    today: date | None = None,
) -> dict:
    return {
        "search": search or SearchParams(),
        "playbook": playbook or PlaybookParams(),
        "period": period,
        "today": today or date.today(),
    }
