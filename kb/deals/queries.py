"""Reading deals for lists, always through who may see them.

A deal's facts are published with its submitted debriefs; before that they
belong to its owner, the owner's manager and admins.
"""

from sqlalchemy import ColumnElement, Select, and_, exists, or_, select
from sqlalchemy.orm import selectinload

from kb.deals.coverage import has_rep_debrief
from kb.models import Deal, Debrief, DebriefStatus, Outcome, Role, User


def visible_deals(user: User) -> ColumnElement[bool]:
    """A WHERE clause matching the deals `user` may read."""
    if user.role == Role.ADMIN:
        return and_(True)
    published = exists().where(
        Debrief.deal_id == Deal.id, Debrief.status == DebriefStatus.SUBMITTED
    )
    clauses = [Deal.owner_id == user.id, published]
    if user.role == Role.MANAGER and user.team_id is not None:
        clauses.append(Deal.owner_id.in_(select(User.id).where(User.team_id == user.team_id)))
    return or_(*clauses)


def can_view_deal(user: User, deal: Deal) -> bool:
    if user.role == Role.ADMIN or deal.owner_id == user.id:
        return True
    if any(d.status == DebriefStatus.SUBMITTED for d in deal.debriefs):
        return True
    return (
        user.role == Role.MANAGER
        and user.team_id is not None
        and deal.owner is not None
        and deal.owner.team_id == user.team_id
    )


def deal_list(
    user: User,
    *,
    owner_id: int | None = None,
    outcome: Outcome | None = None,
    has_debrief: bool | None = None,
    crm_id: str | None = None,
) -> Select:
    """Deals `user` may read, newest close date first. `has_debrief` means a
    submitted rep debrief, as coverage counts it."""
    stmt: Select = (
        select(Deal)
        .where(visible_deals(user))
        .options(
            selectinload(Deal.owner),
            selectinload(Deal.competitors),
            selectinload(Deal.winner_competitor),
            selectinload(Deal.debriefs),
        )
        .order_by(Deal.close_date.desc(), Deal.id.desc())
    )
    if owner_id is not None:
        stmt = stmt.where(Deal.owner_id == owner_id)
    if outcome is not None:
        stmt = stmt.where(Deal.outcome == outcome)
    if crm_id:
        stmt = stmt.where(Deal.crm_id == crm_id)
    if has_debrief is not None:
        stmt = stmt.where(has_rep_debrief() if has_debrief else ~has_rep_debrief())
    return stmt
