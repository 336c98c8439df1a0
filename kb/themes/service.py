"""Creating, changing and deleting themes: the one path pages and the API share.

Every write validates everything first and raises ValidationFailed with a
message per field before touching the database, then writes the theme and
its audit entry in one transaction.
"""

from datetime import date
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from kb import audit
from kb.analytics.filters import clean_filters
from kb.extensions import db
from kb.models import Role, Theme, ThemeStatus, User
from kb.themes import queries as theme_queries
from kb.themes.schemas import ThemeIn
from kb.validation import ValidationFailed, field_errors

MANAGERS = (Role.MANAGER, Role.MARKETING, Role.ADMIN)


class NotAllowed(Exception):
    """The user may not do this (a 403, not a validation error)."""


def can_manage_themes(user: User) -> bool:
    """Managers, marketing and admins curate themes; everyone signed in reads them."""
    return user.role in MANAGERS


def parse(payload: Any) -> ThemeIn:
    if not isinstance(payload, dict):
        raise ValidationFailed({"__root__": "Send a JSON object describing the theme."})
    try:
        return ThemeIn.model_validate(payload)
    except ValidationError as exc:
        raise ValidationFailed(field_errors(exc)) from None


def as_input(theme: Theme) -> dict[str, Any]:
    """The theme in the shape ThemeIn accepts: for forms, PATCH and the audit diff."""
    return {
        "name": theme.name,
        "description": theme.description or "",
        "query": theme.query or "",
        "filters": dict(theme.filters or {}),
        "polarity": theme.polarity.value,
        "status": theme.status.value,
        "addressed_on": theme.addressed_on.isoformat() if theme.addressed_on else None,
        "addressed_action": theme.addressed_action or "",
        "owner_id": theme.owner_id,
        "notes": theme.notes or "",
    }


def _name_taken(name: str, theme: Theme | None) -> bool:
    stmt = select(func.count()).where(func.lower(Theme.name) == name.lower())
    if theme is not None:
        stmt = stmt.where(Theme.id != theme.id)
    return bool(db.session.scalar(stmt))


def _check(data: ThemeIn, theme: Theme | None) -> tuple[dict[str, Any], dict[str, str]]:
    """(the filters in canonical form, errors by field)."""
    errors: dict[str, str] = {}
    if _name_taken(data.name, theme):
        errors["name"] = f"A theme called '{data.name}' already exists; choose another name."
    filters, filter_errors = clean_filters(data.filters)
    for key, message in filter_errors.items():
        errors["filters" if key == "__root__" else f"filters.{key}"] = message
    if not data.query and not filters and not filter_errors:
        errors["query"] = "A theme needs a query or at least one filter."
    elif data.query and (problem := theme_queries.query_problem(data.query)):
        errors["query"] = problem
    if data.status == ThemeStatus.ADDRESSED:
        if data.addressed_on is None:
            errors["addressed_on"] = "Give the date the theme was addressed."
        elif data.addressed_on > date.today():
            errors["addressed_on"] = "The date it was addressed cannot be in the future."
        elif data.addressed_on < date(2000, 1, 1):
            errors["addressed_on"] = "Enter a date in 2000 or later."
    if data.owner_id is not None:
        owner = db.session.get(User, data.owner_id)
        if owner is None or not owner.active:
            errors["owner_id"] = "Choose an active user as the owner."
    return filters, errors


def _apply(theme: Theme, data: ThemeIn, filters: dict[str, Any]) -> None:
    theme.name = data.name
    theme.description = data.description
    theme.query = data.query
    theme.filters = filters
    theme.polarity = data.polarity
    theme.status = data.status
    # The date only means something for an addressed theme; the action taken
    # is kept whatever the status, as the theme's history.
    theme.addressed_on = data.addressed_on if data.status == ThemeStatus.ADDRESSED else None
    theme.addressed_action = data.addressed_action
    theme.owner_id = data.owner_id
    theme.notes = data.notes


def save_theme(actor: User, data: ThemeIn, theme: Theme | None = None) -> Theme:
    """Create (theme=None) or replace a theme. Raises NotAllowed for a role
    that may not manage themes, and ValidationFailed, storing nothing, when
    any field is wrong."""
    if not can_manage_themes(actor):
        raise NotAllowed("Only managers, marketing and admins manage themes.")
    filters, errors = _check(data, theme)
    if errors:
        raise ValidationFailed(errors)
    before = as_input(theme) if theme is not None else None
    creating = theme is None
    if creating:
        theme = Theme(created_by_id=actor.id)
        db.session.add(theme)
    try:
        _apply(theme, data, filters)
        db.session.flush()
        if creating:
            audit.record(actor, "create", "theme", theme.id, theme.name)
        else:
            changes = audit.diff(before, as_input(theme))
            if not changes:
                db.session.rollback()
                return theme
            audit.record(actor, "update", "theme", theme.id, theme.name, changes)
        db.session.commit()
    except IntegrityError:
        # Another request took the name between the check and the write.
        db.session.rollback()
        raise ValidationFailed(
            {"name": f"A theme called '{data.name}' already exists; choose another name."}
        ) from None
    except Exception:
        db.session.rollback()
        raise
    return theme


def delete_theme(actor: User, theme: Theme) -> None:
    if not can_manage_themes(actor):
        raise NotAllowed("Only managers, marketing and admins manage themes.")
    audit.record(
        actor, "delete", "theme", theme.id, theme.name, {"content": [as_input(theme), None]}
    )
    db.session.delete(theme)
    db.session.commit()
