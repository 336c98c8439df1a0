"""Sessions a person can end one at a time: each sign-in is a row, and the
session cookie names it. Signing out deletes this browser's row, so a copy
of its cookie stops working while the same person's other browsers stay
signed in; "sign out everywhere else" ends the others too."""

import hashlib
import secrets
from datetime import UTC, datetime

from flask import request
from flask_login import login_user
from sqlalchemy import delete, select

from kb.extensions import db
from kb.models import SignIn, User


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def sign_in(user: User) -> None:
    """Start a sign-in for this browser and put it in the session (commits).
    The user's sign-ins that a new password ended are cleared on the way."""
    db.session.execute(
        delete(SignIn).where(SignIn.user_id == user.id, SignIn.version != user.session_version)
    )
    key = secrets.token_urlsafe(24)
    db.session.add(
        SignIn(
            key_hash=_hash(key),
            user_id=user.id,
            version=user.session_version or 0,
            started_at=datetime.now(UTC).replace(tzinfo=None),
            user_agent=(request.user_agent.string or "")[:200],
        )
    )
    db.session.commit()
    user.sign_in_key = key
    login_user(user)


def load(user_id: int, version: int, key: str) -> User | None:
    """The user of a live sign-in, in one query."""
    user = db.session.scalar(
        select(User)
        .join(SignIn, SignIn.user_id == User.id)
        .where(
            User.id == user_id,
            User.session_version == version,
            SignIn.key_hash == _hash(key),
            SignIn.version == version,
        )
    )
    if user is not None:
        user.sign_in_key = key
    return user


def end_this(user: User) -> None:
    """End this browser's session only (the caller commits). A session
    started before sign-ins were recorded has no row: then every session of
    the user ends, as signing out did then."""
    if user.sign_in_key:
        db.session.execute(delete(SignIn).where(SignIn.key_hash == _hash(user.sign_in_key)))
    else:
        user.end_sessions()


def end_one(user: User, key_hash: str) -> bool:
    """End one of the user's other sessions; False if there is none by that key."""
    result = db.session.execute(
        delete(SignIn).where(SignIn.user_id == user.id, SignIn.key_hash == key_hash)
    )
    db.session.commit()
    return bool(result.rowcount)


def end_all_others(user: User) -> None:
    """Every other session of the user ends, those started before sign-ins
    were recorded included; this browser stays signed in on a new one."""
    user.end_sessions()
    sign_in(user)


def live(user: User) -> list[SignIn]:
    """The user's sessions, newest first."""
    return list(
        db.session.scalars(
            select(SignIn)
            .where(SignIn.user_id == user.id, SignIn.version == (user.session_version or 0))
            .order_by(SignIn.started_at.desc())
        )
    )


def is_current(user: User, sign_in_row: SignIn) -> bool:
    return bool(user.sign_in_key) and sign_in_row.key_hash == _hash(user.sign_in_key)
