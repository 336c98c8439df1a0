"""An API token's "last used" time is kept to the minute: recording it on
every request would add a database write and a commit to each API call."""

from datetime import UTC, datetime, timedelta

import time_machine
from sqlalchemy import event, select

from kb.auth.service import create_token
from kb.extensions import db
from kb.models import ApiToken


def token_writes(app) -> list[str]:
    """The UPDATEs of api_tokens sent to the database from now on."""
    writes: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("UPDATE API_TOKENS"):
            writes.append(statement)

    event.listen(db.engine, "before_cursor_execute", seen)
    return writes


def last_used(token_id: int) -> datetime | None:
    db.session.expire_all()
    return db.session.scalar(select(ApiToken.last_used_at).where(ApiToken.id == token_id))


def test_token_use_is_written_at_most_once_a_minute_and_shown_to_the_admin(
    app, client, auth, users
):
    token = create_token(users.rep, "CRM sync")
    token_id = db.session.scalar(select(ApiToken.id))
    bearer = {"Authorization": f"Bearer {token}"}
    writes = token_writes(app)
    # A whole minute, so that the page's HH:MM is exact.
    start = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)

    with time_machine.travel(start, tick=False) as clock:
        assert client.get("/api/v1/debriefs", headers=bearer).status_code == 200
        assert len(writes) == 1 and last_used(token_id) == start.replace(tzinfo=None)

        clock.shift(timedelta(seconds=10))
        assert client.get("/api/v1/debriefs", headers=bearer).status_code == 200
        assert client.get("/api/v1/search?q=price", headers=bearer).status_code == 200
        assert len(writes) == 1  # used 10 s ago: nothing written
        assert last_used(token_id) == start.replace(tzinfo=None)

        clock.shift(timedelta(seconds=61))
        assert client.get("/api/v1/debriefs", headers=bearer).status_code == 200
        assert len(writes) == 2
        used = start + timedelta(seconds=71)
        assert last_used(token_id) == used.replace(tzinfo=None)

        assert auth.login(users.admin).status_code == 302
        page = client.get(f"/admin/users/{users.rep.id}").get_data(as_text=True)
    assert used.strftime("%Y-%m-%d %H:%M") in page


def test_a_token_never_used_says_so_and_a_revoked_one_is_not_touched(app, client, auth, users):
    token = create_token(users.rep, "CRM sync")
    record = db.session.scalars(select(ApiToken)).one()
    assert auth.login(users.admin).status_code == 302
    row = client.get(f"/admin/users/{users.rep.id}").get_data(as_text=True)
    assert "Never" in row
    auth.logout()

    record.revoked_at = datetime.now(UTC).replace(tzinfo=None)
    db.session.commit()
    writes = token_writes(app)
    response = client.get("/api/v1/debriefs", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert writes == [] and last_used(record.id) is None
