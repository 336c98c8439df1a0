"""A write that another writer keeps from the database (SQLite locked past its
busy timeout here; a deadlock PostgreSQL breaks answers the same way) is told
apart from a fault of ours: 503 with Retry-After, saying nothing was saved,
for the API and for a form alike; sending it again then works."""

from sqlalchemy import select

from kb.models import Deal, Team
from tests.conftest import debrief_payload
from tests.test_api_idempotency_busy import _stored, app_config, database_url, locked  # noqa: F401


def test_an_api_write_kept_out_by_another_writer_says_send_again(client, api, users, locked):  # noqa: F811
    assert api.get(users.rep, "/api/v1/debriefs").status_code == 200
    lock, release = locked
    lock()
    busy = api.post(users.rep, "/api/v1/debriefs", json=debrief_payload())
    release()

    assert busy.status_code == 503, busy.get_data(as_text=True)
    assert busy.headers["Retry-After"] == "2"
    assert busy.json["error"] == "busy"
    assert "nothing was saved" in busy.json["message"]
    assert _stored(Deal) == 0

    again = api.post(users.rep, "/api/v1/debriefs", json=debrief_payload())
    assert again.status_code == 201
    assert _stored(Deal) == 1


def test_a_form_kept_out_by_another_writer_says_nothing_was_saved(client, auth, users, locked):  # noqa: F811
    auth.login(users.admin)
    lock, release = locked
    lock()
    busy = client.post("/admin/teams", data={"name": "North"})
    release()

    assert busy.status_code == 503
    assert busy.headers["Retry-After"] == "2"
    page = busy.get_data(as_text=True)
    assert "nothing was saved" in page and "Send it again" in page
    assert "North" not in [t.name for t in _session_teams()]

    assert client.post("/admin/teams", data={"name": "North"}).status_code == 302
    assert "North" in [t.name for t in _session_teams()]


def _session_teams():
    from kb.extensions import db

    db.session.rollback()
    return db.session.scalars(select(Team))
