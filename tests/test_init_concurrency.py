"""`kb init` started by several processes at once on one empty PostgreSQL
database (the web and indexer containers of compose.yaml, or machines starting
together): all of them succeed, and the schema is created once."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

from tests.conftest import PG_URL

pytestmark = pytest.mark.postgresql

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def empty_database():
    server = make_url(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    name = f"kbtest_init_race_{os.getpid()}"
    engine = create_engine(server, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    yield server.set(database=name).render_as_string(hide_password=False)
    with engine.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    engine.dispose()


def test_several_kb_init_at_once_on_an_empty_database_all_succeed(empty_database, tmp_path):
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "KB_DATABASE_URL": empty_database,
        "KB_SECRET_KEY": "test",
        "KB_INDEX_DIR": str(tmp_path / "index"),
    }
    runs = [
        subprocess.Popen(  # noqa: S603  (this very program)
            [sys.executable, "-c", "from kb.cli import main; main()", "init"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(3)
    ]
    outputs = [run.communicate(timeout=300)[0] for run in runs]
    for run, output in zip(runs, outputs, strict=True):
        assert run.returncode == 0, output[-3000:]
        assert "Database ready at schema" in output
    engine = create_engine(empty_database)
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM alembic_version")) == 1
    engine.dispose()
