"""The audit trail: every create, edit and delete, with who, when and what changed."""

from typing import Any

from sqlalchemy import insert

from kb.extensions import db
from kb.models import AuditEntry, User


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """Fields whose value differs, as {field: [before, after]}; nested dicts are
    compared field by field ("deal.amount")."""
    changes: dict[str, list[Any]] = {}
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if isinstance(old, dict) and isinstance(new, dict):
            for sub, pair in diff(old, new).items():
                changes[f"{key}.{sub}"] = pair
        elif old != new:
            changes[key] = [old, new]
    return changes


def record(
    actor: User | None,
    action: str,
    entity_type: str,
    entity_id: int,
    summary: str = "",
    changes: dict[str, list[Any]] | None = None,
) -> AuditEntry:
    entry = AuditEntry(
        user_id=actor.id if actor else None,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        summary=summary[:300],
        changes=changes or {},
    )
    db.session.add(entry)
    return entry


def record_now(
    actor: User | None,
    action: str,
    entity_type: str,
    entity_id: int,
    summary: str = "",
    changes: dict[str, list[Any]] | None = None,
) -> None:
    """record(), written at once in one INSERT on the session's connection, in
    its transaction: for a write path that needs no AuditEntry object back
    and would otherwise pay a second unit-of-work flush for this one row."""
    db.session.connection().execute(
        _INSERT,
        {
            "user_id": actor.id if actor else None,
            "action": action,
            "entity_type": entity_type,
            "entity_id": entity_id,
            "summary": summary[:300],
            "changes": changes or {},
        },
    )


_INSERT = insert(AuditEntry.__table__)
