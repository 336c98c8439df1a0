"""Filing, changing and deleting debriefs: the one path pages and the API share.

Every write validates everything first and raises ValidationFailed with a
message per field before touching the database, then writes the change, its
audit entry and its search outbox entry in one transaction.
"""

from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import insert, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import MANYTOONE, make_transient_to_detached

from kb import audit
from kb.debriefs.schemas import DealIn, DebriefIn
from kb.extensions import db
from kb.lookups import canonical_choice, find_category, find_competitor
from kb.models import (
    SCORE_CRITERIA,
    Deal,
    Debrief,
    DebriefSource,
    DebriefStatus,
    Outcome,
    Quote,
    Reason,
    User,
    WinnerKind,
)
from kb.permissions import can_attach_to_deal, can_edit_deal, can_file
from kb.search.outbox import enqueue, enqueue_deal_practices, enqueue_now
from kb.validation import ValidationFailed, field_errors

CRM_ID_TAKEN = "Another deal already has this CRM id."
SPECIAL_WINNERS = {"no_decision": WinnerKind.NO_DECISION, "in_house": WinnerKind.IN_HOUSE}


class NotAllowed(Exception):
    """The user may not do this (a 403, not a validation error)."""


def parse(payload: Any) -> DebriefIn:
    if not isinstance(payload, dict):
        raise ValidationFailed({"__root__": "Send a JSON object describing the debrief."})
    try:
        return DebriefIn.model_validate(payload)
    except ValidationError as exc:
        raise ValidationFailed(field_errors(exc)) from None


def as_input(debrief: Debrief) -> dict[str, Any]:
    """The debrief in the shape DebriefIn accepts: for forms, PATCH and the audit diff."""
    deal = debrief.deal
    return {
        "source": debrief.source.value,
        "status": debrief.status.value,
        "deal": deal_as_input(deal),
        "interviewee_role": debrief.interviewee_role,
        "interviewee_name": debrief.interviewee_name,
        "interview_date": debrief.interview_date.isoformat() if debrief.interview_date else None,
        "reasons": [
            {
                "category": r.category.slug,
                "direction": r.direction.value,
                "primary": r.is_primary,
                "explanation": r.explanation,
                "competitor": r.competitor.name if r.competitor else None,
            }
            for r in debrief.reasons
        ],
        "quotes": [{"text": q.text, "speaker_role": q.speaker_role} for q in debrief.quotes],
        "decision_process": debrief.decision_process,
        "competitive_notes": debrief.competitive_notes,
        "what_worked": debrief.what_worked,
        "lessons_learned": debrief.lessons_learned,
        "scores": debrief.scores,
    }


def deal_as_input(deal: Deal) -> dict[str, Any]:
    if deal.winner_kind == WinnerKind.COMPETITOR and deal.winner_competitor:
        winner = deal.winner_competitor.name
    else:
        winner = deal.winner_kind.value if deal.winner_kind else None
    return {
        "crm_id": deal.crm_id,
        "name": deal.name,
        "account": deal.account,
        # Two decimals whether the value was just assigned or read back from the database,
        # so that re-saving the same amount is no change.
        "amount": f"{deal.amount:.2f}" if deal.amount is not None else None,
        "currency": deal.currency,
        "close_date": deal.close_date.isoformat(),
        "outcome": deal.outcome.value,
        "segment": deal.segment,
        "region": deal.region,
        "industry": deal.industry,
        "product_line": deal.product_line,
        "sales_cycle_days": deal.sales_cycle_days,
        "stage_reached": deal.stage_reached,
        "competitors": [c.name for c in deal.competitors],
        "winner": winner,
    }


class Resolved:
    """Names in the input turned into records, and the errors found doing so."""

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}
        self.deal: Deal | None = None
        self.deal_fields: dict[str, Any] = {}
        self.categories: list = []
        self.reason_competitors: list = []


class DirectLookups:
    """Each lookup a query; an import passes cached, batched ones instead."""

    choice = staticmethod(canonical_choice)
    competitor = staticmethod(find_competitor)

    @staticmethod
    def deal(crm_id: str) -> Deal | None:
        return db.session.scalar(select(Deal).where(Deal.crm_id == crm_id))


def resolve_deal_facts(
    facts: DealIn, existing: Deal | None, found: Resolved, lookups=DirectLookups
) -> None:
    # On an existing deal, a fact the payload leaves out keeps its stored value:
    # filing with `deal_id` and a few facts must not wipe the CRM id or amount.
    given = facts.model_fields_set if existing is not None else None

    def left_out(name: str) -> bool:
        return given is not None and name not in given

    fields = {
        key: value
        for key, value in facts.model_dump(exclude={"competitors", "winner"}).items()
        if not left_out(key)
    }
    for kind in ("segment", "region", "industry", "product_line"):
        if fields.get(kind) is not None:
            listed = lookups.choice(kind, fields[kind])
            if listed is None:
                found.errors[f"deal.{kind}"] = f"Unknown {kind.replace('_', ' ')} '{fields[kind]}'."
            fields[kind] = listed
    if facts.crm_id:
        other = lookups.deal(facts.crm_id)
        if other is not None and other is not existing:
            found.errors["deal.crm_id"] = CRM_ID_TAKEN
    competitors = list(existing.competitors) if left_out("competitors") else []
    for i, name in enumerate(facts.competitors):
        competitor = lookups.competitor(name)
        if competitor is None:
            found.errors[f"deal.competitors.{i}"] = f"Unknown competitor '{name}'."
        elif competitor not in competitors:
            competitors.append(competitor)
    if left_out("winner") and facts.outcome != Outcome.WON:
        pass  # the stored winner stands
    else:
        fields["winner_kind"], fields["winner_competitor"] = None, None
    if facts.winner:
        if facts.outcome == Outcome.WON:
            found.errors["deal.winner"] = "A won deal has no other winner; leave this empty."
        elif facts.winner.lower() in SPECIAL_WINNERS:
            fields["winner_kind"] = SPECIAL_WINNERS[facts.winner.lower()]
        elif (winner := lookups.competitor(facts.winner)) is not None:
            fields["winner_kind"], fields["winner_competitor"] = WinnerKind.COMPETITOR, winner
            if winner not in competitors:
                competitors.append(winner)
        else:
            found.errors["deal.winner"] = f"Unknown competitor '{facts.winner}'."
    fields["competitors"] = competitors
    found.deal_fields = fields


def _resolve(actor: User, data: DebriefIn, debrief: Debrief | None) -> Resolved:
    found = Resolved()
    if not can_file(actor, data.source):
        found.errors["source"] = (
            "Buyer interviews are filed by marketing and managers."
            if data.source == DebriefSource.BUYER
            else "Rep debriefs are filed by reps and managers."
        )
    if debrief is not None:
        found.deal = debrief.deal
        if data.deal_id is not None and data.deal_id != debrief.deal_id:
            found.errors["deal_id"] = "A debrief cannot move to another deal."
    elif data.deal_id is not None:
        found.deal = db.session.get(Deal, data.deal_id)
        if found.deal is None:
            found.errors["deal_id"] = "No deal has this id."
        elif not can_attach_to_deal(actor, found.deal, data.source):
            found.errors["deal_id"] = "You can only debrief your own deals."
    elif data.deal is None:
        found.errors["deal"] = "Give the deal's facts (or the id of an existing deal)."
    if data.deal is not None and (found.deal is None or can_edit_deal(actor, found.deal)):
        resolve_deal_facts(data.deal, found.deal, found)

    primaries = [i for i, r in enumerate(data.reasons) if r.primary]
    for i in primaries[1:]:
        found.errors[f"reasons.{i}.primary"] = "Only one reason can be the primary reason."
    kept = {r.category.slug for r in debrief.reasons} if debrief is not None else set()
    for i, reason in enumerate(data.reasons):
        category = find_category(reason.category, allow_retired=reason.category in kept)
        if category is None:
            found.errors[f"reasons.{i}.category"] = f"Unknown reason category '{reason.category}'."
        found.categories.append(category)
        competitor = find_competitor(reason.competitor) if reason.competitor else None
        if reason.competitor and competitor is None:
            found.errors[f"reasons.{i}.competitor"] = f"Unknown competitor '{reason.competitor}'."
        found.reason_competitors.append(competitor)

    if data.status == DebriefStatus.SUBMITTED:
        if not data.reasons:
            found.errors["reasons"] = (
                "Add at least one reason before submitting (a draft may have none)."
            )
        if data.source == DebriefSource.BUYER and not data.interviewee_role:
            found.errors["interviewee_role"] = "Say who was interviewed (e.g. economic buyer)."
    return found


def apply_debrief(actor: User, data: DebriefIn, debrief: Debrief, found: Resolved) -> None:
    if found.deal is None:
        found.deal = Deal(owner=actor if data.source == DebriefSource.REP else None)
        db.session.add(found.deal)
    debrief.deal = found.deal
    if found.deal_fields:
        for key, value in found.deal_fields.items():
            setattr(found.deal, key, value)
    debrief.source = data.source
    for key in ("interviewee_role", "interviewee_name", "interview_date"):
        setattr(debrief, key, getattr(data, key) if data.source == DebriefSource.BUYER else None)
    for key in ("decision_process", "competitive_notes", "what_worked", "lessons_learned"):
        setattr(debrief, key, getattr(data, key))
    for key, _ in SCORE_CRITERIA:
        setattr(debrief, f"score_{key}", getattr(data.scores, key))

    has_primary = any(r.primary for r in data.reasons)
    debrief.reasons = [
        Reason(
            rank=i + 1,
            category=found.categories[i],
            direction=r.direction,
            # The top-ranked reason is the primary one unless another is marked.
            is_primary=r.primary or (not has_primary and i == 0),
            explanation=r.explanation,
            competitor=found.reason_competitors[i],
        )
        for i, r in enumerate(data.reasons)
    ]
    debrief.quotes = [
        Quote(position=i + 1, text=q.text, speaker_role=q.speaker_role)
        for i, q in enumerate(data.quotes)
    ]
    if data.status == DebriefStatus.SUBMITTED and debrief.status != DebriefStatus.SUBMITTED:
        debrief.submitted_at = datetime.now(UTC).replace(tzinfo=None)
    debrief.status = data.status


def save_debrief(actor: User, data: DebriefIn, debrief: Debrief | None = None) -> Debrief:
    """Create (debrief=None) or replace a debrief's content. Raises
    ValidationFailed, storing nothing, when any part of it is wrong."""
    found = _resolve(actor, data, debrief)
    if found.errors:
        raise ValidationFailed(found.errors)
    before = as_input(debrief) if debrief is not None else None
    creating = debrief is None
    # A deal created with this debrief cannot have a practice linked to it yet.
    new_deal = found.deal is None
    if creating:
        # Required columns are set before the debrief joins the session, so that
        # no flush can write it half-built.
        debrief = Debrief(author=actor, status=DebriefStatus.DRAFT, source=data.source)
        db.session.add(debrief)
    try:
        # Applying the deal's facts loads its collections (competitors, debriefs);
        # an autoflush in the middle would write rows whose fields are not all set yet.
        with db.session.no_autoflush:
            apply_debrief(actor, data, debrief, found)
        if creating and new_deal:
            _insert_new([found.deal, debrief, *debrief.reasons, *debrief.quotes])
        else:
            db.session.flush()
        if creating:
            audit.record_now(actor, "create", "debrief", debrief.id, debrief.title)
        else:
            changes = audit.diff(before, as_input(debrief))
            if not changes:
                db.session.rollback()
                return debrief
            audit.record_now(actor, "update", "debrief", debrief.id, debrief.title, changes)
        # Each debrief's index document copies its deal's facts: re-read them all.
        enqueue_now("debrief", sorted({d.id for d in debrief.deal.debriefs} | {debrief.id}))
        if not new_deal:
            enqueue_deal_practices([debrief.deal.id])
        _commit_keeping_loaded()
        if len(debrief.deal.competitors) > 1:
            # Listed in the database's order of names (its collation), as
            # every later read of the deal lists them.
            db.session.expire(debrief.deal, ["competitors"])
    except IntegrityError:
        db.session.rollback()
        # Another request stored a deal with this CRM id after it was looked
        # for: refused as it is when the requests come one after the other.
        crm_id = data.deal.crm_id if data.deal is not None else None
        other = DirectLookups.deal(crm_id) if crm_id else None
        if other is not None and other is not found.deal:
            raise ValidationFailed({"deal.crm_id": CRM_ID_TAKEN}) from None
        raise
    except Exception:
        db.session.rollback()
        raise
    return debrief


_inserts: dict = {}


def _insert_statement(mapper, given: frozenset) -> tuple:
    """INSERT for `mapper`'s table, returning what the database chose (the id,
    defaults, server defaults) for the attributes not `given`, with their
    attribute names."""
    key = (mapper, given)
    if key not in _inserts:
        props = [p for p in mapper.column_attrs if p.columns[0].key not in given]
        statement = insert(mapper.local_table).returning(
            *(p.columns[0] for p in props), sort_by_parameter_order=True
        )
        _inserts[key] = statement, tuple(p.key for p in props)
    return _inserts[key]


def _insert_new(objects: list) -> None:
    """Write these new objects, parents before children, with one INSERT …
    RETURNING per table on the session's connection, and keep them in the
    session as if loaded: what a flush writes for a new deal with its
    debrief, reasons and quotes, without the unit of work's bookkeeping
    (sorting the mappers' dependencies, tracking each attribute's history),
    which took about a third of the web worker's CPU for a filing.
    Foreign keys come from the objects' many-to-one relationships, and the
    deal's competitors are linked as the ORM links them."""
    session = db.session()
    connection = session.connection()
    by_table: dict = {}
    for obj in objects:
        by_table.setdefault(sa_inspect(obj).mapper, []).append(obj)
    for mapper, group in by_table.items():
        rows = [_column_values(mapper, sa_inspect(obj)) for obj in group]
        keys = {frozenset(row) for row in rows}
        # One statement for the group (the ORM batches the same way), unless
        # the objects set different columns; the values go as parameters, so
        # each statement is compiled once per process.
        batches = (
            [(group, rows)]
            if len(keys) == 1
            else [([o], [r]) for o, r in zip(group, rows, strict=True)]
        )
        for objs, params in batches:
            statement, returned = _insert_statement(mapper, frozenset(params[0]))
            stored = connection.execute(statement, params[0] if len(params) == 1 else params)
            for obj, values, row in zip(objs, params, stored, strict=True):
                state = sa_inspect(obj)
                # Foreign keys set through relationships, as a flush sets them.
                for prop in mapper.column_attrs:
                    if prop.key not in state.dict and prop.columns[0].key in values:
                        state.dict[prop.key] = values[prop.columns[0].key]
                for key, value in zip(returned, row, strict=True):
                    state.dict[key] = value
        for prop in mapper.relationships:
            if prop.secondary is None:
                continue
            links = []
            for obj in group:
                for target in sa_inspect(obj).dict.get(prop.key, ()):
                    link = {}
                    for column, value in _pairs(prop, obj, target):
                        link[column.key] = value
                    links.append(link)
            if links:
                connection.execute(insert(prop.secondary), links)
    for obj in objects:
        if obj in session:
            session.expunge(obj)
    # All detached, with their keys, before any is added back: adding one
    # cascades to the others, which must not become new again.
    for obj in objects:
        make_transient_to_detached(obj)
    for obj in objects:
        if obj not in session:  # the first, a parent, brings its children
            session.add(obj)


def _column_values(mapper, state) -> dict[str, Any]:
    values = {}
    for prop in mapper.column_attrs:
        if prop.key in state.dict:
            values[prop.columns[0].key] = state.dict[prop.key]
    for prop in mapper.relationships:
        if prop.direction is MANYTOONE and prop.key in state.dict:
            target = state.dict[prop.key]
            for local, remote in prop.local_remote_pairs:
                values[local.key] = (
                    None
                    if target is None
                    else getattr(target, prop.mapper.get_property_by_column(remote).key)
                )
    return values


def _pairs(prop, obj, target):
    """(column of the link table, value) for a many-to-many link."""
    for parent_column, link_column in prop.synchronize_pairs:
        yield link_column, getattr(obj, prop.parent.get_property_by_column(parent_column).key)
    for target_column, link_column in prop.secondary_synchronize_pairs:
        yield link_column, getattr(target, prop.mapper.get_property_by_column(target_column).key)


def _commit_keeping_loaded() -> None:
    """Commit without expiring the session's objects. The caller answers with
    the debrief it just wrote: its ids and server defaults came back with the
    INSERTs, so reading it all again after the commit (a query per table)
    would only fetch what is already known."""
    session = db.session()
    expire = session.expire_on_commit
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = expire


def delete_debrief(actor: User, debrief: Debrief) -> None:
    deal = debrief.deal
    audit.record(
        actor,
        "delete",
        "debrief",
        debrief.id,
        debrief.title,
        {"content": [as_input(debrief), None]},
    )
    enqueue("debrief", debrief.id)
    # Through the collection, so the session does not delete the row twice
    # when the deal goes too.
    deal.debriefs.remove(debrief)
    # A deal typed in with its debrief goes with its last debrief; a CRM deal
    # stays, and is owed a debrief again.
    if deal.crm_id is None and not deal.debriefs:
        db.session.delete(deal)
    db.session.commit()
