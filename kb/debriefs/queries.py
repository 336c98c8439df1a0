"""Reading debriefs for lists and pages, always through the permission filter."""

from dataclasses import dataclass

from sqlalchemy import Select, false, func, select
from sqlalchemy.orm import selectinload

from kb.extensions import db
from kb.models import (
    AuditEntry,
    Competitor,
    Deal,
    Debrief,
    DebriefSource,
    DebriefStatus,
    Outcome,
    Reason,
    User,
)
from kb.permissions import visible_debriefs
from kb.validation import id_from_text

LIST_FILTERS = ("outcome", "source", "status", "competitor", "segment", "author")

# The list's orders, as offered on the page; each ends on the id so that pages
# never repeat or skip a row. Amounts are compared as numbers whatever their
# currency: the column shows each one with its own.
SORTS = {
    "newest": ("Newest debriefs first", (Debrief.created_at.desc(), Debrief.id.desc())),
    "close_date": ("Close date, latest first", (Deal.close_date.desc(), Debrief.id.desc())),
    "amount": ("Amount, largest first", (Deal.amount.desc().nulls_last(), Debrief.id.desc())),
    "account": ("Account, A to Z", (func.lower(Deal.account), Debrief.id)),
}
DEFAULT_SORT = "close_date"


@dataclass
class Page:
    items: list
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def debrief_list(
    user: User, filters: dict[str, str], scope: str = "all", sort: str = DEFAULT_SORT
) -> Select:
    """Debriefs `user` may read in the `sort` order (an unknown sort is the
    default one), narrowed by `filters` (unknown values narrow to nothing
    rather than erroring)."""
    stmt = (
        select(Debrief)
        .join(Debrief.deal)
        .where(visible_debriefs(user))
        .options(
            selectinload(Debrief.deal).selectinload(Deal.competitors),
            selectinload(Debrief.author),
            selectinload(Debrief.reasons).selectinload(Reason.category),
        )
        .order_by(*SORTS.get(sort, SORTS[DEFAULT_SORT])[1])
    )
    if scope == "mine":
        stmt = stmt.where(Debrief.author_id == user.id)
    elif scope == "team":
        stmt = stmt.where(
            Debrief.author_id.in_(select(User.id).where(User.team_id == user.team_id))
        )
    for name, column, values in (
        ("outcome", Deal.outcome, Outcome),
        ("source", Debrief.source, DebriefSource),
        ("status", Debrief.status, DebriefStatus),
    ):
        if value := filters.get(name):
            known = value in {member.value for member in values}
            stmt = stmt.where(column == values(value) if known else false())
    if value := filters.get("segment"):
        stmt = stmt.where(Deal.segment == value)
    if value := filters.get("competitor"):
        stmt = stmt.where(Deal.competitors.any(Competitor.name == value))
    if (author_id := id_from_text(filters.get("author", ""))) is not None:
        stmt = stmt.where(Debrief.author_id == author_id)
    return stmt


def paginate(stmt: Select, page: int, per_page: int) -> Page:
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    page = min(max(page, 1), max(1, -(-total // per_page)))
    items = list(db.session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)))
    return Page(items, page, per_page, total or 0)


def history(debrief_id: int) -> list[AuditEntry]:
    return list(
        db.session.scalars(
            select(AuditEntry)
            .where(AuditEntry.entity_type == "debrief", AuditEntry.entity_id == debrief_id)
            .options(selectinload(AuditEntry.user))
            .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        )
    )
