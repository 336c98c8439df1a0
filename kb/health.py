"""GET /healthz: is the database reachable, and at which schema version."""

from flask import Blueprint, current_app
from sqlalchemy import inspect, text

from kb.extensions import db

bp = Blueprint("health", __name__)


def _schema_version(connection) -> str | None:
    """The Alembic revision the database is at, read directly (importing
    Alembic would cost each web worker about 11 MB)."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    versions = connection.execute(text("SELECT version_num FROM alembic_version")).scalars()
    return ",".join(sorted(versions)) or None


@bp.get("/healthz")
def healthz():
    report = {"status": "ok", "database": {"ok": False}}
    try:
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            version = _schema_version(connection)
        report["database"] = {"ok": True, "schema_version": version}
    except Exception as exc:  # the point of a health check is to report, not raise
        current_app.logger.warning("health check: database unreachable: %s", exc)
        report["status"] = "error"
        report["database"]["error"] = type(exc).__name__
    for probe in current_app.extensions.get("kb_health_probes", []):
        name, state = probe()
        report[name] = state
        if not state.get("ok", True):
            report["status"] = "error"
    return report, 200 if report["status"] == "ok" else 503
