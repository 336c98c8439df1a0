"""Rows to export, as generators of plain dicts, read from the database in
batches so that a large export never holds every record at once: the sheet
shapes, and the theme and practice rows (debriefs: kb.exports.debrief_rows).

Practices go only through presenters.present, so an anonymous practice shows
its author to no one the page would not show it to."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, has_request_context, url_for
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.routing import MapAdapter

from kb.analytics.periods import Period
from kb.extensions import db
from kb.models import (
    Outcome,
    Polarity,
    Practice,
    PracticeKind,
    PracticeStatus,
    Role,
    Theme,
    ThemeStatus,
    User,
)
from kb.practices.presenters import present
from kb.practices.queries import PlaybookParams, _loaded, practice_statement
from kb.themes import engine, evidence, figures, reports

BATCH = 100
TOP_QUOTES = 3


@dataclass(frozen=True)
class Column:
    """A sheet's column. CSV and JSON keep the stored codes; an XLSX sheet,
    read by people, shows the label of a `codes` member ("No decision" for
    "no_decision") and makes a `link` column's address a link."""

    key: str
    title: str
    width: int = 14
    codes: type[StrEnum] | None = None
    link: bool = False


# Where links point when an export is written outside a request (`kb export
# --base-url`): a URL adapter bound to that address.
_links_at: ContextVar[MapAdapter | None] = ContextVar("export_links_at", default=None)


@contextmanager
def links_at(base_url: str) -> Iterator[None]:
    """Links to debriefs at `base_url`, where the app is reached
    ("https://kb.example.com" or one with a path), while the block runs."""
    parts = urlsplit(base_url)
    adapter = current_app.url_map.bind(
        parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme
    )
    token = _links_at.set(adapter)
    try:
        yield
    finally:
        _links_at.reset(token)


def debrief_url(debrief_id: int) -> str | None:
    """The debrief's page, as an absolute address: at the address given to
    `links_at`, else the request's or SERVER_NAME's; None when nothing says
    where the app is reached."""
    if (adapter := _links_at.get()) is not None:
        return adapter.build("debriefs.show", {"debrief_id": debrief_id}, force_external=True)
    if not has_request_context() and not current_app.config.get("SERVER_NAME"):
        return None
    return url_for("debriefs.show", debrief_id=debrief_id, _external=True)


@dataclass(frozen=True)
class Sheet:
    name: str
    columns: tuple[Column, ...]
    rows: Iterator[dict[str, Any]]


@dataclass(frozen=True)
class Book:
    """Sheets filled by one pass over the data: `items()` starts a pass that
    yields (sheet number, row), the rows of different sheets interleaved (a
    debrief, then its reasons and quotes), so a workbook reads each record
    once and a sheet of it alone is that pass's rows for the sheet."""

    sheets: tuple[tuple[str, tuple[Column, ...]], ...]  # (name, columns)
    items: Callable[[], Iterator[tuple[int, dict[str, Any]]]]

    def sheet(self, number: int) -> Sheet:
        name, columns = self.sheets[number]
        return Sheet(name, columns, (row for n, row in self.items() if n == number))


THEME_COLUMNS = (
    Column("id", "Theme id", 9),
    Column("name", "Theme", 28),
    Column("polarity", "Polarity", 10, codes=Polarity),
    Column("status", "Status", 12, codes=ThemeStatus),
    Column("query", "Query", 36),
    Column("description", "Description", 40),
    Column("owner", "Owner", 18),
    Column("period", "Period", 24),
    Column("mentions", "Mentions", 10),
    Column("mentions_before", "Mentions before", 10),
    Column("growth", "Growth", 9),
    Column("win_rate", "Win rate when mentioned", 12),
    Column("win_rate_withheld", "Why no win rate", 28),
    Column("won", "Won", 7),
    Column("lost", "Lost", 7),
    Column("no_decision", "No decision", 9),
    Column("top_quotes", "Top quotes", 80),
)
EVIDENCE_COLUMNS = (
    Column("theme_id", "Theme id", 9),
    Column("theme", "Theme", 28),
    Column("rank", "Rank", 6),
    Column("debrief_id", "Debrief id", 10),
    Column("deal", "Deal", 28),
    Column("outcome", "Outcome", 12, codes=Outcome),
    Column("speaker_role", "Speaker role", 18),
    Column("text", "Quote", 80),
    Column("url", "Link", 40, link=True),
)
PRACTICE_COLUMNS = (
    Column("id", "Practice id", 10),
    Column("kind", "Kind", 10, codes=PracticeKind),
    Column("title", "Title", 32),
    Column("situation", "Situation", 40),
    Column("actions", "Actions", 40),
    Column("result", "Result", 40),
    Column("tags", "Tags", 20),
    Column("status", "Status", 11, codes=PracticeStatus),
    Column("featured", "Featured", 9),
    Column("anonymous", "Anonymous", 10),
    Column("byline", "By", 24),
    Column("author_id", "Author id", 9),
    Column("competitors", "Competitors", 22),
    Column("segment", "Segment", 14),
    Column("outcome", "Outcome", 12, codes=Outcome),
    Column("deal", "Deal", 28),
    Column("endorsements", "Endorsements", 12),
    Column("comments", "Comments", 10),
    Column("created_at", "Created", 18),
    Column("published_at", "Published", 18),
)


def export_viewer() -> User:
    """Who the command line exports as: an admin, who may read every debrief.
    Practices are still presented for nobody in particular (viewer None)."""
    return User(id=0, role=Role.ADMIN, email="", name="export")


# --- themes ---------------------------------------------------------------------


def _themes() -> list[Theme]:
    return list(
        db.session.scalars(select(Theme).options(selectinload(Theme.owner)).order_by(Theme.name))
    )


def theme_documents(period: Period, today: date) -> Iterator[dict[str, Any]]:
    """A theme per item: its definition, its figures over `period` (when the
    index is ready) and its top evidence quotes."""
    snap = engine.snapshot()
    themes = _themes()
    found = reports.overview(themes, period, "name", today) if snap is not None else None
    by_theme = {row.theme.id: row.figures for row in found[0]} if found else {}
    # The rate of a theme whose filters fix the outcome is left out, with why.
    for theme in themes:
        numbers = by_theme.get(theme.id)
        quotes = []
        if snap is not None:
            for e in evidence.best_quotes(snap, figures.match_theme(snap, theme), TOP_QUOTES):
                quotes.append(
                    {
                        "debrief_id": e.debrief.id,
                        "deal": e.debrief.deal.name,
                        "outcome": e.debrief.deal.outcome.value,
                        "speaker_role": e.quote.speaker_role,
                        "text": e.quote.text,
                        "url": debrief_url(e.debrief.id),
                    }
                )
        mentioned = numbers.mentioned if numbers else None
        withheld = figures.rate_withheld(theme)
        yield {
            "id": theme.id,
            "name": theme.name,
            "polarity": theme.polarity.value,
            "status": theme.status.value,
            "query": theme.query,
            "description": theme.description,
            "owner": theme.owner.display_name if theme.owner else None,
            "period": period.span,
            "mentions": numbers.now if numbers else None,
            "mentions_before": numbers.before if numbers else None,
            "growth": numbers.growth if numbers else None,
            "win_rate": mentioned.rate if mentioned and not withheld else None,
            "win_rate_withheld": withheld,
            "won": mentioned.won if mentioned else None,
            "lost": mentioned.lost if mentioned else None,
            "no_decision": mentioned.no_decision if mentioned else None,
            "top_quotes": quotes,
        }


def theme_book(period: Period, today: date) -> Book:
    """Themes, and the Evidence sheet of their top quotes."""

    def items() -> Iterator[tuple[int, dict[str, Any]]]:
        for doc in theme_documents(period, today):
            yield 0, {**doc, "top_quotes": "\n".join(q["text"] for q in doc["top_quotes"])}
            for rank, q in enumerate(doc["top_quotes"], 1):
                yield 1, {"theme_id": doc["id"], "theme": doc["name"], "rank": rank, **q}

    return Book((("Themes", THEME_COLUMNS), ("Evidence", EVIDENCE_COLUMNS)), items)


# --- practices ------------------------------------------------------------------


def practice_documents(viewer: User | None, params: PlaybookParams) -> Iterator[dict[str, Any]]:
    """Published practices matching `params`, as `viewer` may see them (None:
    nobody in particular, so no anonymous author), read in batches."""
    stmt = practice_statement(viewer or export_viewer(), params)
    ids = list(db.session.scalars(stmt.with_only_columns(Practice.id)))
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        query = _loaded(select(Practice).where(Practice.id.in_(chunk)))
        found = {p.id: p for p in db.session.scalars(query)}
        for practice_id in chunk:
            if practice_id in found:
                yield practice_row(present(found[practice_id], viewer))


def practice_row(view) -> dict[str, Any]:
    context = view.context
    return {
        "id": view.id,
        "kind": view.kind,
        "title": view.title,
        "situation": view.situation,
        "actions": view.actions,
        "result": view.result,
        "tags": ", ".join(view.tags),
        "status": view.status,
        "featured": view.featured,
        "anonymous": view.anonymous,
        "byline": view.byline,
        "author_id": view.author.id if view.author else None,
        "competitors": ", ".join(context.competitors) if context else "",
        "segment": context.segment if context else None,
        "outcome": context.outcome.value if context else None,
        "deal": context.deal.name if context and context.deal else None,
        "endorsements": sum(view.endorsements.values()),
        "comments": view.comment_count,
        "created_at": view.created_at,
        "published_at": view.published_at,
    }


def practice_book(viewer: User | None, params: PlaybookParams) -> Book:
    def items() -> Iterator[tuple[int, dict[str, Any]]]:
        for row in practice_documents(viewer, params):
            yield 0, row

    return Book((("Practices", PRACTICE_COLUMNS),), items)
