"""What a given viewer may see of a practice: the one place that decides.

Pages, the API and exports turn a Practice into a PracticeView with
`present(practice, viewer)` and hand only that on; no template or response
reads a Practice's author itself. For an anonymous practice, anyone but an
admin or the author gets no author (no name, no id), no deal name and no link
to the deal or the debrief: only the competitors, segment and outcome the
linked deal brings. A comment the author wrote on their anonymous practice
is signed "The author".
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kb.models import EndorsementKind, Outcome, Practice, PracticeStatus, User
from kb.permissions import can_view_debrief
from kb.practices.permissions import can_edit_practice, can_feature, may_see_author

ANONYMOUS = "Anonymous"


@dataclass(frozen=True)
class Person:
    id: int
    name: str


@dataclass(frozen=True)
class DealContext:
    """What the linked deal brings. `deal` and `debrief_id` only for viewers
    who may know the author."""

    competitors: tuple[str, ...]
    segment: str | None
    outcome: Outcome
    deal: Person | None = None
    debrief_id: int | None = None


@dataclass(frozen=True)
class CommentView:
    id: int
    byline: str
    body: str
    created_at: datetime
    by_author: bool


@dataclass(frozen=True)
class PracticeView:
    id: int
    kind: str
    title: str
    situation: str
    actions: str
    result: str
    tags: tuple[str, ...]
    status: str
    featured: bool
    anonymous: bool
    author: Person | None  # None: the viewer may not know who wrote it
    byline: str
    mine: bool
    context: DealContext | None
    endorsements: dict[str, int]
    my_endorsements: tuple[str, ...]
    comment_count: int
    comments: tuple[CommentView, ...] | None
    can_edit: bool
    can_feature: bool
    can_endorse: bool
    can_comment: bool
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None

    @property
    def published(self) -> bool:
        return self.status == PracticeStatus.PUBLISHED.value

    @property
    def kind_label(self) -> str:
        return "Lesson" if self.kind == "lesson" else "Practice"

    def as_json(self) -> dict[str, Any]:
        """The API's shape of the same view: nothing more than a page shows."""
        context = None
        if self.context is not None:
            context = {
                "competitors": list(self.context.competitors),
                "segment": self.context.segment,
                "outcome": self.context.outcome.value,
                "deal": (
                    {"id": self.context.deal.id, "name": self.context.deal.name}
                    if self.context.deal
                    else None
                ),
                "debrief_id": self.context.debrief_id,
            }
        body: dict[str, Any] = {
            "id": self.id,
            "kind": self.kind,
            "title": self.title,
            "situation": self.situation,
            "actions": self.actions,
            "result": self.result,
            "tags": list(self.tags),
            "status": self.status,
            "featured": self.featured,
            "anonymous": self.anonymous,
            "author": {"id": self.author.id, "name": self.author.name} if self.author else None,
            "byline": self.byline,
            "context": context,
            "endorsements": dict(self.endorsements),
            "my_endorsements": list(self.my_endorsements),
            "comment_count": self.comment_count,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "published_at": self.published_at.isoformat() if self.published_at else None,
        }
        if self.comments is not None:
            body["comments"] = [
                {
                    "id": c.id,
                    "byline": c.byline,
                    "body": c.body,
                    "by_author": c.by_author,
                    "created_at": c.created_at.isoformat(),
                }
                for c in self.comments
            ]
        return body


def _byline(practice: Practice, viewer: User | None, known: bool) -> str:
    if not known:
        return ANONYMOUS
    name = practice.author.display_name
    if not practice.anonymous:
        return name
    mine = viewer is not None and viewer.id == practice.author_id
    if practice.status == PracticeStatus.PUBLISHED:
        return "You (published anonymously)" if mine else f"{name} (published anonymously)"
    return "You (to be published anonymously)" if mine else f"{name} (anonymous)"


def _context(practice: Practice, viewer: User | None, known: bool) -> DealContext | None:
    deal = practice.deal
    if deal is None:
        return None
    if not known:
        return DealContext(tuple(c.name for c in deal.competitors), deal.segment, deal.outcome)
    debrief = practice.debrief
    readable = debrief is not None and viewer is not None and can_view_debrief(viewer, debrief)
    return DealContext(
        tuple(c.name for c in deal.competitors),
        deal.segment,
        deal.outcome,
        deal=Person(deal.id, deal.name),
        debrief_id=debrief.id if readable else None,
    )


def _comments(practice: Practice, known: bool) -> tuple[CommentView, ...]:
    views = []
    for comment in practice.comments:
        by_author = comment.author_id == practice.author_id
        if by_author and not known:
            byline = "The author"
        elif by_author:
            byline = f"{comment.author.display_name} (author)"
        else:
            byline = comment.author.display_name
        views.append(CommentView(comment.id, byline, comment.body, comment.created_at, by_author))
    return tuple(views)


def present(practice: Practice, viewer: User | None, comments: bool = False) -> PracticeView:
    """`practice` as `viewer` may see it; viewer None is nobody in particular
    (what an index or an export for everyone may hold). The caller has
    checked that the viewer may read the practice at all."""
    known = may_see_author(viewer, practice)
    counts = {kind.value: 0 for kind in EndorsementKind}
    for endorsement in practice.endorsements:
        counts[endorsement.kind.value] += 1
    mine = viewer is not None and viewer.id == practice.author_id
    published = practice.status == PracticeStatus.PUBLISHED
    own_endorsements = tuple(
        sorted(
            e.kind.value
            for e in practice.endorsements
            if viewer is not None and e.user_id == viewer.id
        )
    )
    return PracticeView(
        id=practice.id,
        kind=practice.kind.value,
        title=practice.title,
        situation=practice.situation,
        actions=practice.actions,
        result=practice.result,
        tags=tuple(t.name for t in practice.tags),
        status=practice.status.value,
        featured=practice.featured,
        anonymous=practice.anonymous,
        author=Person(practice.author_id, practice.author.display_name) if known else None,
        byline=_byline(practice, viewer, known),
        mine=mine,
        context=_context(practice, viewer, known),
        endorsements=counts,
        my_endorsements=own_endorsements,
        comment_count=len(practice.comments),
        comments=_comments(practice, known) if comments else None,
        can_edit=viewer is not None and can_edit_practice(viewer, practice),
        can_feature=viewer is not None and published and can_feature(viewer),
        can_endorse=viewer is not None and published and not mine,
        can_comment=viewer is not None and published,
        created_at=practice.created_at,
        updated_at=practice.updated_at,
        published_at=practice.published_at,
    )
