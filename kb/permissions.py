"""Who may see and change what (SPEC §2). Every route and every list asks here."""

from sqlalchemy import ColumnElement, and_, or_, select

from kb.models import Deal, Debrief, DebriefSource, DebriefStatus, Role, User


def _same_team(user: User, other: User | None) -> bool:
    return (
        user.role == Role.MANAGER
        and user.team_id is not None
        and other is not None
        and other.team_id == user.team_id
    )


def can_file(user: User, source: DebriefSource) -> bool:
    if source == DebriefSource.BUYER:
        return user.role in (Role.MARKETING, Role.MANAGER, Role.ADMIN)
    return user.role in (Role.REP, Role.MANAGER, Role.ADMIN)


def can_view_debrief(user: User, debrief: Debrief) -> bool:
    return (
        debrief.status == DebriefStatus.SUBMITTED
        or user.role == Role.ADMIN
        or debrief.author_id == user.id
        or _same_team(user, debrief.author)
    )


def can_edit_debrief(user: User, debrief: Debrief) -> bool:
    return (
        user.role == Role.ADMIN or debrief.author_id == user.id or _same_team(user, debrief.author)
    )


def can_edit_deal(user: User, deal: Deal) -> bool:
    """Deal facts are shared by every debrief of the deal: its owner, the
    owner's manager and admins change them."""
    if user.role == Role.ADMIN:
        return True
    if deal.owner_id is None:
        return all(d.author_id == user.id for d in deal.debriefs)
    return deal.owner_id == user.id or _same_team(user, deal.owner)


def can_attach_to_deal(user: User, deal: Deal, source: DebriefSource) -> bool:
    """Reps debrief their own deals; buyer interviews may be filed on any deal."""
    if source == DebriefSource.BUYER or user.role == Role.ADMIN:
        return True
    return deal.owner_id in (None, user.id) or _same_team(user, deal.owner)


def visible_debriefs(user: User) -> ColumnElement[bool]:
    """A WHERE clause matching the debriefs `user` may read."""
    if user.role == Role.ADMIN:
        return and_(True)
    clauses = [Debrief.status == DebriefStatus.SUBMITTED, Debrief.author_id == user.id]
    if user.role == Role.MANAGER and user.team_id is not None:
        team_members = select(User.id).where(User.team_id == user.team_id)
        clauses.append(Debrief.author_id.in_(team_members))
    return or_(*clauses)


def editable_debriefs(user: User) -> ColumnElement[bool]:
    if user.role == Role.ADMIN:
        return and_(True)
    clauses = [Debrief.author_id == user.id]
    if user.role == Role.MANAGER and user.team_id is not None:
        clauses.append(Debrief.author_id.in_(select(User.id).where(User.team_id == user.team_id)))
    return or_(*clauses)
