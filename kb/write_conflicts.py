"""Database errors that mean "another writer was in the way", not "this
request is wrong": PostgreSQL ending a transaction to break a deadlock or a
serialization failure, and SQLite staying locked by another writer for the
whole busy timeout. Sending the same thing again can succeed."""

from sqlalchemy.exc import OperationalError

DEADLOCK_SQLSTATES = {"40P01", "40001"}  # deadlock_detected, serialization_failure
# SQLite's SQLITE_BUSY and SQLITE_LOCKED (primary codes).
SQLITE_BUSY_CODES = {5, 6}


def deadlocked(exc: BaseException) -> bool:
    return (
        isinstance(exc, OperationalError)
        and getattr(exc.orig, "sqlstate", None) in DEADLOCK_SQLSTATES
    )


def busy(exc: BaseException) -> bool:
    code = getattr(getattr(exc, "orig", None), "sqlite_errorcode", None)
    return (
        isinstance(exc, OperationalError) and code is not None and code & 0xFF in SQLITE_BUSY_CODES
    )


def write_conflict(exc: BaseException) -> bool:
    return deadlocked(exc) or busy(exc)
