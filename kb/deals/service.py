"""Storing deals from a CRM: the one path the CSV import and the API share.

upsert_deal finds a deal by its CRM id, validates everything first with the
debriefs' deal schema and resolution (raising ValidationFailed, storing
nothing), then writes the deal, its audit entry and a search outbox entry for
each of its debriefs (the index copies deal facts into every debrief), all in
the caller's transaction.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from kb import audit
from kb.auth.service import find_user
from kb.deals.crm_import import Issue, Parsed, RowResult
from kb.debriefs.schemas import DealIn
from kb.debriefs.service import Resolved, deal_as_input, resolve_deal_facts
from kb.extensions import db
from kb.lookups import canonical_choice, find_competitor
from kb.models import Competitor, Deal, User
from kb.models.lookups import CHOICE_KINDS
from kb.search.outbox import enqueue, enqueue_deal_practices
from kb.validation import ValidationFailed, field_errors

PREVIEW_ROWS = 20
_ABSENT = object()


@dataclass
class DealChange:
    deal: Deal
    action: str  # "create", "update" or "unchanged"
    warnings: dict[str, str] = field(default_factory=dict)


# Deals read per query when an import looks up its file's CRM ids.
DEAL_BATCH = 500


class Lookups:
    """Users, competitors and list values by name, each looked up once: an
    import of thousands of rows names the same few again and again. Deals by
    CRM id, for an import, read in batches before its rows are stored."""

    def __init__(self) -> None:
        # An import's new deals not yet flushed: inserted a batch at a time.
        self.created: list | None = None
        self._deals: dict[str, Deal | None] = {}
        self._by_email: dict[str, User | None] = {}
        self._by_name: dict[str, list[User]] = {}
        self._competitors: dict[str, Competitor | None] = {}
        self._choices: dict[tuple[str, str], str | None] = {}

    def user_by_email(self, email: str) -> User | None:
        key = email.strip().lower()
        if key not in self._by_email:
            self._by_email[key] = find_user(key)
        return self._by_email[key]

    def users_named(self, name: str) -> list[User]:
        key = " ".join(name.split()).lower()
        if key not in self._by_name:
            self._by_name[key] = list(
                db.session.scalars(select(User).where(func.lower(User.name) == key))
            )
        return self._by_name[key]

    def competitor(self, name: str) -> Competitor | None:
        key = name.strip().lower()
        if key not in self._competitors:
            self._competitors[key] = find_competitor(key)
        return self._competitors[key]

    def prefetch_deals(self, crm_ids: list[str]) -> None:
        """Read (and, on PostgreSQL, lock) the stored deals with these CRM
        ids, a batch per query; the others are known to be new."""
        wanted = [c for c in dict.fromkeys(crm_ids) if c not in self._deals]
        for start in range(0, len(wanted), DEAL_BATCH):
            batch = wanted[start : start + DEAL_BATCH]
            self._deals.update(dict.fromkeys(batch))
            stmt = (
                select(Deal)
                .where(Deal.crm_id.in_(batch))
                .options(
                    selectinload(Deal.competitors),
                    selectinload(Deal.owner),
                    selectinload(Deal.debriefs),
                )
                .with_for_update(of=Deal)
            )
            self._deals.update((deal.crm_id, deal) for deal in db.session.scalars(stmt))

    def deal(self, crm_id: str, lock: bool = False) -> Deal | None:
        if crm_id not in self._deals:
            return find_deal(crm_id, lock=lock)
        return self._deals[crm_id]

    def stored(self, deal: Deal) -> None:
        if deal.crm_id in self._deals:
            self._deals[deal.crm_id] = deal

    def choice(self, kind: str, value: str) -> str | None:
        key = (kind, value.strip().lower())
        if key not in self._choices:
            self._choices[key] = canonical_choice(kind, value)
        return self._choices[key]


def find_deal(crm_id: str, lock: bool = False) -> Deal | None:
    stmt = select(Deal).where(Deal.crm_id == crm_id)
    return db.session.scalar(stmt.with_for_update(of=Deal) if lock else stmt)


def snapshot(deal: Deal) -> dict[str, Any]:
    """The deal as the audit trail compares it."""
    facts = deal_as_input(deal)
    facts["competitors"] = sorted(facts["competitors"])
    facts["owner"] = deal.owner.email if deal.owner else None
    return facts


def _crm_id(value: Any, errors: dict[str, str]) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        errors["crm_id"] = "This field is required: the deal's id in your CRM."
        return None
    if len(value.strip()) > 64:
        errors["crm_id"] = "Keep this to 64 characters or fewer."
        return None
    return value.strip()


def _soften(body: dict, existing: Deal | None, lookups: Lookups, warnings: dict) -> None:
    """For an import: list values and competitors nobody set up are warnings
    and left out, and a file's competitors join those already recorded."""
    for kind in CHOICE_KINDS:
        if isinstance(value := body.get(kind), str) and value.strip():
            listed = lookups.choice(kind, value)
            if listed is None:
                label = kind.replace("_", " ")
                warnings[kind] = f"Unknown {label} '{value}', left out; an admin can add it."
                del body[kind]
            else:
                body[kind] = listed
    if isinstance(body.get("competitors"), list):
        names = [c.name for c in existing.competitors] if existing else []
        unknown = []
        for name in body["competitors"]:
            competitor = lookups.competitor(name)
            if competitor is None:
                unknown.append(f"'{name}'")
            elif competitor.name not in names:
                names.append(competitor.name)
        if unknown:
            noun = "competitor" if len(unknown) == 1 else "competitors"
            warnings["competitors"] = f"Unknown {noun} {', '.join(unknown)}, left out."
        body["competitors"] = names


def _owner(
    email: Any, name: Any, existing: Deal | None, lookups: Lookups, errors: dict, warnings: dict
) -> Any:
    """The owner to set, or _ABSENT to leave it as it is. An owner nobody can
    match is a warning: the deal is stored, keeping the owner it had (or none)."""
    kept = "the deal keeps its owner" if existing else "the deal is stored without an owner"
    if email is not _ABSENT:
        if email is None or email == "":
            return None
        if not isinstance(email, str):
            errors["owner_email"] = "Enter an e-mail address."
            return _ABSENT
        user = lookups.user_by_email(email)
        if user is None:
            warnings["owner_email"] = f"No user has the e-mail address {email}; {kept}."
            return _ABSENT
        return user
    if isinstance(name, str) and name.strip():
        users = lookups.users_named(name)
        if len(users) == 1:
            return users[0]
        problem = "Several users are named" if users else "No user is named"
        warnings["owner_name"] = f"{problem} '{name}'; {kept}."
    return _ABSENT


def _validate(
    body: dict, existing: Deal | None, errors: dict[str, str], lookups: "Lookups"
) -> Resolved | None:
    merged = {**deal_as_input(existing), **body} if existing else dict(body)
    if existing and str(merged.get("outcome")) == "won" and "winner" not in body:
        merged["winner"] = None  # a deal that turned into a win has no other winner
    try:
        facts = DealIn.model_validate(merged)
    except ValidationError as exc:
        errors.update(field_errors(exc))
        return None
    found = Resolved()
    resolve_deal_facts(facts, existing, found, lookups)
    errors.update({key.removeprefix("deal."): message for key, message in found.errors.items()})
    return found


def _write(actor, crm_id, existing, found, owner, via, created=None) -> tuple[Deal, str]:
    """Store the deal. A new one is flushed and audited at once, or, given a
    `created` list (an import's), left for record_created to do in a batch."""
    before = snapshot(existing) if existing is not None else None
    deal = existing if existing is not None else Deal()
    if existing is None:
        db.session.add(deal)
    found.deal_fields["competitors"].sort(key=lambda c: c.name)
    for key, value in found.deal_fields.items():
        setattr(deal, key, value)
    if owner is not _ABSENT:
        deal.owner = owner
    summary = f"{deal.name} (CRM {crm_id})" + (f" · {via}" if via else "")
    if before is None:
        if created is not None:
            created.append((actor, deal, summary))
        else:
            db.session.flush()
            audit.record(actor, "create", "deal", deal.id, summary)
        return deal, "create"
    changes = audit.diff(before, snapshot(deal))
    if not changes:
        return deal, "unchanged"
    audit.record(actor, "update", "deal", deal.id, summary, changes)
    db.session.flush()
    if debrief_ids := [d.id for d in deal.debriefs]:
        enqueue("debrief", *debrief_ids)
    enqueue_deal_practices([deal.id])
    return deal, "update"


def record_created(created: list) -> None:
    """Insert the deals an import created since the last call, in one flush,
    and audit each."""
    if not created:
        return
    db.session.flush()
    for actor, deal, summary in created:
        audit.record(actor, "create", "deal", deal.id, summary)
    created.clear()


# Tries a call that commits gets when other writers of the same CRM id keep
# beating it; each lost race means a committed row the next try will find.
ATTEMPTS = 4


class _Raced(Exception):
    """Another transaction stored this CRM id after this one looked for it."""


def upsert_deal(
    actor: User | None,
    values: Any,
    *,
    lenient: bool = False,
    commit: bool = True,
    lookups: Lookups | None = None,
    via: str = "",
) -> DealChange:
    """Create the deal with `values["crm_id"]`, or update it. Fields left out
    keep their stored values; "owner_email" (or, for a file that only names
    owners, "owner_name") picks the owner. `lenient` is the import's mode:
    unknown list values and competitors are warnings instead of errors, and
    competitors are added to the deal's rather than replacing them.

    With `commit`, a request that loses a race with another creating the same
    deal rolls back and tries again, finding the winner's row to update."""
    if not isinstance(values, dict):
        raise ValidationFailed({"__root__": "Send a JSON object describing the deal."})
    if not commit:
        return _upsert(actor, values, lenient, lookups or Lookups(), via)
    for attempt in range(1, ATTEMPTS + 1):
        try:
            change = _upsert(actor, values, lenient, Lookups(), via)
            db.session.commit()
            return change
        except (IntegrityError, _Raced):
            db.session.rollback()
            if attempt == ATTEMPTS:
                raise
        except Exception:
            db.session.rollback()
            raise
    raise AssertionError("unreachable")


def _upsert(actor, values: dict, lenient: bool, lookups: Lookups, via: str) -> DealChange:
    body = dict(values)
    email, name = body.pop("owner_email", _ABSENT), body.pop("owner_name", _ABSENT)
    errors: dict[str, str] = {}
    warnings: dict[str, str] = {}
    crm_id = _crm_id(body.get("crm_id"), errors)
    # Locked, so that two requests updating one deal take turns (each sees the
    # competitors the other stored) instead of racing on its rows.
    existing = lookups.deal(crm_id, lock=True) if crm_id else None
    if crm_id:
        body["crm_id"] = crm_id
    if lenient:
        _soften(body, existing, lookups, warnings)
    found = _validate(body, existing, errors, lookups)
    owner = _owner(email, name, existing, lookups, errors, warnings)
    if existing is None and "crm_id" in errors and crm_id and find_deal(crm_id):
        raise _Raced()
    if errors or found is None:
        raise ValidationFailed(errors)
    if lookups.created is None:
        deal, action = _write(actor, crm_id, existing, found, owner, via)
    else:
        deal, action = _write(actor, crm_id, existing, found, owner, via, lookups.created)
    lookups.stored(deal)
    return DealChange(deal, action, warnings)


# --- the CSV import ----------------------------------------------------------


@dataclass
class RowOutcome:
    result: RowResult
    action: str  # "create", "update", "unchanged", "skip" or "error"
    stored: dict[str, Any] | None = None  # the deal as stored, for the preview


@dataclass
class ImportReport:
    dry_run: bool
    rows: list[RowOutcome] = field(default_factory=list)
    previewed: int = 0  # rows given a preview so far

    def count(self, action: str) -> int:
        return sum(1 for row in self.rows if row.action == action)

    @property
    def counts(self) -> dict[str, int]:
        return {
            "created": self.count("create"),
            "updated": self.count("update"),
            "unchanged": self.count("unchanged"),
            "skipped": self.count("skip"),
            "errors": self.count("error"),
        }

    def summary(self) -> str:
        counts = self.counts
        return ("Dry run, nothing stored. " if self.dry_run else "") + (
            f"Created {counts['created']}, updated {counts['updated']}, "
            f"unchanged {counts['unchanged']}, skipped {counts['skipped']}, "
            f"errors {counts['errors']}."
        )

    def problems(self) -> list[str]:
        """Every row error, then every warning, one line each."""
        lines = [f"Row {r.row_number}: {issue}" for r in self.failed for issue in r.errors]
        lines += [f"Row {r.row_number}: warning: {w}" for r in self.warned for w in r.warnings]
        return lines

    @property
    def failed(self) -> list[RowResult]:
        return [row.result for row in self.rows if row.action == "error"]

    @property
    def warned(self) -> list[RowResult]:
        return [row.result for row in self.rows if row.result.warnings]

    @property
    def preview(self) -> list[RowOutcome]:
        return [row for row in self.rows if row.stored is not None]


def _stored(deal: Deal) -> dict[str, Any]:
    facts = deal_as_input(deal)
    facts["owner"] = deal.owner.display_name if deal.owner else None
    return facts


def _issues(errors: dict[str, str], columns: dict[str, str]) -> list[Issue]:
    return [Issue(columns.get(key.split(".")[0], ""), message) for key, message in errors.items()]


def import_rows(
    actor: User | None,
    parsed: Parsed,
    *,
    dry_run: bool,
    source: str = "",
    progress: Callable[[int], Any] | None = None,
) -> ImportReport:
    """Store every good row of `parsed` in one transaction, or, for a dry
    run, do all of it and roll it back. A row's errors and warnings from the
    database checks join those found reading the file."""
    report = ImportReport(dry_run=dry_run)
    lookups = Lookups()
    lookups.created = []
    lookups.prefetch_deals(
        [row.values["crm_id"] for row in parsed.rows if row.values and row.values.get("crm_id")]
    )
    via = f"import {source}".strip()
    try:
        for result in parsed.rows:
            report.rows.append(_import_row(actor, result, parsed.columns, lookups, via, report))
            if len(lookups.created) >= DEAL_BATCH:
                record_created(lookups.created)
            if progress is not None:
                progress(1)
        record_created(lookups.created)
        if dry_run:
            db.session.rollback()
        else:
            db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return report


def _import_row(actor, result, columns, lookups, via, report) -> RowOutcome:
    if result.skipped:
        return RowOutcome(result, "skip")
    if result.errors or result.values is None:
        return RowOutcome(result, "error")
    try:
        change = upsert_deal(
            actor, result.values, lenient=True, commit=False, lookups=lookups, via=via
        )
    except ValidationFailed as exc:
        result.errors.extend(_issues(exc.errors, columns))
        result.values = None
        return RowOutcome(result, "error")
    result.warnings.extend(_issues(change.warnings, columns))
    stored = None
    if report.previewed < PREVIEW_ROWS:
        stored, report.previewed = _stored(change.deal), report.previewed + 1
    return RowOutcome(result, change.action, stored)
