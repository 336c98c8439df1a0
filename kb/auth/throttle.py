"""The sign-in rate limit (KB_LOGIN_RATE_LIMIT, e.g. "10 per minute" per
client address), counted where every worker and machine sees the same count.

By default the attempts are rows in the database's login_attempts table, so
a PostgreSQL deployment needs no other service. KB_RATELIMIT_STORAGE_URL
moves the count to Redis (redis://host:6379), or, for a single process only,
to memory (memory://).

An attempt is recorded first and counted afterwards, so simultaneous attempts
from one address can never pass the limit together; at worst, during such a
burst, one that would just have fitted is refused too.
"""

from datetime import UTC, datetime, timedelta
from typing import Protocol

from flask import Flask, current_app, request
from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy import delete, func, select

from kb.extensions import db
from kb.models.users import LoginAttempt

EXTENSION = "kb_login_throttle"
NAMESPACE = "kb-login"


class Throttle(Protocol):
    def allow(self, client: str) -> bool:
        """Count an attempt from `client`; False when it is over the limit."""


class TableThrottle:
    def __init__(self, limit: RateLimitItem):
        self.limit = limit
        self.window = timedelta(seconds=limit.get_expiry())

    def allow(self, client: str) -> bool:
        now = datetime.now(UTC).replace(tzinfo=None)
        since = now - self.window
        # Attempts that no longer count, from anyone: the table stays small.
        db.session.execute(delete(LoginAttempt).where(LoginAttempt.at <= since))
        attempt = LoginAttempt(client=client, at=now)
        db.session.add(attempt)
        db.session.commit()
        counted = db.session.scalar(
            select(func.count())
            .select_from(LoginAttempt)
            .where(LoginAttempt.client == client, LoginAttempt.at > since)
        )
        if counted <= self.limit.amount:
            return True
        # A refused attempt does not count, as with the Redis moving window:
        # whoever waits out the window may try again.
        db.session.execute(delete(LoginAttempt).where(LoginAttempt.id == attempt.id))
        db.session.commit()
        return False


class StorageThrottle:
    """Redis (or memory) through the `limits` library: its moving window
    counts and checks in one atomic step."""

    def __init__(self, limit: RateLimitItem, url: str):
        self.limit = limit
        self.limiter = MovingWindowRateLimiter(storage_from_string(url))

    def allow(self, client: str) -> bool:
        return self.limiter.hit(self.limit, NAMESPACE, client)


def make_throttle(config) -> Throttle:
    """The throttle the config asks for; a clear error for a bad limit or URL."""
    try:
        limit = parse(config["KB_LOGIN_RATE_LIMIT"])
    except ValueError:
        raise ValueError(
            f"KB_LOGIN_RATE_LIMIT={config['KB_LOGIN_RATE_LIMIT']!r}: "
            "write it as, for example, '10 per minute'."
        ) from None
    url = config.get("KB_RATELIMIT_STORAGE_URL") or ""
    if not url:
        return TableThrottle(limit)
    try:
        return StorageThrottle(limit, url)
    except Exception as exc:
        raise ValueError(f"KB_RATELIMIT_STORAGE_URL={url!r}: {exc}") from None


def _throttle(app: Flask) -> Throttle:
    throttle = app.extensions.get(EXTENSION)
    if throttle is None:
        throttle = app.extensions[EXTENSION] = make_throttle(app.config)
    return throttle


def allow_login_attempt() -> bool:
    """Count this request's sign-in attempt; False when its address is over the limit."""
    app = current_app._get_current_object()
    if not app.config.get("RATELIMIT_ENABLED", True):
        return True
    return _throttle(app).allow(request.remote_addr or "unknown")
