"""The Idempotency-Key header on the API's creating POSTs.

A client that times out or crashes after sending a debrief, a deal or a
practice cannot tell whether it was stored. Sending the same request again
with the same key returns the first answer (status, body and Location)
instead of storing a duplicate. The same key with a different request is
refused; keys are each user's own and are forgotten after KEEP.

The answer is committed in the same transaction as the writes it describes,
so a process that dies at any point leaves either both or neither: a retry
gets the first answer, or runs as if it were the first request."""

import contextlib
import functools
import hashlib
from datetime import UTC, datetime, timedelta

from flask import Response, current_app, request
from sqlalchemy import delete, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kb.api import ApiError, api_user
from kb.extensions import db
from kb.models import IdempotencyKey

HEADER = "Idempotency-Key"
KEEP = timedelta(hours=24)
# A claim without an answer younger than this may still be being answered.
LEASE = timedelta(seconds=60)
MAX_KEY_LENGTH = 255
# Expired keys are deleted in bulk at most this often per process; one found
# expired in between is deleted when it is looked up.
FORGET_EVERY = timedelta(minutes=1)
_forgotten_at: datetime | None = None


def _request_hash() -> str:
    digest = hashlib.sha256(f"{request.method} {request.path}\n".encode())
    digest.update(request.get_data(cache=True))
    return digest.hexdigest()


def _key() -> str | None:
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not key.strip() or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise ApiError(
            400,
            "invalid_idempotency_key",
            f"'{HEADER}' must be 1 to {MAX_KEY_LENGTH} printable characters, "
            "e.g. a UUID generated for each new request.",
        )
    return key


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _stored(user_id: int, key: str) -> IdempotencyKey | None:
    return db.session.scalar(
        select(IdempotencyKey).where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
    )


def _current(user_id: int, key: str) -> IdempotencyKey | None:
    """The stored answer for this key, unless it has expired (then it is
    deleted, in the caller's transaction, so the key can be claimed again)."""
    entry = _stored(user_id, key)
    if entry is not None and entry.created_at < _now() - KEEP:
        db.session.delete(entry)
        db.session.flush()
        return None
    return entry


def _answer(entry: IdempotencyKey, request_hash: str) -> Response:
    if entry.request_hash != request_hash:
        raise ApiError(
            422,
            "idempotency_key_reused",
            f"This {HEADER} was sent before with a different request; "
            "use a new key for a new request.",
        )
    if entry.status is None:
        # Answers are committed with the writes they describe, so a claim
        # without one was committed by an earlier release of this module,
        # whose request was interrupted after its writes (or, for LEASE, may
        # still be finishing in a process not yet restarted).
        if entry.created_at > _now() - LEASE:
            raise ApiError(
                409,
                "request_in_progress",
                f"A request with this {HEADER} is still being answered: retry in a moment.",
            )
        raise ApiError(
            409,
            "answer_not_recorded",
            f"A request with this {HEADER} was stored at {entry.created_at:%Y-%m-%d %H:%M:%S} "
            "UTC, but it was interrupted before its answer was recorded, so where it was "
            "stored is not known: look for it before sending it again with a new key.",
        )
    headers = {"Idempotent-Replayed": "true"}
    if entry.location:
        headers["Location"] = entry.location
    return Response(entry.body, entry.status, headers, mimetype="application/json")


def _answer_stored(user_id: int, key: str, request_hash: str) -> Response:
    """The answer of the request that claimed this key first."""
    entry = _stored(user_id, key)
    if entry is None:  # stored and then forgotten since: rare enough to ask again
        raise ApiError(
            409, "request_in_progress", f"A request with this {HEADER} was just answered: retry."
        )
    return _answer(entry, request_hash)


def forget_expired(now: datetime | None = None) -> None:
    cutoff = (now or _now()) - KEEP
    db.session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < cutoff))


def _forget_expired_now_and_then() -> None:
    """Delete expired keys, unless this process did within FORGET_EVERY:
    not a DELETE with every request."""
    global _forgotten_at
    now = _now()
    if _forgotten_at is not None and _forgotten_at <= now < _forgotten_at + FORGET_EVERY:
        return
    forget_expired(now)
    _forgotten_at = now


def idempotent(view):
    """Answer a retry of `view` (same user, key and request) from the store."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        key = _key()
        if key is None:
            return view(*args, **kwargs)
        user_id, request_hash = api_user().id, _request_hash()
        _forget_expired_now_and_then()
        if (entry := _current(user_id, key)) is not None:
            return _answer(entry, request_hash)
        # Claim the key before doing the work: a concurrent retry waits on
        # this row and then finds it, rather than storing the request twice.
        claim = IdempotencyKey(user_id=user_id, key=key, request_hash=request_hash)
        db.session.add(claim)
        try:
            db.session.flush()
        except IntegrityError:
            db.session.rollback()
            return _answer_stored(user_id, key, request_hash)
        session = db.session()
        try:
            with _commits_held(session) as held:
                response = current_app.make_response(view(*args, **kwargs))
        except Exception:
            # Refused or failed: the claim goes with the rest, so the same
            # request may be sent again.
            db.session.rollback()
            raise
        if response.status_code >= 500:
            _forget_claim(claim, commit=held.asked)
            return response
        return _commit_with_answer(response, claim, user_id, key, request_hash)

    return wrapper


class _HeldCommits:
    asked = False


@contextlib.contextmanager
def _commits_held(session: Session):
    """Turn the view's commits into flushes, for the wrapper to commit its
    writes and their answer together: a process that dies after the commit
    leaves the answer stored, and one that dies before it leaves nothing, so
    a retry never finds writes without their answer. The view's rollbacks
    still roll back (a retried race), taking the claim with them."""
    held = _HeldCommits()

    def flush_instead() -> None:
        held.asked = True
        session.flush()

    session.commit = flush_instead
    try:
        yield held
    finally:
        del session.commit


def _commit_with_answer(
    response: Response, claim: IdempotencyKey, user_id: int, key: str, request_hash: str
) -> Response:
    # A view that rolled back (a retried race) took the claim with it.
    entry = claim if inspect(claim).persistent else None
    if entry is None:
        entry = IdempotencyKey(user_id=user_id, key=key, request_hash=request_hash)
        db.session.add(entry)
    entry.status = response.status_code
    entry.body = response.get_data(as_text=True)
    entry.location = response.headers.get("Location")
    try:
        db.session.commit()
    except IntegrityError:
        # The same request, sent while this one's claim was rolled back, was
        # stored first: this one's writes go, and the first answer stands.
        db.session.rollback()
        return _answer_stored(user_id, key, request_hash)
    return response


def _forget_claim(claim: IdempotencyKey, commit: bool) -> None:
    """A failure the view answered itself (5xx) is not remembered, so that
    the request may be sent again; what the view committed stays."""
    if inspect(claim).persistent:
        db.session.delete(claim)
    if commit:
        db.session.commit()
    else:
        db.session.rollback()
