"""Fixtures: a fresh database per test (SQLite, or PostgreSQL when
KB_TEST_DATABASE_URL is set), users of every role, and sign-in helpers."""

import os
import shutil
from datetime import date, timedelta

import pytest
from sqlalchemy import create_engine, inspect, make_url, text

from kb import create_app
from kb.auth.service import create_user
from kb.extensions import db
from kb.models import Competitor, CompetitorAlias, Role
from kb.seed import seed_reference_data

PASSWORD = "correct horse battery"
PG_URL = os.environ.get("KB_TEST_DATABASE_URL")


def _config(database_url: str, tmp_path) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "KB_INDEX_DIR": str(tmp_path / "index"),
        "WTF_CSRF_ENABLED": False,
        "SESSION_COOKIE_SECURE": False,
        "REMEMBER_COOKIE_SECURE": False,
        "RATELIMIT_ENABLED": False,
        "SERVER_NAME": "localhost",
    }


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory):
    """Run the real migrations once; tests start from a copy (SQLite) or a
    truncated schema (PostgreSQL)."""
    from kb.cli import init_database

    if PG_URL:
        url = _private_postgres_database(_psycopg(PG_URL))
    else:
        path = tmp_path_factory.mktemp("template") / "template.sqlite3"
        url = f"sqlite:///{path}"
    app = create_app(_config(url, tmp_path_factory.mktemp("index")))
    with app.app_context():
        init_database()
        db.engine.dispose()
    yield url
    if PG_URL:
        _drop_postgres_database(url)


def _psycopg(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def _private_postgres_database(server_url: str) -> str:
    """A database of this test run's own on the given server, so that runs
    started at the same time do not wipe each other's tables."""
    name = f"kbtest_{os.getpid()}"
    engine = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    engine.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def _drop_postgres_database(url: str) -> None:
    name = make_url(url).database
    server = make_url(_psycopg(PG_URL))
    engine = create_engine(server, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    engine.dispose()


def _reset_postgres(url: str) -> None:
    engine = create_engine(url)
    tables = [t for t in inspect(engine).get_table_names() if t != "alembic_version"]
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def database_url(migrated_database, tmp_path):
    if PG_URL:
        _reset_postgres(migrated_database)
        return migrated_database
    path = tmp_path / "kb.sqlite3"
    shutil.copy(migrated_database.removeprefix("sqlite:///"), path)
    return f"sqlite:///{path}"


@pytest.fixture
def app_config(database_url, tmp_path) -> dict:
    """Override keys here (in a test module's own fixture) before `app` is built."""
    return _config(database_url, tmp_path)


@pytest.fixture
def app(app_config):
    app = create_app(app_config)
    with app.app_context():
        seed_reference_data()
        _seed_competitors()
        yield app
        db.session.remove()
        db.engine.dispose()


def _seed_competitors() -> None:
    for name, aliases in {
        "Acme": ["ACME Corp"],
        "Globex": [],
        "Salesforce": ["SFDC"],
    }.items():
        competitor = Competitor(name=name)
        competitor.aliases = [CompetitorAlias(alias=a, key=a.lower()) for a in aliases]
        db.session.add(competitor)
    db.session.commit()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


class Users:
    """Everyone the permission rules distinguish between."""

    def __init__(self):
        self.rep = create_user("rep@example.com", PASSWORD, Role.REP, "Rita Rep", "East")
        self.peer = create_user("peer@example.com", PASSWORD, Role.REP, "Pete Peer", "East")
        self.west_rep = create_user("west@example.com", PASSWORD, Role.REP, "Wes West", "West")
        self.manager = create_user(
            "manager@example.com", PASSWORD, Role.MANAGER, "Mona Manager", "East"
        )
        self.west_manager = create_user(
            "westmanager@example.com", PASSWORD, Role.MANAGER, "Walt Westman", "West"
        )
        self.marketing = create_user("marketing@example.com", PASSWORD, Role.MARKETING, "Mae Mkt")
        self.admin = create_user("admin@example.com", PASSWORD, Role.ADMIN, "Ada Admin")


@pytest.fixture
def users(app) -> Users:
    return Users()


class Auth:
    def __init__(self, client):
        self.client = client

    def login(self, user_or_email, password: str = PASSWORD):
        email = getattr(user_or_email, "email", user_or_email)
        return self.client.post("/login", data={"email": email, "password": password})

    def logout(self):
        return self.client.post("/logout")


@pytest.fixture
def auth(client) -> Auth:
    return Auth(client)


def debrief_payload(**overrides) -> dict:
    """A valid API payload for a submitted rep debrief of a lost deal."""
    payload = {
        "source": "rep",
        "status": "submitted",
        "deal": {
            "name": "Initech renewal",
            "account": "Initech",
            "amount": 48000,
            "currency": "USD",
            "close_date": (date.today() - timedelta(days=10)).isoformat(),
            "outcome": "lost",
            "segment": "Enterprise",
            "region": "EMEA",
            "competitors": ["Acme"],
            "winner": "Acme",
        },
        "reasons": [
            {
                "category": "price.total-cost",
                "direction": "hurt",
                "primary": True,
                "explanation": "Acme bundled implementation at no cost.",
                "competitor": "Acme",
            },
            {
                "category": "product.integrations",
                "direction": "helped",
                "explanation": "Our SAP connector impressed their IT team.",
            },
        ],
        "quotes": [{"text": "Your pricing was simply too high.", "speaker_role": "CFO"}],
        "decision_process": "Three-vendor bake-off run by procurement.",
        "competitive_notes": "Acme discounted 30% in the final week.",
        "what_worked": "Early security review with their CISO.",
        "lessons_learned": "Build the ROI case before procurement gets involved.",
        "scores": {"product_fit": 4, "value_for_money": 2},
    }
    for key, value in overrides.items():
        if key == "deal":
            payload["deal"] = {**payload["deal"], **value}
        else:
            payload[key] = value
    return payload


@pytest.fixture
def make_debrief(app):
    """File a debrief through the service, as `author`."""
    from kb.debriefs import service

    def make(author, **overrides):
        return service.save_debrief(author, service.parse(debrief_payload(**overrides)))

    return make


@pytest.fixture
def api(client, app):
    """Call the API with a bearer token for a user."""
    from kb.auth.service import create_token

    class Api:
        def __init__(self):
            self._tokens = {}

        def _headers(self, user):
            if user.id not in self._tokens:
                self._tokens[user.id] = create_token(user)
            return {"Authorization": f"Bearer {self._tokens[user.id]}"}

        def get(self, user, url, **kw):
            return client.get(url, headers=self._headers(user), **kw)

        def post(self, user, url, json=None, **kw):
            return client.post(url, json=json, headers=self._headers(user), **kw)

        def patch(self, user, url, json=None, **kw):
            return client.patch(url, json=json, headers=self._headers(user), **kw)

        def delete(self, user, url, **kw):
            return client.delete(url, headers=self._headers(user), **kw)

    return Api()


def pytest_sessionfinish(session, exitstatus):
    """In CI a skipped test hides a missing browser or database: fail the run."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if os.environ.get("CI") and skipped and session.exitstatus == 0:
        reporter.write_line(f"CI: {len(skipped)} test(s) skipped; failing the run.", red=True)
        session.exitstatus = 1
