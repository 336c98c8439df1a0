"""Resolving the names people type into the records they mean."""

from sqlalchemy import func, select

from kb.extensions import db
from kb.models import Choice, Competitor, CompetitorAlias, ReasonCategory


def find_competitor(name: str) -> Competitor | None:
    """By canonical name or alias, ignoring case."""
    key = name.strip().lower()
    competitor = db.session.scalar(select(Competitor).where(func.lower(Competitor.name) == key))
    if competitor is None:
        competitor = db.session.scalar(
            select(Competitor).join(CompetitorAlias).where(CompetitorAlias.key == key)
        )
    return competitor


def find_category(slug: str, allow_retired: bool = False) -> ReasonCategory | None:
    """A second-level category by slug: an active one, or any one when
    `allow_retired` (a stored debrief keeps the categories it was filed under)."""
    category = db.session.scalar(
        select(ReasonCategory).where(
            ReasonCategory.slug == slug.strip().lower(), ReasonCategory.parent_id.is_not(None)
        )
    )
    if category is None or not (category.active or allow_retired):
        return None
    return category


def choice_values(kind: str) -> list[str]:
    return list(
        db.session.scalars(
            select(Choice.value).where(Choice.kind == kind).order_by(Choice.position, Choice.value)
        )
    )


def canonical_choice(kind: str, value: str) -> str | None:
    """The listed spelling of `value`, or None when it is not on the list."""
    for listed in choice_values(kind):
        if listed.lower() == value.strip().lower():
            return listed
    return None


def category_groups() -> list[ReasonCategory]:
    return list(
        db.session.scalars(
            select(ReasonCategory)
            .where(ReasonCategory.parent_id.is_(None), ReasonCategory.active.is_(True))
            .order_by(ReasonCategory.position)
        )
    )


def competitor_names() -> list[str]:
    return list(db.session.scalars(select(Competitor.name).order_by(Competitor.name)))
