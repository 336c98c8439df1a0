"""What the administration pages read: lists with their usage counts, and the
debriefs a change to reference data reaches."""

from typing import Any

from sqlalchemy import CompoundSelect, Select, func, select, union
from sqlalchemy.orm import selectinload

from kb.extensions import db
from kb.models import (
    ApiToken,
    AuditEntry,
    Choice,
    Competitor,
    Deal,
    Debrief,
    Reason,
    ReasonCategory,
    Team,
    User,
    deal_competitors,
)
from kb.models.lookups import CHOICE_KINDS
from kb.validation import id_from_text

CHOICE_LABELS = {
    "segment": "Segments",
    "region": "Regions",
    "industry": "Industries",
    "product_line": "Product lines",
}


# --- Debriefs a change reaches -------------------------------------------------


def _competitor_links() -> CompoundSelect:
    """(competitor_id, deal_id) for every way a deal involves a competitor: in
    its list of competitors, as the winner, or named in one of its reasons."""
    return union(
        select(
            deal_competitors.c.competitor_id.label("competitor_id"),
            deal_competitors.c.deal_id.label("deal_id"),
        ),
        select(Deal.winner_competitor_id, Deal.id).where(Deal.winner_competitor_id.is_not(None)),
        select(Reason.competitor_id, Debrief.deal_id)
        .join(Debrief, Reason.debrief_id == Debrief.id)
        .where(Reason.competitor_id.is_not(None)),
    )


def competitor_debrief_ids(competitor_id: int) -> list[int]:
    """Every debrief of every deal that involves the competitor."""
    links = _competitor_links().subquery()
    deal_ids = select(links.c.deal_id).where(links.c.competitor_id == competitor_id)
    return list(
        db.session.scalars(
            select(Debrief.id).where(Debrief.deal_id.in_(deal_ids)).order_by(Debrief.id)
        )
    )


def category_debrief_ids(category_ids: list[int]) -> list[int]:
    """Debriefs with a reason in one of these categories."""
    return list(
        db.session.scalars(
            select(Reason.debrief_id)
            .where(Reason.category_id.in_(category_ids))
            .distinct()
            .order_by(Reason.debrief_id)
        )
    )


def deals_with_choice(kind: str, value: str) -> Select:
    """The ids of deals whose `kind` column holds `value` (in any letter case)."""
    return select(Deal.id).where(func.lower(getattr(Deal, kind)) == value.lower())


def choice_debrief_ids(kind: str, value: str) -> list[int]:
    return list(
        db.session.scalars(
            select(Debrief.id)
            .where(Debrief.deal_id.in_(deals_with_choice(kind, value)))
            .order_by(Debrief.id)
        )
    )


def choice_usage(kind: str, value: str) -> int:
    return db.session.scalar(
        select(func.count()).select_from(deals_with_choice(kind, value).subquery())
    )


# --- Lists for the pages --------------------------------------------------------


def users_list(page: int, per_page: int = 50):
    stmt = (
        select(User)
        .options(selectinload(User.team))
        .order_by(User.active.desc(), func.lower(User.name), User.id)
    )
    return db.paginate(stmt, page=page, per_page=per_page, error_out=False)


def team_choices() -> list[tuple[str, str]]:
    teams = db.session.execute(select(Team.id, Team.name).order_by(func.lower(Team.name)))
    return [(str(team_id), name) for team_id, name in teams]


def teams_with_counts() -> list[tuple[Team, int, int]]:
    """Each team with its number of members and of active members."""
    active = func.count(User.id).filter(User.active.is_(True))
    rows = db.session.execute(
        select(Team, func.count(User.id), active)
        .outerjoin(User, User.team_id == Team.id)
        .group_by(Team.id)
        .order_by(func.lower(Team.name))
    )
    return [(team, members, active_members) for team, members, active_members in rows]


def team_members(team: Team) -> list[User]:
    return list(
        db.session.scalars(
            select(User).where(User.team_id == team.id).order_by(func.lower(User.name))
        )
    )


def competitors_with_counts() -> list[tuple[Competitor, int]]:
    """Each competitor, its aliases loaded, with the number of deals involving it."""
    links = _competitor_links().subquery()
    counts = dict(
        db.session.execute(
            select(links.c.competitor_id, func.count(links.c.deal_id.distinct())).group_by(
                links.c.competitor_id
            )
        ).all()
    )
    competitors = db.session.scalars(
        select(Competitor)
        .options(selectinload(Competitor.aliases))
        .order_by(func.lower(Competitor.name))
    )
    return [(c, counts.get(c.id, 0)) for c in competitors]


def competitor_deal_count(competitor: Competitor) -> int:
    links = _competitor_links().subquery()
    return db.session.scalar(
        select(func.count(links.c.deal_id.distinct())).where(links.c.competitor_id == competitor.id)
    )


def taxonomy() -> tuple[list[ReasonCategory], dict[int, int]]:
    """Every group (active or not) with its categories, and the number of
    reasons tagged with each category."""
    groups = list(
        db.session.scalars(
            select(ReasonCategory)
            .where(ReasonCategory.parent_id.is_(None))
            .options(selectinload(ReasonCategory.children))
            .order_by(ReasonCategory.position, ReasonCategory.id)
        )
    )
    usage = dict(
        db.session.execute(
            select(Reason.category_id, func.count()).group_by(Reason.category_id)
        ).all()
    )
    return groups, usage


def choices_with_counts() -> dict[str, list[tuple[Choice, int]]]:
    """Each list's values in order, with the number of deals using each."""
    lists: dict[str, list[tuple[Choice, int]]] = {kind: [] for kind in CHOICE_KINDS}
    usage: dict[tuple[str, str], int] = {}
    for kind in CHOICE_KINDS:
        column = func.lower(getattr(Deal, kind))
        for value, count in db.session.execute(
            select(column, func.count()).where(column.is_not(None)).group_by(column)
        ):
            usage[(kind, value)] = count
    for choice in db.session.scalars(
        select(Choice).order_by(Choice.kind, Choice.position, Choice.value)
    ):
        if choice.kind in lists:
            lists[choice.kind].append((choice, usage.get((choice.kind, choice.value.lower()), 0)))
    return lists


def tokens_of(user: User) -> list[ApiToken]:
    return list(
        db.session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == user.id)
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
    )


# --- The audit log -------------------------------------------------------------


def audit_entity_types() -> list[str]:
    return list(
        db.session.scalars(
            select(AuditEntry.entity_type).distinct().order_by(AuditEntry.entity_type)
        )
    )


def audit_users() -> list[User]:
    """The users who appear in the log, for its filter."""
    return list(
        db.session.scalars(
            select(User)
            .where(User.id.in_(select(AuditEntry.user_id).distinct()))
            .order_by(func.lower(User.name))
        )
    )


def audit_log(filters: dict[str, Any], page: int, per_page: int = 50):
    stmt = (
        select(AuditEntry)
        .options(selectinload(AuditEntry.user))
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    )
    if filters.get("entity_type"):
        stmt = stmt.where(AuditEntry.entity_type == filters["entity_type"])
    if (user_id := id_from_text(str(filters.get("user", "")))) is not None:
        stmt = stmt.where(AuditEntry.user_id == user_id)
    return db.paginate(stmt, page=page, per_page=per_page, error_out=False)
