"""Writing practices, endorsements and comments: the one path pages and the API share.

Every write checks the actor's rights (NotAllowed, a 403), validates
everything before touching the database (ValidationFailed, one message per
field), then writes the change, its audit entry and its search outbox entry
in one transaction.
"""

from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from kb import audit
from kb.extensions import db
from kb.models import (
    Comment,
    Deal,
    Debrief,
    Endorsement,
    EndorsementKind,
    Outcome,
    Practice,
    PracticeKind,
    PracticeStatus,
    Tag,
    User,
)
from kb.practices import traces
from kb.practices.permissions import (
    can_create_practice,
    can_edit_practice,
    can_feature,
    can_link_deal,
    can_link_debrief,
    can_view_practice,
)
from kb.practices.schemas import CommentIn, EndorsementIn, PracticeIn
from kb.search.outbox import enqueue
from kb.validation import ValidationFailed, field_errors

DOC_TYPE = "practice"


class NotAllowed(Exception):
    """The user may not do this (a 403, not a validation error)."""


class AlreadyEndorsed(ValidationFailed):
    """A second identical endorsement (the API answers 409)."""

    def __init__(self) -> None:
        super().__init__({"kind": "You already endorsed this."})


class TracedToAuthor(ValidationFailed):
    """An anonymous practice whose sentences would lead a search to its
    author's debriefs cannot be published (a validation error in the API)."""

    def __init__(self, sentences: list[str]) -> None:
        super().__init__({"anonymous": traces.message(sentences)})
        self.sentences = sentences


Model = TypeVar("Model", bound=BaseModel)


def _parse(model: type[Model], payload: Any, what: str) -> Model:
    if not isinstance(payload, dict):
        raise ValidationFailed({"__root__": f"Send a JSON object describing the {what}."})
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise ValidationFailed(field_errors(exc)) from None


def parse(payload: Any) -> PracticeIn:
    return _parse(PracticeIn, payload, "practice")


def parse_endorsement(payload: Any) -> EndorsementIn:
    return _parse(EndorsementIn, payload, "endorsement")


def parse_comment(payload: Any) -> CommentIn:
    return _parse(CommentIn, payload, "comment")


def as_input(practice: Practice) -> dict[str, Any]:
    """The practice in the shape PracticeIn accepts: for forms, PATCH and the audit diff."""
    return {
        "kind": practice.kind.value,
        "title": practice.title,
        "situation": practice.situation,
        "actions": practice.actions,
        "result": practice.result,
        "tags": sorted(t.name for t in practice.tags),
        # Through the relationships: a link to a deleted deal or debrief is no link.
        "deal_id": practice.deal.id if practice.deal is not None else None,
        "debrief_id": practice.debrief.id if practice.debrief is not None else None,
        "anonymous": practice.anonymous,
        "status": practice.status.value,
    }


def _texts(content: PracticeIn | Practice) -> list[str]:
    return [content.title, content.situation or "", content.actions, content.result or ""]


def traced_sentences(author_id: int, content: PracticeIn | Practice) -> list[str]:
    """Sentences of an anonymous practice that a search would find in its
    author's debriefs (none for a named one): a draft is warned, publishing
    is refused."""
    if not content.anonymous:
        return []
    return traces.traced_sentences(author_id, _texts(content))


def _check_anonymity(author_id: int, content: PracticeIn | Practice) -> None:
    if found := traced_sentences(author_id, content):
        raise TracedToAuthor(found)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _resolve_links(
    actor: User, data: PracticeIn, practice: Practice | None
) -> tuple[dict[str, str], Deal | None, Debrief | None]:
    """The deal and debrief the practice is linked to, checked. A link the
    practice already has is kept without asking again."""
    errors: dict[str, str] = {}
    deal = debrief = None
    if data.debrief_id is not None:
        debrief = db.session.get(Debrief, data.debrief_id)
        unchanged = practice is not None and practice.debrief_id == data.debrief_id
        if debrief is None or not (unchanged or can_link_debrief(actor, debrief)):
            errors["debrief_id"] = "No debrief you can read has this id."
            debrief = None
        elif data.deal_id is not None and data.deal_id != debrief.deal_id:
            errors["deal_id"] = "The debrief belongs to another deal."
        else:
            deal = debrief.deal
    if data.deal_id is not None and deal is None and "deal_id" not in errors:
        deal = db.session.get(Deal, data.deal_id)
        unchanged = practice is not None and practice.deal_id == data.deal_id
        if deal is None or not (unchanged or can_link_deal(actor, deal)):
            errors["deal_id"] = "No deal you can read has this id."
            deal = None
    return errors, deal, debrief


def _tags(names: list[str]) -> list[Tag]:
    if not names:
        return []
    found = {t.name: t for t in db.session.scalars(select(Tag).where(Tag.name.in_(names)))}
    for name in names:
        if name not in found:
            found[name] = Tag(name=name)
            db.session.add(found[name])
    return [found[name] for name in names]


def _set_status(practice: Practice, status: PracticeStatus) -> None:
    if status == PracticeStatus.PUBLISHED and practice.status != PracticeStatus.PUBLISHED:
        practice.published_at = _now()
    if status == PracticeStatus.DRAFT:
        # Featuring is for the playbook; a practice taken back is no longer featured.
        practice.featured, practice.featured_at = False, None
    practice.status = status


def _finish(actor: User, action: str, practice: Practice, changes: dict | None = None) -> None:
    """Audit, outbox and commit: the change and both records land together."""
    try:
        db.session.flush()
        audit.record(actor, action, DOC_TYPE, practice.id, practice.title, changes)
        enqueue(DOC_TYPE, practice.id)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise


def save_practice(actor: User, data: PracticeIn, practice: Practice | None = None) -> Practice:
    """Create (practice=None) or replace a practice's content. Raises
    ValidationFailed, storing nothing, when any part of it is wrong."""
    creating = practice is None
    if not (can_create_practice(actor) if creating else can_edit_practice(actor, practice)):
        raise NotAllowed("You may not change this practice.")
    errors, deal, debrief = _resolve_links(actor, data, practice)
    if errors:
        raise ValidationFailed(errors)
    if data.status == PracticeStatus.PUBLISHED:
        _check_anonymity(actor.id if creating else practice.author_id, data)
    before = as_input(practice) if practice is not None else None
    if creating:
        practice = Practice(author=actor, status=PracticeStatus.DRAFT, featured=False)
        db.session.add(practice)
    try:
        for key in ("kind", "title", "situation", "actions", "result", "anonymous"):
            setattr(practice, key, getattr(data, key))
        practice.deal, practice.debrief = deal, debrief
        practice.tags = _tags(data.tags)
        _set_status(practice, data.status)
        db.session.flush()
    except Exception:
        db.session.rollback()
        raise
    if creating:
        _finish(actor, "create", practice)
        return practice
    changes = audit.diff(before, as_input(practice))
    if not changes:
        db.session.rollback()
        return practice
    _finish(actor, "update", practice, changes)
    return practice


def _change_status(actor: User, practice: Practice, status: PracticeStatus) -> Practice:
    if not can_edit_practice(actor, practice):
        raise NotAllowed("Only the author or an admin can publish or unpublish this.")
    if practice.status == status:
        return practice
    if status == PracticeStatus.PUBLISHED:
        _check_anonymity(practice.author_id, practice)
    before = practice.status.value
    _set_status(practice, status)
    action = "publish" if status == PracticeStatus.PUBLISHED else "unpublish"
    _finish(actor, action, practice, {"status": [before, status.value]})
    return practice


def publish(actor: User, practice: Practice) -> Practice:
    return _change_status(actor, practice, PracticeStatus.PUBLISHED)


def unpublish(actor: User, practice: Practice) -> Practice:
    return _change_status(actor, practice, PracticeStatus.DRAFT)


def set_featured(actor: User, practice: Practice, featured: bool) -> Practice:
    """Managers and admins feature the best published practices."""
    if not can_feature(actor):
        raise NotAllowed("Only managers and admins feature practices.")
    if featured and practice.status != PracticeStatus.PUBLISHED:
        raise ValidationFailed({"featured": "Only a published practice can be featured."})
    if practice.featured == featured:
        return practice
    practice.featured = featured
    practice.featured_at = _now() if featured else None
    action = "feature" if featured else "unfeature"
    _finish(actor, action, practice, {"featured": [not featured, featured]})
    return practice


def _require_published(actor: User, practice: Practice, what: str) -> None:
    if not can_view_practice(actor, practice):
        raise NotAllowed("You may not read this practice.")
    if practice.status != PracticeStatus.PUBLISHED:
        raise ValidationFailed({"__root__": f"{what} open once the practice is published."})


def endorse(actor: User, practice: Practice, kind: EndorsementKind) -> Endorsement:
    """One endorsement of each kind per person and practice."""
    _require_published(actor, practice, "Endorsements")
    if practice.author_id == actor.id:
        raise ValidationFailed({"kind": "You cannot endorse your own practice."})
    if any(e.user_id == actor.id and e.kind == kind for e in practice.endorsements):
        raise AlreadyEndorsed()
    endorsement = Endorsement(user_id=actor.id, kind=kind)
    practice.endorsements.append(endorsement)
    try:
        _finish(actor, "endorse", practice, {"endorsement": [None, kind.value]})
    except IntegrityError:
        # Someone (this user, in another tab) endorsed at the same moment.
        raise AlreadyEndorsed() from None
    return endorsement


def unendorse(actor: User, practice: Practice, kind: EndorsementKind) -> bool:
    """Take back an endorsement; False when there was none."""
    if not can_view_practice(actor, practice):
        raise NotAllowed("You may not read this practice.")
    mine = [e for e in practice.endorsements if e.user_id == actor.id and e.kind == kind]
    if not mine:
        return False
    practice.endorsements.remove(mine[0])
    _finish(actor, "unendorse", practice, {"endorsement": [kind.value, None]})
    return True


def add_comment(actor: User, practice: Practice, data: CommentIn) -> Comment:
    _require_published(actor, practice, "Comments")
    comment = Comment(author_id=actor.id, body=data.body)
    practice.comments.append(comment)
    _finish(actor, "comment", practice, {"comment": [None, data.body[:200]]})
    return comment


def delete_practice(actor: User, practice: Practice) -> None:
    if not can_edit_practice(actor, practice):
        raise NotAllowed("Only the author or an admin can delete this practice.")
    try:
        audit.record(
            actor,
            "delete",
            DOC_TYPE,
            practice.id,
            practice.title,
            {"content": [as_input(practice), None]},
        )
        enqueue(DOC_TYPE, practice.id)
        db.session.delete(practice)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise


def _names(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def practice_from_debrief(debrief: Debrief, kind: PracticeKind | None = None) -> dict[str, Any]:
    """A new practice prefilled from a debrief, in PracticeIn's shape: what
    worked for a win (a practice), the lessons learned otherwise (a lesson),
    linked to the debrief and its deal.

    The suggested title and situation come from the deal's competitors,
    segment and outcome, never its name or account, so that a lesson shared
    anonymously does not name the deal unless its author types it."""
    deal = debrief.deal
    if kind is None:
        kind = PracticeKind.PRACTICE if deal.outcome == Outcome.WON else PracticeKind.LESSON
    competitors = [c.name for c in deal.competitors]
    against = f" against {_names(competitors)}" if competitors else ""
    segment = f" in {deal.segment}" if deal.segment else ""
    if kind == PracticeKind.PRACTICE:
        title = f"How we won{against}{segment}" if deal.outcome == Outcome.WON else ""
        title = title or f"What worked{against}{segment}"
    else:
        title = f"Lesson from a {deal.outcome.label.lower()} deal{against}{segment}"
    situation = "A deal"
    if deal.segment:
        situation += f" in the {deal.segment} segment"
    if deal.region:
        situation += f" in {deal.region}"
    if competitors:
        situation += f", competing with {_names(competitors)}"
    situation += "."
    if deal.outcome == Outcome.WON:
        result = "We won the deal."
    elif deal.outcome == Outcome.LOST and deal.winner_label:
        result = f"We lost the deal ({deal.winner_label} won)."
    else:
        result = "The deal ended in no decision." if deal.outcome == Outcome.NO_DECISION else ""
    actions = debrief.what_worked if kind == PracticeKind.PRACTICE else debrief.lessons_learned
    return {
        "kind": kind.value,
        "title": title[:200],
        "situation": situation,
        "actions": actions,
        "result": result,
        "tags": [],
        "deal_id": deal.id,
        "debrief_id": debrief.id,
        "anonymous": False,
        "status": PracticeStatus.DRAFT.value,
    }
