"""GET /healthz: database reachable, at which schema version."""

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory

from kb import MIGRATIONS_DIR, create_app


def head_revision() -> str:
    config = Config()
    config.set_main_option("script_location", MIGRATIONS_DIR)
    return ScriptDirectory.from_config(config).get_current_head()


def test_healthz_reports_the_database_and_schema(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.is_json
    body = response.json
    assert body["status"] == "ok"
    assert body["database"] == {"ok": True, "schema_version": head_revision()}


def test_healthz_needs_no_sign_in_and_no_user(client):
    # No user exists yet: every page sends people to /setup, but not this one.
    assert client.get("/").headers["Location"] == "/setup"
    assert client.get("/healthz").status_code == 200


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:////nonexistent-directory/kb.sqlite3",
        "postgresql+psycopg://kb@127.0.0.1:1/kb?connect_timeout=2",
    ],
    ids=["sqlite file that cannot be opened", "postgresql server that is not there"],
)
def test_healthz_is_503_when_the_database_is_unreachable(app_config, url):
    app = create_app({**app_config, "SQLALCHEMY_DATABASE_URI": url})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    body = response.json
    assert body["status"] == "error"
    assert body["database"]["ok"] is False
    assert body["database"]["error"] == "OperationalError"
    # The report names the kind of failure, not connection details.
    assert "127.0.0.1" not in response.text and "nonexistent" not in response.text


def test_healthz_is_503_when_a_probe_fails(app):
    app.extensions["kb_health_probes"] = [lambda: ("index", {"ok": False, "lag": 12})]
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["index"] == {"ok": False, "lag": 12}
    assert response.json["database"]["ok"] is True
