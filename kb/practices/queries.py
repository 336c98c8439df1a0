"""Reading practices for the playbook, "My practices" and the home page.

`find_practices(viewer, params)` is the playbook's one way in: filters, the
text box and sorting. The text box is answered by the search index
(kb.search.search_practices: the debrief search's syntax, stemming and
competitor aliases), which holds published practices only and only what
present(practice, None) shows of them; the structured filters, "mine", the
author filter and the ordering stay in SQL. Drafts (in "My practices") and a
search while the index is first built fall back to `text_match`, a plain SQL
ILIKE over the same text. Whatever answers it, everything it returns has been
through presenters.present, and an author filter never matches an anonymous
practice for anyone but an admin.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import selectinload

from kb.debriefs.queries import Page, paginate
from kb.extensions import db
from kb.models import (
    AuditEntry,
    Competitor,
    Deal,
    Debrief,
    Endorsement,
    Outcome,
    Practice,
    PracticeKind,
    PracticeStatus,
    Role,
    Tag,
    User,
    deal_competitors,
    practice_tags,
)
from kb.practices.permissions import author_clause
from kb.practices.presenters import Person, PracticeView, present
from kb.search import search_practices
from kb.validation import id_from_text, page_from_text

FILTERS = ("q", "kind", "competitor", "segment", "outcome", "tag", "author")
SORTS = {"newest": "Newest first", "endorsements": "Most endorsed"}
MAX_WORDS = 10
FEATURED_DAYS = 180
FEATURED_LIMIT = 5


@dataclass(frozen=True)
class PlaybookParams:
    q: str = ""
    kind: str = ""
    competitor: str = ""
    segment: str = ""
    outcome: str = ""
    tag: str = ""
    author: str = ""
    sort: str = "newest"
    mine: bool = False  # the viewer's own practices, drafts included
    page: int = 1
    per_page: int = 20

    @classmethod
    def from_args(cls, args: Mapping[str, str], **overrides) -> "PlaybookParams":
        """From query-string arguments; values that mean nothing are dropped."""
        values = {key: (args.get(key) or "").strip()[:200] for key in FILTERS}
        sort = args.get("sort", "newest")
        return replace(
            cls(
                **values,
                sort=sort if sort in SORTS else "newest",
                page=page_from_text(args.get("page")),
            ),
            **overrides,
        )

    @property
    def filtered(self) -> bool:
        return any(getattr(self, key) for key in FILTERS)


def _loaded(stmt: Select) -> Select:
    return stmt.options(
        selectinload(Practice.author),
        selectinload(Practice.deal).selectinload(Deal.competitors),
        selectinload(Practice.debrief),
        selectinload(Practice.tags),
        selectinload(Practice.endorsements),
        selectinload(Practice.comments),
    )


def _like(word: str) -> str:
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def text_match(q: str) -> ColumnElement[bool]:
    """Every word in the practice's own text or tags. Never the author's name or
    the deal's name: an anonymous practice must not be found by them."""
    clauses = []
    for word in q.split()[:MAX_WORDS]:
        pattern = _like(word)
        clauses.append(
            or_(
                *(
                    column.ilike(pattern, escape="\\")
                    for column in (
                        Practice.title,
                        Practice.situation,
                        Practice.actions,
                        Practice.result,
                    )
                ),
                Practice.tags.any(Tag.name.ilike(pattern, escape="\\")),
            )
        )
    return and_(True, *clauses)


def _matching(q: str) -> ColumnElement[bool]:
    found = search_practices(q)
    if found is None:  # no index yet
        return text_match(q)
    indexed = Practice.id.in_([practice_id for practice_id, _ in found])
    # The index holds published practices; the viewer's own drafts are matched here.
    return or_(indexed, and_(Practice.status != PracticeStatus.PUBLISHED, text_match(q)))


def _endorsement_count():
    return (
        select(func.count(Endorsement.id))
        .where(Endorsement.practice_id == Practice.id)
        .correlate(Practice)
        .scalar_subquery()
    )


def practice_statement(viewer: User, params: PlaybookParams) -> Select:
    """The practices `params` asks for, as `viewer` may list them."""
    stmt = select(Practice)
    if params.mine:
        stmt = stmt.where(Practice.author_id == viewer.id)
    else:
        stmt = stmt.where(Practice.status == PracticeStatus.PUBLISHED)
    if params.kind in {k.value for k in PracticeKind}:
        stmt = stmt.where(Practice.kind == PracticeKind(params.kind))
    if params.competitor:
        stmt = stmt.where(
            Practice.deal.has(Deal.competitors.any(Competitor.name == params.competitor))
        )
    if params.segment:
        stmt = stmt.where(Practice.deal.has(Deal.segment == params.segment))
    if params.outcome in {o.value for o in Outcome}:
        stmt = stmt.where(Practice.deal.has(Deal.outcome == Outcome(params.outcome)))
    if params.tag:
        stmt = stmt.where(Practice.tags.any(Tag.name == params.tag.lower()))
    if (author_id := id_from_text(params.author)) is not None and not params.mine:
        stmt = stmt.where(author_clause(viewer, author_id))
    if params.q.strip():
        stmt = stmt.where(_matching(params.q))
    if params.mine:
        return stmt.order_by(Practice.updated_at.desc(), Practice.id.desc())
    order = [Practice.featured.desc()]
    if params.sort == "endorsements":
        order.append(_endorsement_count().desc())
    order += [Practice.published_at.desc().nulls_last(), Practice.id.desc()]
    return stmt.order_by(*order)


def find_practices(viewer: User, params: PlaybookParams) -> Page:
    """One page of the playbook (or of the viewer's own practices), presented
    for `viewer`."""
    page = paginate(_loaded(practice_statement(viewer, params)), params.page, params.per_page)
    return Page([present(p, viewer) for p in page.items], page.page, page.per_page, page.total)


def author_choices(viewer: User) -> list[Person]:
    """People the author filter offers: authors of named published practices
    (for admins, of anonymous ones too). Someone who only ever published
    anonymously is not listed."""
    where = [Practice.status == PracticeStatus.PUBLISHED]
    if viewer.role != Role.ADMIN:
        where.append(Practice.anonymous.is_(False))
    authors = db.session.scalars(
        select(User).where(User.id.in_(select(Practice.author_id).where(*where)))
    )
    return sorted((Person(u.id, u.display_name) for u in authors), key=lambda p: p.name)


def tag_choices() -> list[str]:
    """Tags of published practices, for the playbook's filter."""
    published = select(Practice.id).where(Practice.status == PracticeStatus.PUBLISHED)
    used = select(practice_tags.c.tag_id).where(practice_tags.c.practice_id.in_(published))
    return list(db.session.scalars(select(Tag.name).where(Tag.id.in_(used)).order_by(Tag.name)))


def featured_for(user: User, today: date, deal_ids: Iterable[int] = ()) -> list[PracticeView]:
    """Featured practices that fit `user`'s deals: those that share a
    competitor or a segment with a deal the user owns or debriefed in the last
    180 days, or with one of `deal_ids` (their open to-dos). Newest first."""
    since = today - timedelta(days=FEATURED_DAYS)
    recent = select(Deal.id).where(
        Deal.close_date >= since,
        or_(
            Deal.owner_id == user.id,
            Deal.id.in_(select(Debrief.deal_id).where(Debrief.author_id == user.id)),
        ),
    )
    theirs = or_(Deal.id.in_(recent), Deal.id.in_(list(deal_ids)))
    their_ids = select(Deal.id).where(theirs)
    segments = select(Deal.segment).where(theirs, Deal.segment.is_not(None))
    competitors = select(deal_competitors.c.competitor_id).where(
        deal_competitors.c.deal_id.in_(their_ids)
    )
    stmt = (
        select(Practice)
        .join(Practice.deal)
        .where(
            Practice.status == PracticeStatus.PUBLISHED,
            Practice.featured.is_(True),
            Practice.author_id != user.id,
            or_(Deal.segment.in_(segments), Deal.competitors.any(Competitor.id.in_(competitors))),
        )
        .order_by(Practice.published_at.desc().nulls_last(), Practice.id.desc())
        .limit(FEATURED_LIMIT)
    )
    return [present(p, user) for p in db.session.scalars(_loaded(stmt))]


def history(practice_id: int) -> list[AuditEntry]:
    """The practice's audit trail, for its author and admins only."""
    return list(
        db.session.scalars(
            select(AuditEntry)
            .where(AuditEntry.entity_type == "practice", AuditEntry.entity_id == practice_id)
            .options(selectinload(AuditEntry.user))
            .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        )
    )
