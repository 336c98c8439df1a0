"""Resolving the names people type into the records they mean."""

from collections.abc import Iterable

from sqlalchemy import bindparam, case, func, or_, select

from kb.extensions import db
from kb.loaded import columns, execute, loaded
from kb.models import Choice, Competitor, CompetitorAlias, ReasonCategory


def _competitor_statement():
    competitors, aliases = Competitor.__table__, CompetitorAlias.__table__
    key = bindparam("key")
    named = func.lower(competitors.c.name) == key
    aliased = competitors.c.id.in_(
        select(aliases.c.competitor_id).where(aliases.c.key == key).scalar_subquery()
    )
    # The competitor so named before one with the name as an alias.
    return (
        select(*columns(Competitor))
        .where(or_(named, aliased))
        .order_by(case((named, 0), else_=1))
        .limit(1)
    )


# Filing a debrief looks up every competitor, category and closed list it
# names: read afresh by plain SELECTs, each filing, so that a renamed
# competitor or a retired category counts from the next request on,
# whichever worker an admin used.
_COMPETITOR = _competitor_statement()
_CATEGORIES = select(*columns(ReasonCategory)).where(
    ReasonCategory.__table__.c.slug.in_(bindparam("slugs", expanding=True)),
    ReasonCategory.__table__.c.parent_id.is_not(None),
)
_choices = Choice.__table__
_CHOICES = (
    select(_choices.c.value)
    .where(_choices.c.kind == bindparam("kind"))
    .order_by(_choices.c.position, _choices.c.value)
)
_ALL_CHOICES = select(_choices.c.kind, _choices.c.value).order_by(
    _choices.c.kind, _choices.c.position, _choices.c.value
)


def find_competitor(name: str) -> Competitor | None:
    """By canonical name or alias, ignoring case."""
    row = execute(_COMPETITOR, {"key": name.strip().lower()}).mappings().first()
    return None if row is None else loaded(Competitor, row)


def find_categories(slugs: Iterable[str]) -> dict[str, ReasonCategory]:
    """The second-level categories with these slugs, active or retired, by
    slug, in one query."""
    keys = sorted({slug.strip().lower() for slug in slugs})
    if not keys:
        return {}
    rows = execute(_CATEGORIES, {"slugs": keys}).mappings().all()
    return {row["slug"]: loaded(ReasonCategory, row) for row in rows}


def usable_category(
    found: dict[str, ReasonCategory], slug: str, allow_retired: bool = False
) -> ReasonCategory | None:
    """The category `slug` names among `found` (see find_categories): an
    active one, or any one when `allow_retired` (a stored debrief keeps the
    categories it was filed under)."""
    category = found.get(slug.strip().lower())
    if category is None or not (category.active or allow_retired):
        return None
    return category


def find_category(slug: str, allow_retired: bool = False) -> ReasonCategory | None:
    """A second-level category by slug (see usable_category)."""
    return usable_category(find_categories([slug]), slug, allow_retired)


def choice_values(kind: str) -> list[str]:
    return list(execute(_CHOICES, {"kind": kind}).scalars())


def choice_lists() -> dict[str, list[str]]:
    """Every closed list, by kind, in one query."""
    lists: dict[str, list[str]] = {}
    for kind, value in execute(_ALL_CHOICES, {}):
        lists.setdefault(kind, []).append(value)
    return lists


def listed_spelling(values: list[str], value: str) -> str | None:
    """The spelling of `value` among `values`, or None when it is not one
    of them. Compared here rather than by the database, whose lower()
    (SQLite's) would leave letters outside ASCII as they are."""
    for listed in values:
        if listed.lower() == value.strip().lower():
            return listed
    return None


def canonical_choice(kind: str, value: str) -> str | None:
    """The listed spelling of `value`, or None when it is not on the list."""
    return listed_spelling(choice_values(kind), value)


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
