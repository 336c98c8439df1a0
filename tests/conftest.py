"""Fixtures: a pinned clock, a fresh database per test (SQLite, or PostgreSQL
when KB_TEST_DATABASE_URL is set), users of every role, and sign-in helpers."""

import contextvars
import functools
import os
import shutil
import sqlite3
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from flask import has_app_context
from flask.testing import FlaskClient
from sqlalchemy import Engine, create_engine, event, func, inspect, make_url, select, text
from sqlalchemy.orm.attributes import set_committed_value

import kb.models.users
from kb import create_app
from kb.auth.service import create_user
from kb.extensions import db
from kb.models import (
    AuditEntry,
    Competitor,
    CompetitorAlias,
    Deal,
    Debrief,
    IndexChange,
    Quote,
    Reason,
    Role,
)
from kb.seed import seed_reference_data

# Browser fixtures (live_server, browser_page) for every test module that asks for them.
pytest_plugins = ("tests.browser",)

PASSWORD = "correct horse battery"
PG_URL = os.environ.get("KB_TEST_DATABASE_URL")
# The suite's "today" unless --today says otherwise: a fixed instant, so that a
# test passing today passes tomorrow. CI runs the suite again at a moved date.
DEFAULT_TODAY = "2026-11-30T10:00"


def pytest_addoption(parser):
    parser.addoption(
        "--today",
        default=DEFAULT_TODAY,
        metavar="YYYY-MM-DD[THH:MM[:SS]]",
        help=f"the date and UTC time the whole run starts at (default {DEFAULT_TODAY})",
    )


def _pinned_start(config) -> datetime:
    value = config.getoption("--today")
    try:
        start = datetime.fromisoformat(value)
    except ValueError:
        raise pytest.UsageError(f"--today {value!r} is not a date like {DEFAULT_TODAY}") from None
    return start.replace(tzinfo=start.tzinfo or UTC)


def pytest_report_header(config):
    return f"today: {_pinned_start(config).isoformat()} (--today)"


@pytest.fixture(scope="session", autouse=True)
def _pinned_clock(pytestconfig):
    """Move the process's clock to --today for the whole run. It ticks, so
    sleeps, timeouts and waits still work; every thread sees it, including the
    browser tests' live server. A value a module computed from the clock at
    import time is the real date, so it disagrees here and the test fails."""
    with time_machine.travel(_pinned_start(pytestconfig), tick=True):
        yield


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
    """Empty every table and restart the id sequences. DELETE is far quicker
    than TRUNCATE on tables this small."""
    engine = create_engine(url)
    with engine.begin() as conn:
        for table in reversed(db.metadata.sorted_tables):
            conn.execute(table.delete())
        sequences = conn.execute(
            text("SELECT sequence_name FROM information_schema.sequences")
        ).scalars()
        for name in sequences:
            conn.execute(text(f'ALTER SEQUENCE "{name}" RESTART WITH 1'))
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


class ServerLikeClient(FlaskClient):
    """A test client whose requests run as a real server runs them: each in its
    own app context, so with its own `g` and its own database session, which
    is closed (and anything it did not commit rolled back) when the request
    ends. The test's session is committed first, as the live server does, so
    that what the test set up is in the database; afterwards the test reads
    its objects afresh, so it sees what the request stored, not what it held."""

    def open(self, *args, **kwargs):
        if not has_app_context():
            return super().open(*args, **kwargs)
        session = db.session()
        session.expire_on_commit = False
        try:
            session.commit()
        finally:
            session.expire_on_commit = True
        # An empty context: no app context of the test's for the request to join.
        context = contextvars.Context()
        kwargs.setdefault("buffered", True)
        response = context.run(super().open, *args, **kwargs)
        if response.is_streamed:
            # A download the test reads piece by piece: each piece in the request's context.
            response.response = _InContext(context, response.response)
        _read_afresh(session)
        return response


class _InContext:
    """A streamed response body whose pieces are made in the request's context."""

    def __init__(self, context: contextvars.Context, body):
        self._context, self._body, self._pieces = context, body, None

    def __iter__(self):
        self._pieces = self._context.run(iter, self._body)
        return self

    def __next__(self):
        if self._pieces is None:
            iter(self)
        return self._context.run(next, self._pieces)

    def close(self) -> None:
        if hasattr(self._body, "close"):
            self._context.run(self._body.close)


def _read_afresh(session) -> None:
    """Expire everything the test's session holds but primary keys, and let go
    of the objects whose rows a request deleted: they keep their ids, and
    `session.get` finds nothing, as a fresh session would."""
    for obj in list(session.identity_map.values()):
        state = inspect(obj)
        mapper = state.mapper
        pk = dict(zip(mapper.primary_key, state.identity, strict=True))
        row = select(func.count()).select_from(mapper.local_table)
        keys = {mapper.get_property_by_column(column).key for column in pk}
        if not session.scalar(row.where(*[column == value for column, value in pk.items()])):
            for column, value in pk.items():
                set_committed_value(obj, mapper.get_property_by_column(column).key, value)
            session.expunge(obj)
            continue
        session.expire(obj, [a.key for a in mapper.attrs if a.key not in keys])


@pytest.fixture
def app(app_config):
    app = create_app(app_config)
    app.test_client_class = ServerLikeClient
    with app.app_context():
        seed_reference_data()
        _seed_competitors()
        yield app
        db.session.remove()
        db.engine.dispose()


@event.listens_for(Engine, "connect")
def _sqlite_without_fsync(dbapi_connection, connection_record) -> None:
    """Test databases need not survive a power cut: skip SQLite's fsync on
    every commit, which otherwise takes most of the suite's time."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.execute("PRAGMA synchronous=OFF")


@pytest.fixture(scope="session", autouse=True)
def _hash_each_password_once():
    """Werkzeug's scrypt takes ~0.1 s per hash or check and every test creates
    seven users: compute each (salted, real) hash and check once per run."""
    patch = pytest.MonkeyPatch()
    for name in ("generate_password_hash", "check_password_hash"):
        patch.setattr(kb.models.users, name, functools.cache(getattr(kb.models.users, name)))
    yield
    patch.undo()


@pytest.fixture
def uncached_password_hashing(monkeypatch):
    """Werkzeug's own hashing, for a test of what the cache above would hide."""
    for name in ("generate_password_hash", "check_password_hash"):
        monkeypatch.setattr(kb.models.users, name, getattr(kb.models.users, name).__wrapped__)


def row_counts() -> dict[str, int]:
    """Rows in the tables a debrief write touches: equal before and after a
    refused request shows that nothing was stored."""
    return {
        model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
        for model in (Debrief, Deal, Reason, Quote, AuditEntry, IndexChange)
    }


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


def pytest_collection_modifyitems(config, items):
    """Tests marked `postgresql` need a PostgreSQL server: without
    KB_TEST_DATABASE_URL they are deselected (the run against PostgreSQL has
    them), not skipped, so that a skip in CI still means something is missing.
    Tests marked `container` build images for minutes: they run only when
    KB_CHECK_CONTAINERS=1 asks for them (.ci/run does, once)."""
    unwanted = set()
    if not PG_URL:
        unwanted.add("postgresql")
    if os.environ.get("KB_CHECK_CONTAINERS") != "1":
        unwanted.add("container")
    wanted = [item for item in items if not any(item.get_closest_marker(m) for m in unwanted)]
    if len(wanted) < len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in wanted])
        items[:] = wanted


def pytest_sessionfinish(session, exitstatus):
    """In CI a skipped test hides a missing browser or database: fail the run."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if os.environ.get("CI") and skipped and session.exitstatus == 0:
        reporter.write_line(f"CI: {len(skipped)} test(s) skipped; failing the run.", red=True)
        session.exitstatus = 1
