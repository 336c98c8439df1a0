"""Who may see and change which practices (SPEC §2, §4.4).

Every route, API call and list of practices asks here. Whether a viewer may
learn who wrote a practice is `may_see_author`; presenters.present applies it.
"""

from sqlalchemy import ColumnElement, and_, or_

from kb.models import Deal, Debrief, Practice, PracticeStatus, Role, User
from kb.permissions import can_edit_debrief, can_view_debrief

CREATORS = (Role.REP, Role.MANAGER, Role.MARKETING, Role.ADMIN)
CURATORS = (Role.MANAGER, Role.ADMIN)


def can_create_practice(user: User) -> bool:
    return user.role in CREATORS


def can_view_practice(user: User, practice: Practice) -> bool:
    """Published practices are read by everyone signed in; a draft by its author
    (and admins)."""
    return (
        practice.status == PracticeStatus.PUBLISHED
        or user.role == Role.ADMIN
        or practice.author_id == user.id
    )


def can_edit_practice(user: User, practice: Practice) -> bool:
    """Authors change and delete their own; admins any."""
    return user.role == Role.ADMIN or practice.author_id == user.id


def can_feature(user: User) -> bool:
    return user.role in CURATORS


def may_see_author(user: User | None, practice: Practice) -> bool:
    """A named practice shows its author to everyone; an anonymous one only to
    its author and to admins. `user` None is nobody in particular (an index or
    an export meant for everyone)."""
    if not practice.anonymous:
        return True
    return user is not None and (user.role == Role.ADMIN or practice.author_id == user.id)


def can_link_debrief(user: User, debrief: Debrief) -> bool:
    return can_view_debrief(user, debrief)


def can_link_deal(user: User, deal: Deal) -> bool:
    """A practice may name a deal its author owns or can read a debrief of."""
    return (
        user.role == Role.ADMIN
        or deal.owner_id == user.id
        or any(can_view_debrief(user, d) for d in deal.debriefs)
    )


def can_share_debrief(user: User, debrief: Debrief) -> bool:
    """ "Share as practice": the debrief's author, and those who may edit it."""
    return can_create_practice(user) and can_edit_debrief(user, debrief)


def visible_practices(user: User) -> ColumnElement[bool]:
    """A WHERE clause matching the practices `user` may read."""
    if user.role == Role.ADMIN:
        return and_(True)
    return or_(Practice.status == PracticeStatus.PUBLISHED, Practice.author_id == user.id)


def author_clause(user: User, author_id: int) -> ColumnElement[bool]:
    """Practices by `author_id`, as `user` may ask for them: for anyone but an
    admin an author filter never matches an anonymous practice, not even the
    asker's own (those are under "My practices")."""
    if user.role == Role.ADMIN:
        return Practice.author_id == author_id
    return and_(Practice.author_id == author_id, Practice.anonymous.is_(False))
