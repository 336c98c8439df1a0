"""The Idempotency-Key header on the API's creating POSTs.

A client that times out or crashes after sending a debrief, a deal or a
practice cannot tell whether it was stored. Sending the same request again
with the same key returns the first answer (status, body and Location)
instead of storing a duplicate. The same key with a different request is
refused; keys are each user's own and are forgotten after KEEP.

The answer is committed in the same transaction as the writes it describes,
so a process that dies at any point leaves either both or neither: a retry
gets the first answer, or runs as if it were the first request.

Every request with a key claims it before its view locks anything, also
when the view rolls back and tries again after losing a race for a CRM id,
so a retry waiting for the key never holds a lock the first request needs.
A request PostgreSQL ends to break a deadlock anyway runs once more; one
that still cannot write, or that waited too long for SQLite's lock, is
answered 409, nothing of it stored."""

import contextlib
import functools
import hashlib
from datetime import UTC, datetime, timedelta

from flask import Response, current_app, request
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from kb.api import ApiError, api_user
from kb.extensions import db
from kb.models import IdempotencyKey
from kb.write_conflicts import busy, deadlocked

HEADER = "Idempotency-Key"
KEEP = timedelta(hours=24)
# A claim without an answer younger than this may still be being answered.
LEASE = timedelta(seconds=60)
MAX_KEY_LENGTH = 255
# Expired keys are deleted in bulk at most this often per process; one found
# expired in between is deleted when it is looked up.
FORGET_EVERY = timedelta(minutes=1)
_forgotten_at: datetime | None = None
# Runs of a request PostgreSQL ended to break a deadlock or a serialization
# failure: the second waits for the transaction that won.
ATTEMPTS = 2


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
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return _answer_once(view, args, kwargs, user_id, key, request_hash)
            except OperationalError as exc:
                db.session.rollback()
                if deadlocked(exc) and attempt < ATTEMPTS:
                    continue
                if deadlocked(exc):
                    raise _not_stored(
                        "collided with other requests writing the same records"
                    ) from exc
                if busy(exc):
                    raise _not_stored("waited too long for another write to the database") from exc
                raise
        raise AssertionError("unreachable")

    return wrapper


def _answer_once(view, args, kwargs, user_id: int, key: str, request_hash: str) -> Response:
    _forget_expired_now_and_then()
    if (entry := _current(user_id, key)) is not None:
        return _answer(entry, request_hash)
    # Claim the key before doing the work: a concurrent retry waits on this
    # row and then finds it, rather than storing the request twice.
    session = db.session()
    held = _HeldCommits(session, user_id, key, request_hash)
    try:
        held.claim()
    except IntegrityError:
        db.session.rollback()
        return _answer_stored(user_id, key, request_hash)
    try:
        with _commits_held(session, held):
            response = current_app.make_response(view(*args, **kwargs))
    except _Superseded:
        # A retry claimed the key while this request's view rolled back, and
        # has answered: its answer is this request's answer.
        db.session.rollback()
        return _answer_stored(user_id, key, request_hash)
    except Exception:
        # Refused or failed: the claim goes with the rest, so the same
        # request may be sent again.
        db.session.rollback()
        raise
    if response.status_code >= 500:
        _forget_claim(held.entry, commit=held.asked)
        return response
    return _commit_with_answer(response, held.entry)


def _not_stored(why: str) -> ApiError:
    return ApiError(
        409,
        "write_conflict",
        f"This request {why}, and nothing of it was stored: send it again with the same {HEADER}.",
    )


class _Superseded(Exception):
    """Another request with this key claimed it while this one's view had
    rolled back, and was answered first."""


class _HeldCommits:
    def __init__(self, session: Session, user_id: int, key: str, request_hash: str):
        self.session, self.user_id, self.key = session, user_id, key
        self.request_hash = request_hash
        self.asked = False  # whether the view asked to commit
        self.entry: IdempotencyKey | None = None

    def claim(self) -> None:
        self.entry = IdempotencyKey(
            user_id=self.user_id, key=self.key, request_hash=self.request_hash
        )
        self.session.add(self.entry)
        self.session.flush()


@contextlib.contextmanager
def _commits_held(session: Session, held: _HeldCommits):
    """Turn the view's commits into flushes, for the wrapper to commit its
    writes and their answer together: a process that dies after the commit
    leaves the answer stored, and one that dies before it leaves nothing, so
    a retry never finds writes without their answer.

    The view's rollbacks (a race for a CRM id lost and tried again) still roll
    back, taking the claim with them, and the key is claimed again at once,
    before the view takes any other lock: were it claimed only with the
    answer, this request would wait for the key while holding the rows its
    view locked, and a retry that had claimed the key meanwhile would wait for
    those rows, a deadlock. If the retry claimed it first, this request waits
    for the retry's answer and gives it."""
    rollback = session.rollback

    def flush_instead() -> None:
        held.asked = True
        session.flush()

    def claim_again() -> None:
        rollback()
        held.asked = False
        try:
            held.claim()
        except IntegrityError:
            rollback()
            raise _Superseded() from None

    session.commit = flush_instead
    session.rollback = claim_again
    try:
        yield held
    finally:
        del session.commit
        del session.rollback


def _commit_with_answer(response: Response, claim: IdempotencyKey) -> Response:
    claim.status = response.status_code
    claim.body = response.get_data(as_text=True)
    claim.location = response.headers.get("Location")
    db.session.commit()
    return response


def _forget_claim(claim: IdempotencyKey, commit: bool) -> None:
    """A failure the view answered itself (5xx) is not remembered, so that
    the request may be sent again; what the view committed stays."""
    db.session.delete(claim)
    if commit:
        db.session.commit()
    else:
        db.session.rollback()
