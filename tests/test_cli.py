"""The `kb` commands: init, create-user and token create."""

import hashlib

import pytest
from sqlalchemy import func, inspect, select

from kb import create_app
from kb.auth.service import find_user
from kb.extensions import db
from kb.models import ApiToken, AuditEntry, Choice, ReasonCategory, Role, Team, User

GOOD_PASSWORD = "a sturdy passphrase"


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


# ---------------------------------------------------------------- create-user


def test_create_user(runner, client, auth):
    result = runner.invoke(
        args=[
            "create-user",
            "Mona@Example.com",
            "--role",
            "manager",
            "--team",
            "East",
            "--name",
            "Mona Manager",
            "--password-stdin",
        ],
        input=f"{GOOD_PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    assert "Created Mona@Example.com (manager)." in result.output
    user = find_user("mona@example.com")
    assert user.role == Role.MANAGER and user.team.name == "East"
    assert user.name == "Mona Manager"
    assert GOOD_PASSWORD not in user.password_hash and user.check_password(GOOD_PASSWORD)
    # The new user can sign in with that password.
    assert auth.login("mona@example.com", GOOD_PASSWORD).status_code == 302
    assert "Mona Manager" in client.get("/").text


def test_create_user_defaults_to_rep_and_joins_an_existing_team(runner, users):
    teams_before = count(Team)
    result = runner.invoke(
        args=["create-user", "newrep@example.com", "--team", "east", "--password-stdin"],
        input=f"{GOOD_PASSWORD}\r\n",
    )
    assert result.exit_code == 0, result.output
    user = find_user("newrep@example.com")
    assert user.role == Role.REP and user.name == "newrep"
    assert user.team_id == users.rep.team_id  # "east" is the existing team East
    assert count(Team) == teams_before
    assert user.check_password(GOOD_PASSWORD)  # the line ending is not part of it


@pytest.mark.parametrize(
    ("args", "password", "message"),
    [
        (["rep@example.com"], GOOD_PASSWORD, "already exists"),
        (["REP@example.com"], GOOD_PASSWORD, "already exists"),
        (["short@example.com"], "short", "at least 10 characters"),
        (["short@example.com"], "", "at least 10 characters"),
        (["not-an-email"], GOOD_PASSWORD, "valid e-mail"),
        (["x@example.com", "--role", "superuser"], GOOD_PASSWORD, "superuser"),
    ],
    ids=[
        "duplicate",
        "duplicate in other case",
        "short password",
        "empty password",
        "bad e-mail",
        "unknown role",
    ],
)
def test_create_user_errors(runner, users, args, password, message):
    before = count(User)
    result = runner.invoke(args=["create-user", *args, "--password-stdin"], input=f"{password}\n")
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
    assert count(User) == before


def test_create_user_asks_twice_for_the_password(runner, monkeypatch):
    answers = iter([GOOD_PASSWORD, "something else"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    result = runner.invoke(args=["create-user", "typo@example.com"])
    assert result.exit_code != 0 and "The passwords differ." in result.output
    assert find_user("typo@example.com") is None

    answers = iter([GOOD_PASSWORD, GOOD_PASSWORD])
    result = runner.invoke(args=["create-user", "typo@example.com"])
    assert result.exit_code == 0, result.output
    assert find_user("typo@example.com").check_password(GOOD_PASSWORD)


def test_create_user_is_audited(runner):
    runner.invoke(
        args=["create-user", "a@example.com", "--role", "admin", "--password-stdin"],
        input=f"{GOOD_PASSWORD}\n",
    )
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.entity_type == "user")).one()
    assert entry.action == "create" and "a@example.com (admin)" in entry.summary


# ---------------------------------------------------------------- init


def head_revision() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from kb import MIGRATIONS_DIR

    config = Config()
    config.set_main_option("script_location", MIGRATIONS_DIR)
    return ScriptDirectory.from_config(config).get_current_head()


def test_init_is_idempotent(runner, users, make_debrief):
    make_debrief(users.rep)
    before = {model: count(model) for model in (ReasonCategory, Choice, User)}
    for _ in range(2):
        result = runner.invoke(args=["init"])
        assert result.exit_code == 0, result.output
        assert f"Database ready at schema {head_revision()}." in result.output
        db.session.expire_all()
        assert {model: count(model) for model in before} == before
    assert find_user("rep@example.com").check_password("correct horse battery")


def test_init_keeps_an_admins_changes_to_the_taxonomy(runner):
    category = db.session.scalars(
        select(ReasonCategory).where(ReasonCategory.slug == "price")
    ).one()
    category.name = "Pricing"
    db.session.add(Choice(kind="segment", value="Strategic", position=9))
    db.session.commit()
    assert runner.invoke(args=["init"]).exit_code == 0
    db.session.expire_all()
    assert db.session.get(ReasonCategory, category.id).name == "Pricing"
    assert db.session.scalars(select(Choice).where(Choice.value == "Strategic")).one()


def test_init_creates_a_new_database_from_nothing(tmp_path, app_config):
    """A fresh SQLite file: init builds the schema and the default taxonomy;
    a second init changes nothing."""
    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    fresh = create_app({**app_config, "SQLALCHEMY_DATABASE_URI": url})
    runner = fresh.test_cli_runner()
    with fresh.app_context():
        try:
            first = runner.invoke(args=["init"])
            assert first.exit_code == 0, first.output
            tables = set(inspect(db.engine).get_table_names())
            assert {"users", "deals", "debriefs", "reasons", "quotes", "audit_log"} <= tables
            categories = count(ReasonCategory)
            assert categories > 20
            assert db.session.scalars(
                select(ReasonCategory).where(ReasonCategory.slug == "price.total-cost")
            ).one()
            second = runner.invoke(args=["init"])
            assert second.exit_code == 0 and count(ReasonCategory) == categories
            assert f"schema {head_revision()}" in second.output
        finally:
            db.session.remove()
            db.engine.dispose()


# ---------------------------------------------------------------- token create


def test_token_create_prints_a_working_token_and_stores_only_its_hash(runner, client, users):
    result = runner.invoke(args=["token", "create", "rep@example.com", "--name", "CRM sync"])
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    assert token.startswith("kb_") and len(token) > 30 and "\n" not in token

    response = client.get("/api/v1/debriefs", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert (
        client.get("/api/v1/debriefs", headers={"Authorization": f"Bearer {token}x"}).status_code
        == 401
    )

    record = db.session.scalars(select(ApiToken)).one()
    assert record.user_id == users.rep.id and record.name == "CRM sync"
    assert record.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert record.last_used_at is not None
    # Nowhere in the token's row, nor in the audit log, is the token itself.
    for column in ApiToken.__table__.columns:
        assert token not in str(getattr(record, column.key)), column.key
    for entry in db.session.scalars(select(AuditEntry)):
        assert token not in f"{entry.summary} {entry.changes}"


def test_each_token_is_new(runner, users):
    tokens = {
        runner.invoke(args=["token", "create", "rep@example.com"]).output.strip() for _ in range(3)
    }
    assert len(tokens) == 3 and count(ApiToken) == 3


def test_token_create_for_an_unknown_user(runner, users):
    result = runner.invoke(args=["token", "create", "ghost@example.com"])
    assert result.exit_code != 0
    assert "No user ghost@example.com." in result.output
    assert count(ApiToken) == 0


def test_demo_leaves_the_search_index_up_to_date(app, runner):
    from kb import search

    result = runner.invoke(
        args=["demo", "--debriefs", "30", "--seed", "5", "--as-of", "2026-06-30"]
    )
    assert result.exit_code == 0, result.output
    # The debriefs and the demo's 7 practices.
    assert "Search index: 37 documents, lag 0." in result.output
    assert search.index_status()["documents"] == 37
