"""Users and API tokens."""

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import joinedload

from kb import audit
from kb.extensions import db
from kb.models import ApiToken, Role, Team, User
from kb.models.users import check_unknown_password
from kb.validation import ValidationFailed

MIN_PASSWORD_LENGTH = 10
TOKEN_PREFIX = "kb_"  # noqa: S105  (a marker that makes leaked tokens easy to spot)
# How stale a token's "last used" time may get: writing it on every request
# would cost a database write and commit per API call (half of a search).
TOKEN_USE_RESOLUTION = timedelta(seconds=60)


def user_count() -> int:
    return db.session.scalar(select(func.count()).select_from(User)) or 0


def find_user(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def authenticate(email: str, password: str) -> User | None:
    """The active user with this e-mail address and password, or None. A
    password is checked either way, so the answer takes as long whether the
    account exists or not."""
    user = find_user(email)
    if user is None or not user.active:
        check_unknown_password(password)
        return None
    return user if user.check_password(password) else None


def get_or_create_team(name: str) -> Team:
    team = db.session.scalar(select(Team).where(func.lower(Team.name) == name.strip().lower()))
    if team is None:
        team = Team(name=name.strip())
        db.session.add(team)
    return team


def create_user(
    email: str,
    password: str | None,
    role: Role,
    name: str = "",
    team: str | None = None,
    actor: User | None = None,
) -> User:
    errors = {}
    email = email.strip()
    if "@" not in email or len(email) > 254:
        errors["email"] = "Enter a valid e-mail address."
    elif find_user(email):
        errors["email"] = "A user with this e-mail address already exists."
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        errors["password"] = f"Use at least {MIN_PASSWORD_LENGTH} characters."
    if errors:
        raise ValidationFailed(errors)
    user = User(email=email, name=name.strip() or email.split("@")[0], role=role)
    if team:
        user.team = get_or_create_team(team)
    if password is not None:
        user.set_password(password)
    db.session.add(user)
    db.session.flush()
    audit.record(actor, "create", "user", user.id, f"{user.email} ({role.value})")
    db.session.commit()
    return user


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(user: User, name: str = "") -> str:
    """A new bearer token for `user`. The token is shown once; only its hash is kept."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    record = ApiToken(user=user, name=name, token_hash=_hash_token(token), prefix=token[:10])
    db.session.add(record)
    db.session.flush()
    audit.record(user, "create", "api_token", record.id, f"token {record.prefix}… {name}".strip())
    db.session.commit()
    return token


def user_for_token(token: str) -> User | None:
    # The token and its user in one query: every API request asks.
    record = db.session.scalar(
        select(ApiToken)
        .options(joinedload(ApiToken.user))
        .where(ApiToken.token_hash == _hash_token(token), ApiToken.revoked_at.is_(None))
    )
    if record is None or not record.user.active:
        return None
    _note_use(record)
    return record.user


def _note_use(record: ApiToken) -> None:
    """Record that the token was used now, unless that was already recorded
    within TOKEN_USE_RESOLUTION: most requests write and commit nothing. The
    condition is repeated in the UPDATE, so of several workers that see a
    stale time at once only the first writes."""
    now = datetime.now(UTC).replace(tzinfo=None)
    stale = now - TOKEN_USE_RESOLUTION
    if record.last_used_at is not None and record.last_used_at > stale:
        return
    db.session.execute(
        update(ApiToken)
        .where(
            ApiToken.id == record.id,
            or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at <= stale),
        )
        .values(last_used_at=now)
    )
    db.session.commit()


def revoke_token(actor: User, token: ApiToken) -> bool:
    """Stop `token` from working. False when it was already revoked."""
    if token.revoked_at is not None:
        return False
    token.revoked_at = datetime.now(UTC).replace(tzinfo=None)
    audit.record(
        actor,
        "revoke",
        "api_token",
        token.id,
        f"token {token.prefix}… of {token.user.email}",
        {"revoked_at": [None, token.revoked_at.isoformat(timespec="seconds")]},
    )
    db.session.commit()
    return True
