"""Resolving the names people type into the records they mean."""

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


# Filing a debrief looks up every competitor and category it names. Each is
# one plain SELECT, read afresh, so that a renamed competitor or a retired
# category counts from the next request on, whichever worker an admin used.
_COMPETITOR = _competitor_statement()
_CATEGORY = select(*columns(ReasonCategory)).where(
    ReasonCategory.__table__.c.slug == bindparam("slug"),
    ReasonCategory.__table__.c.parent_id.is_not(None),
)


def find_competitor(name: str) -> Competitor | None:
    """By canonical name or alias, ignoring case."""
    row = execute(_COMPETITOR, {"key": name.strip().lower()}).mappings().first()
    return None if row is None else loaded(Competitor, row)


def find_category(slug: str, allow_retired: bool = False) -> ReasonCategory | None:
    """A second-level category by slug: an active one, or any one when
    `allow_retired` (a stored debrief keeps the categories it was filed under)."""
    row = execute(_CATEGORY, {"slug": slug.strip().lower()}).mappings().first()
    if row is None or not (row["active"] or allow_retired):
        return None
    return loaded(ReasonCategory, row)


_CHOICES = (
    select(Choice.__table__.c.value)
    .where(Choice.__table__.c.kind == bindparam("kind"))
    .order_by(Choice.__table__.c.position, Choice.__table__.c.value)
)


def choice_values(kind: str) -> list[str]:
    return list(execute(_CHOICES, {"kind": kind}).scalars())


def canonical_choice(kind: str, value: str) -> str | None:
    """The listed spelling of `value`, or None when it is not on the list.
    Compared here rather than by the database, whose lower() (SQLite's)
    would leave letters outside ASCII as they are."""
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
