"""Idempotency-Key on SQLite while another process holds the database's
write lock for longer than SQLite waits: a clear 409, nothing stored, and
the same request with the same key is stored once the lock is released.
Runs on SQLite in both runs (PostgreSQL does not refuse a write that waits)."""

import sqlite3

import pytest
from flask import Flask
from sqlalchemy import func, make_url, select

from kb import create_app
from kb.cli import init_database
from kb.extensions import db
from kb.models import Deal, IdempotencyKey
from tests.conftest import PG_URL, _config
from tests.test_api_deals import deal_body
from tests.test_api_idempotency import post

# How long a write waits for SQLite's lock before it is refused (5 s unless set).
BUSY_TIMEOUT = 0.2


@pytest.fixture
def database_url(database_url, tmp_path):
    if not PG_URL:
        return database_url
    url = f"sqlite:///{tmp_path / 'busy.sqlite3'}"
    app = create_app(_config(url, tmp_path))
    with app.app_context():
        init_database()
        db.engine.dispose()
    return url


@pytest.fixture
def app_config(app_config) -> dict:
    return {**app_config, "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"timeout": BUSY_TIMEOUT}}}


@pytest.fixture
def locked(app: Flask):
    """Take SQLite's write lock from another connection, as another process's
    long write would; call the result to release it."""
    path = make_url(app.config["SQLALCHEMY_DATABASE_URI"]).database
    other = sqlite3.connect(path, isolation_level=None)

    def lock() -> None:
        other.execute("BEGIN IMMEDIATE")

    yield lock, lambda: other.execute("ROLLBACK")
    other.close()


def _stored(model) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


def test_a_keyed_request_refused_by_a_busy_database_may_be_sent_again(client, api, users, locked):
    assert api.get(users.manager, "/api/v1/deals").status_code == 200  # signed in
    lock, release = locked
    lock()
    busy = post(client, api, users.manager, "/api/v1/deals", deal_body(), "busy")
    release()

    assert busy.status_code == 409, busy.get_data(as_text=True)
    assert busy.json["error"] == "write_conflict"
    assert "nothing of it was stored" in busy.json["message"]
    assert "same Idempotency-Key" in busy.json["message"]
    assert _stored(Deal) == 0 and _stored(IdempotencyKey) == 0

    again = post(client, api, users.manager, "/api/v1/deals", deal_body(), "busy")
    assert again.status_code == 201 and "Idempotent-Replayed" not in again.headers
    assert _stored(Deal) == 1
