"""`kb backup` and `kb restore`: a dump that survives a move between
databases (SQLite and PostgreSQL) and gives back the same searches."""

import gzip
import hashlib
import json
import os
from datetime import date

import pytest
from sqlalchemy import create_engine, func, make_url, select, text

from kb import create_app, search
from kb.auth.service import create_user
from kb.backup import table_counts
from kb.cli import init_database
from kb.demo.generator import generate
from kb.exports.rows import export_viewer
from kb.extensions import db
from kb.models import Choice, Debrief, ReasonCategory, Role, User
from tests.conftest import PG_URL, _drop_postgres_database, _psycopg

ANCHOR = date(2026, 6, 30)
QUERIES = ["pricing", "onboarding support", "integration", "competitor:Acme", ""]
needs_postgres = pytest.mark.postgresql


@pytest.fixture
def make_app(tmp_path):
    """Apps on new, empty databases of either kind; PostgreSQL ones are dropped after."""
    created = []

    def make(kind: str, name: str):
        if kind == "postgresql":
            url = _private_postgres_database_named(f"kb{name}")
            created.append(url)
        else:
            url = f"sqlite:///{tmp_path / f'{name}.sqlite3'}"
        return create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "test-secret",
                "SQLALCHEMY_DATABASE_URI": url,
                "KB_INDEX_DIR": str(tmp_path / f"{name}-index"),
            }
        )

    yield make
    for url in created:
        _drop_postgres_database(url)


def _private_postgres_database_named(prefix: str) -> str:
    name = f"{prefix}_{os.getpid()}"
    engine = create_engine(_psycopg(PG_URL), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    engine.dispose()
    return make_url(_psycopg(PG_URL)).set(database=name).render_as_string(hide_password=False)


def _fill(app) -> None:
    with app.app_context():
        init_database()
        generate(30, seed=3, echo=None, anchor=ANCHOR)
        search.catch_up()
        db.session.remove()


def _searches() -> list[tuple[str, int, list[int]]]:
    viewer = export_viewer()
    results = []
    for q in QUERIES:
        result = search.search(viewer, {"q": q, "sort": "relevance", "per_page": 50})
        assert not result.warnings, result.warnings
        results.append((q, result.total, [hit.id for hit in result.hits]))
    return results


def _state(app) -> tuple[dict, list]:
    with app.app_context():
        state = table_counts(), _searches()
        db.session.remove()
        db.engine.dispose()
        return state


def _cli(app, *args, input=None):
    return app.test_cli_runner().invoke(args=list(args), input=input)


@pytest.mark.parametrize(
    "source_kind, target_kind",
    [
        ("sqlite", "sqlite"),
        pytest.param("sqlite", "postgresql", marks=needs_postgres),
        pytest.param("postgresql", "sqlite", marks=needs_postgres),
    ],
)
def test_backup_then_restore_gives_the_same_rows_and_searches(
    make_app, tmp_path, source_kind, target_kind
):
    source = make_app(source_kind, "source")
    _fill(source)
    before = _state(source)
    assert before[0]["debriefs"] > 0 and sum(total for _, total, _ in before[1]) > 0

    dump = tmp_path / "kb-backup.jsonl.gz"
    result = _cli(source, "backup", str(dump))
    assert result.exit_code == 0, result.output
    assert f"Wrote {dump}" in result.output

    # The target is a new database: restore creates its schema, then indexes.
    target = make_app(target_kind, "target")
    result = _cli(target, "restore", str(dump))
    assert result.exit_code == 0, result.output
    assert "Restored" in result.output and "Indexed" in result.output
    assert _state(target) == before

    # New rows get new ids after the restored ones (PostgreSQL's sequences moved on).
    with target.app_context():
        highest = db.session.scalar(select(func.max(User.id)))
        user = create_user("after@example.com", "a long password", Role.REP, "After", None)
        assert user.id > highest
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def dump(make_app, tmp_path):
    source = make_app("sqlite", "source")
    _fill(source)
    path = tmp_path / "kb-backup.jsonl"
    assert _cli(source, "backup", str(path)).exit_code == 0
    return path


@pytest.fixture
def initialised(make_app):
    """A database after `kb init`: the default taxonomy and nothing else."""
    target = make_app("sqlite", "target")
    with target.app_context():
        init_database()
        db.session.remove()
    return target


def _rows(app) -> dict:
    with app.app_context():
        counts = table_counts()
        db.session.remove()
        return counts


def test_restore_into_a_database_after_kb_init(dump, initialised):
    """The container runs `kb init` on start: its default taxonomy is not
    "data" and is replaced by the backup's."""
    result = _cli(initialised, "restore", str(dump))
    assert result.exit_code == 0, result.output
    with initialised.app_context():
        assert db.session.scalar(select(func.count()).select_from(Debrief)) > 0
        assert db.session.scalar(select(func.count()).select_from(ReasonCategory)) > 0
        assert db.session.scalar(select(func.count()).select_from(Choice)) > 0


def test_restore_refuses_a_database_in_use_unless_forced(dump, initialised):
    with initialised.app_context():
        create_user("someone@example.com", "a long password", Role.ADMIN, "Someone", None)
        db.session.remove()
    before = _rows(initialised)

    result = _cli(initialised, "restore", str(dump))
    assert result.exit_code == 1
    assert "already holds data (in users, audit_log)" in result.output
    assert "--force" in result.output and "Nothing was changed." in result.output
    assert _rows(initialised) == before

    result = _cli(initialised, "restore", str(dump), "--force")
    assert result.exit_code == 0, result.output
    with initialised.app_context():
        assert db.session.scalar(select(User.id).where(User.email == "someone@example.com")) is None
        assert db.session.scalar(select(func.count()).select_from(Debrief)) == 30


def _damage_cases(dump):
    lines = dump.read_text().splitlines(keepends=True)
    middle = len(lines) // 2
    altered = lines[middle].replace("1", "2", 1) if "1" in lines[middle] else lines[middle] + " "
    return {
        "cut short": ("".join(lines[:middle]), "incomplete"),
        "cut mid-line": ("".join(lines)[: len("".join(lines)) - 40], "not valid JSON"),
        "altered": ("".join(lines[:middle] + [altered] + lines[middle + 1 :]), "checksum"),
        "not a backup": ("id,name\n1,East\n", "not valid JSON"),
        "empty": ("", "is empty"),
    }


@pytest.mark.parametrize("case", ["cut short", "cut mid-line", "altered", "not a backup", "empty"])
def test_a_damaged_file_is_refused_and_nothing_is_written(dump, initialised, tmp_path, case):
    text, message = _damage_cases(dump)[case]
    damaged = tmp_path / "damaged.jsonl"
    damaged.write_text(text)
    before = _rows(initialised)

    result = _cli(initialised, "restore", str(damaged))
    assert result.exit_code == 1
    assert message in result.output and "Nothing was changed." in result.output
    assert _rows(initialised) == before


def test_a_cut_off_compressed_file_is_refused(dump, initialised, tmp_path):
    packed = gzip.compress(dump.read_bytes())
    damaged = tmp_path / "damaged.jsonl.gz"
    damaged.write_bytes(packed[: len(packed) // 2])
    before = _rows(initialised)

    result = _cli(initialised, "restore", str(damaged))
    assert result.exit_code == 1
    assert "cannot be read" in result.output
    assert _rows(initialised) == before


def test_a_backup_from_a_newer_schema_is_refused(dump, initialised, tmp_path):
    lines = dump.read_text().splitlines(keepends=True)
    header = json.loads(lines[0])
    header["schema"] = "0099_future"
    lines[0] = json.dumps(header) + "\n"
    end = json.loads(lines[-1])
    end["sha256"] = hashlib.sha256("".join(lines[:-1]).encode()).hexdigest()
    lines[-1] = json.dumps(end) + "\n"
    newer = tmp_path / "newer.jsonl"
    newer.write_text("".join(lines))
    before = _rows(initialised)

    result = _cli(initialised, "restore", str(newer))
    assert result.exit_code == 1
    assert "taken at schema 0099_future, which this version of kb does not know" in result.output
    assert "upgrade kb, then restore" in result.output
    assert _rows(initialised) == before


def test_backup_of_a_database_without_schema_is_refused(make_app, tmp_path):
    empty = make_app("sqlite", "empty")
    result = _cli(empty, "backup", str(tmp_path / "out.jsonl"))
    assert result.exit_code == 1
    assert "no schema yet; run `kb init` first" in result.output
