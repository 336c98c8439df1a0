"""The search page's filters (outcome, competitor, segment, …), checked and
put in their canonical spelling, and turned into SQL for the figures that
are computed in the database.

A theme stores these filters, discovery chooses its subset with them, and
the analytics pages narrow their figures with them: one set of names and one
set of rules everywhere.
"""

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, exists, or_, select

from kb.analytics.periods import parse_date, parse_quarter
from kb.extensions import db
from kb.lookups import canonical_choice, find_category, find_competitor
from kb.models import (
    Competitor,
    Deal,
    Debrief,
    DebriefSource,
    Outcome,
    Reason,
    ReasonCategory,
    WinnerKind,
    deal_competitors,
)
from kb.search.service import FILTER_LABELS

CHOICE_KEYS = ("segment", "region", "industry", "product_line")
# Who won, besides a competitor: as the search page's `winner` filter takes them.
SPECIAL_WINNERS = {"us": "Us", "no_decision": "No decision", "in_house": "Built in-house"}
FILTER_KEYS = (
    "outcome",
    "competitor",
    "winner",
    *CHOICE_KEYS,
    "source",
    "category",
    "quarter",
    "date_from",
    "date_to",
)
LABELS = {
    **{key: FILTER_LABELS[key] for key in FILTER_KEYS if key in FILTER_LABELS},
    "date_from": "Closed from",
    "date_to": "Closed to",
}


def filters_from_args(args) -> dict[str, Any]:
    """The filter parameters of a query string (a MultiDict), as given."""
    raw: dict[str, Any] = {}
    for key in FILTER_KEYS:
        if key == "category":
            values = [v for v in args.getlist(key) if v.strip()]
            if values:
                raw[key] = values
        else:
            values = [v.strip() for v in args.getlist(key) if v.strip()]
            if values:
                raw[key] = values[0] if len(values) == 1 else values
    return raw


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) else None


def clean_filters(raw: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """(filters in canonical form, errors by key). Blank values are dropped;
    unknown keys, unknown names and impossible periods are errors."""
    if raw is None:
        return {}, {}
    if not isinstance(raw, Mapping):
        return {}, {"__root__": 'Send the filters as an object, e.g. {"outcome": "lost"}.'}
    clean: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for key, value in raw.items():
        if key not in FILTER_KEYS:
            errors[key] = f"Unknown filter; use {', '.join(FILTER_KEYS)}."
            continue
        if value is None or value == "" or value == []:
            continue
        if key == "category":
            _clean_categories(value, clean, errors)
            continue
        if isinstance(value, list) and len(value) == 1:
            value = value[0]
        text = _text(value)
        if isinstance(value, list):
            errors[key] = f"Choose one {LABELS[key].lower()} for a theme (several were given)."
        elif text is None:
            errors[key] = "Enter text."
        elif text:
            _clean_one(key, text, clean, errors)
    _check_period(clean, errors)
    return {key: clean[key] for key in FILTER_KEYS if key in clean}, errors


def _clean_one(key: str, text: str, clean: dict, errors: dict) -> None:
    if key == "outcome":
        if text.lower() in {o.value for o in Outcome}:
            clean[key] = text.lower()
        else:
            errors[key] = "Choose one of: won, lost, no_decision."
    elif key == "source":
        if text.lower() in {s.value for s in DebriefSource}:
            clean[key] = text.lower()
        else:
            errors[key] = "Choose one of: rep, buyer."
    elif key == "winner" and text.lower() in SPECIAL_WINNERS:
        clean[key] = text.lower()
    elif key in ("competitor", "winner"):
        found = find_competitor(text)
        if found is None:
            errors[key] = f"Unknown competitor '{text}'."
        else:
            clean[key] = found.name
    elif key in CHOICE_KEYS:
        listed = canonical_choice(key, text)
        if listed is None:
            errors[key] = f"Unknown {key.replace('_', ' ')} '{text}'."
        else:
            clean[key] = listed
    elif key == "quarter":
        found = parse_quarter(text)
        if found is None:
            errors[key] = "Write the quarter as YYYY-Q1 to YYYY-Q4, e.g. 2025-Q3."
        else:
            clean[key] = found.label
    elif key in ("date_from", "date_to"):
        day = parse_date(text)
        if day is None:
            errors[key] = "Enter a real date as YYYY-MM-DD (2000 or later)."
        else:
            clean[key] = day.isoformat()


def _clean_categories(value: Any, clean: dict, errors: dict) -> None:
    """Second-level categories ("price.total-cost") or whole groups ("price"),
    as the search page's category filter takes them."""
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        errors["category"] = "Send the reason categories as a list of slugs."
        return
    slugs = []
    for slug in values:
        if not slug.strip():
            continue
        category = find_category(slug, allow_retired=True) or _group(slug)
        if category is None:
            errors["category"] = f"Unknown reason category '{slug.strip()}'."
            return
        if category.slug not in slugs:
            slugs.append(category.slug)
    if len(slugs) > 30:
        errors["category"] = "Choose at most 30 reason categories."
    elif slugs:
        clean["category"] = slugs


def _group(slug: str) -> ReasonCategory | None:
    return db.session.scalar(
        select(ReasonCategory).where(
            ReasonCategory.slug == slug.strip().lower(), ReasonCategory.parent_id.is_(None)
        )
    )


def _check_period(clean: dict, errors: dict) -> None:
    start, end = clean.get("date_from"), clean.get("date_to")
    if start and end and start > end:
        errors["date_to"] = "The end of the period is before its start."
    if start and start > date.today().isoformat():
        errors["date_from"] = "The period starts in the future: no deal has closed in it yet."
    if "quarter" in clean and (start or end):
        found = parse_quarter(clean["quarter"])
        if (start and start > found.end.isoformat()) or (end and end < found.start.isoformat()):
            errors["quarter"] = "This quarter lies outside the dates given: nothing can match."


def describe(filters: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(label, value) pairs for showing a filter set to people."""
    out = []
    for key in FILTER_KEYS:
        if key in filters:
            value = filters[key]
            if key == "category":
                value = ", ".join(value)
            elif key == "outcome":
                value = Outcome(value).label
            elif key == "source":
                value = DebriefSource(value).label
            elif key == "winner":
                value = SPECIAL_WINNERS.get(value, value)
            out.append((LABELS[key], str(value)))
    return out


# --- SQL ------------------------------------------------------------------


def deal_clauses(filters: Mapping[str, Any]) -> list[ColumnElement[bool]]:
    """WHERE clauses on Deal for the deal-level filters."""
    clauses: list[ColumnElement[bool]] = []
    if "outcome" in filters:
        clauses.append(Deal.outcome == Outcome(filters["outcome"]))
    if "competitor" in filters:
        # Aliases, so that a query already joining the competitors (to group
        # by them) does not correlate this test away.
        links = deal_competitors.alias("filter_links")
        named = Competitor.__table__.alias("filter_competitor")
        clauses.append(
            exists().where(
                links.c.deal_id == Deal.id,
                links.c.competitor_id == named.c.id,
                named.c.name == filters["competitor"],
            )
        )
    if "winner" in filters:
        clauses.append(_winner_clause(filters["winner"]))
    for key in CHOICE_KEYS:
        if key in filters:
            clauses.append(getattr(Deal, key) == filters[key])
    if "quarter" in filters:
        found = parse_quarter(filters["quarter"])
        clauses.append(Deal.close_date.between(found.start, found.end))
    if "date_from" in filters:
        clauses.append(Deal.close_date >= date.fromisoformat(filters["date_from"]))
    if "date_to" in filters:
        clauses.append(Deal.close_date <= date.fromisoformat(filters["date_to"]))
    return clauses


def _winner_clause(winner: str) -> ColumnElement[bool]:
    if winner == "us":
        return Deal.outcome == Outcome.WON
    if winner in ("no_decision", "in_house"):
        return Deal.winner_kind == WinnerKind(winner)
    named = Competitor.__table__.alias("filter_winner")
    return Deal.winner_competitor_id.in_(select(named.c.id).where(named.c.name == winner))


def debrief_clauses(filters: Mapping[str, Any]) -> list[ColumnElement[bool]]:
    """WHERE clauses on Debrief for the debrief-level filters: the source,
    and a reason in any of the categories given."""
    clauses: list[ColumnElement[bool]] = []
    if "source" in filters:
        clauses.append(Debrief.source == DebriefSource(filters["source"]))
    if filters.get("category"):
        # Aliases, so that a query already reading reasons does not
        # correlate this test away.
        cited = Reason.__table__.alias("filter_reason")
        chosen_t = ReasonCategory.__table__.alias("filter_chosen")
        child_t = ReasonCategory.__table__.alias("filter_category")
        chosen = select(chosen_t.c.id).where(chosen_t.c.slug.in_(filters["category"]))
        ids = select(child_t.c.id).where(
            or_(child_t.c.id.in_(chosen), child_t.c.parent_id.in_(chosen))
        )
        clauses.append(
            exists().where(cited.c.debrief_id == Debrief.id, cited.c.category_id.in_(ids))
        )
    return clauses
