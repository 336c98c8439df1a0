"""What a person sees when a save fails on the server: the error page, not a
traceback, and nothing half-stored. Test mode passes exceptions through to
the test; here they are handled as on a real server."""

import pytest
from sqlalchemy import text

from kb.extensions import db
from tests.conftest import debrief_payload, row_counts
from tests.test_debrief_form import valid_form


@pytest.fixture
def app_config(app_config):
    return {**app_config, "PROPAGATE_EXCEPTIONS": False}


def rename_audit_log(old: str, new: str) -> None:
    db.session.execute(text(f"ALTER TABLE {old} RENAME TO {new}"))
    db.session.commit()


def test_a_failed_save_shows_the_error_page(client, auth, api, users):
    auth.login(users.rep)
    api.get(users.rep, "/api/v1/debriefs")  # its token is made before the failures below
    before = row_counts()
    # Every save writes the audit log: without its table, each save fails.
    rename_audit_log("audit_log", "audit_log_away")
    try:
        response = client.post("/debriefs/new", data={**valid_form(), "action": "submit"})
        assert response.status_code == 500
        page = response.get_data(as_text=True)
        assert "<h1>Something went wrong</h1>" in page
        assert 'class="topbar"' in page  # the site's layout, with a way back
        assert "Traceback" not in page and "audit_log" not in page

        response = api.post(users.rep, "/api/v1/debriefs", json=debrief_payload())
        assert response.status_code == 500
        assert response.json["error"] == "something_went_wrong"
        assert "audit_log" not in response.get_data(as_text=True)
    finally:
        db.session.rollback()
        rename_audit_log("audit_log_away", "audit_log")
    assert row_counts() == before
