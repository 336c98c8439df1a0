"""Users and API tokens."""

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import bindparam, func, or_, select, update

from kb import audit
from kb.extensions import db
from kb.loaded import columns, execute, loaded
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


def _token_user_statement():
    tokens, users = ApiToken.__table__, User.__table__
    return (
        select(
            tokens.c.id.label("token_id"),
            tokens.c.last_used_at.label("token_last_used_at"),
            *columns(User, "user_"),
        )
        .join_from(tokens, users, tokens.c.user_id == users.c.id)
        .where(tokens.c.token_hash == bindparam("token_hash"), tokens.c.revoked_at.is_(None))
    )


# Every API request asks: the token and its user's columns in one plain
# SELECT, read afresh each time, so that a revoked token, a deactivated user
# or a changed role counts from the very next request, on every worker.
_TOKEN_USER = _token_user_statement()


def user_for_token(token: str) -> User | None:
    row = execute(_TOKEN_USER, {"token_hash": _hash_token(token)}).mappings().first()
    if row is None or not row["user_active"]:
        return None
    _note_use(row["token_id"], row["token_last_used_at"])
    return loaded(User, row, "user_")


def _note_use(token_id: int, last_used_at: datetime | None) -> None:
    """Record that the token was used now, unless that was already recorded
    within TOKEN_USE_RESOLUTION: most requests write and commit nothing. The
    condition is repeated in the UPDATE, so of several workers that see a
    stale time at once only the first writes."""
    now = datetime.now(UTC).replace(tzinfo=None)
    stale = now - TOKEN_USE_RESOLUTION
    if last_used_at is not None and last_used_at > stale:
        return
    db.session.execute(
        update(ApiToken)
        .where(
            ApiToken.id == token_id,
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
