"""Signing in and out, the first admin, rate limiting, cookies, redirects and
CSRF. This module runs with CSRF protection on, as in production: every form
is posted with the token taken from the page, unless a test leaves it out."""

import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from urllib.parse import quote, urlsplit

import pytest
from sqlalchemy import select

import kb.models.users
from kb import create_app
from kb.config import from_environment
from kb.extensions import db
from kb.models import Role, User
from kb.models.users import LoginAttempt
from tests.conftest import PASSWORD, row_counts


@pytest.fixture
def extra_config():
    """Config a test adds by parametrizing this fixture."""
    return {}


@pytest.fixture
def app_config(app_config, extra_config):
    return {**app_config, "WTF_CSRF_ENABLED": True, **extra_config}


def csrf_token(page: str) -> str:
    match = re.search(r'name="csrf_token"[^>]* value="([^"]+)"', page)
    assert match, "no CSRF token on the page"
    return match.group(1)


def login(client, email: str, password: str = PASSWORD, next_url: str = ""):
    url = "/login" + (f"?next={next_url}" if next_url else "")
    token = csrf_token(client.get(url).text)
    return client.post(url, data={"email": email, "password": password, "csrf_token": token})


def signed_in_as(client) -> str | None:
    """The name the page header shows, or None when the visitor is not signed in."""
    response = client.get("/")
    if response.status_code == 302:
        return None
    match = re.search(r'<span class="who">([^<]+?) <span class="role">', response.text)
    return match.group(1) if match else None


def error_messages(page: str) -> list[str]:
    return re.findall(r'<p class="error"[^>]*>([^<]*)</p>', page)


# ---------------------------------------------------------------- sign in and out


def test_sign_in_and_out(client, users):
    assert signed_in_as(client) is None
    response = login(client, "rep@example.com")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert signed_in_as(client) == "Rita Rep"

    token = csrf_token(client.get("/").text)
    response = client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert signed_in_as(client) is None
    assert "You are signed out." in client.get("/login").text


def test_email_is_matched_without_regard_to_case(client, users):
    assert login(client, "  Rep@Example.COM ").status_code == 302
    assert signed_in_as(client) == "Rita Rep"


@pytest.mark.parametrize(
    ("email", "password"),
    [
        ("rep@example.com", "wrong password"),
        ("nobody@example.com", PASSWORD),
        ("rep@example.com", PASSWORD.upper()),
    ],
    ids=["wrong password", "unknown e-mail", "password in the wrong case"],
)
def test_failed_sign_in_shows_one_generic_error(client, users, email, password):
    response = login(client, email, password)
    assert response.status_code == 200
    assert error_messages(response.text) == ["Wrong e-mail or password."]
    # What was typed as e-mail stays; the password does not.
    assert f'value="{email}"' in response.text
    assert password not in response.text
    assert signed_in_as(client) is None


def test_the_errors_do_not_tell_who_has_an_account(client, users):
    known = login(client, "rep@example.com", "wrong password").text
    unknown = login(client, "nobody@example.com", "wrong password").text
    assert error_messages(known) == error_messages(unknown)


def test_empty_sign_in_form(client, users):
    token = csrf_token(client.get("/login").text)
    response = client.post("/login", data={"email": "", "password": "", "csrf_token": token})
    assert response.status_code == 200
    assert error_messages(response.text) == ["This field is required."] * 2


def test_deactivated_user_cannot_sign_in(client, users):
    users.rep.active = False
    db.session.commit()
    response = login(client, "rep@example.com")
    assert error_messages(response.text) == ["Wrong e-mail or password."]
    assert signed_in_as(client) is None


def test_deactivating_a_user_ends_their_session(client, users):
    login(client, "rep@example.com")
    assert signed_in_as(client) == "Rita Rep"
    users.rep.active = False
    db.session.commit()
    assert signed_in_as(client) is None
    assert client.get("/debriefs/").status_code == 302


def test_signed_in_user_visiting_login_goes_home(client, users):
    login(client, "rep@example.com")
    response = client.get("/login")
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_logout_needs_post(client, users):
    login(client, "rep@example.com")
    assert client.get("/logout").status_code == 405
    assert signed_in_as(client) == "Rita Rep"


def test_passwords_are_stored_hashed(users, uncached_password_hashing):
    stored = db.session.get(User, users.rep.id).password_hash
    assert PASSWORD not in stored
    assert stored.startswith(("scrypt:", "pbkdf2:"))
    # Salted: the same password hashed again gives another value.
    fresh = User(email="x@example.com", name="x", role=Role.REP)
    fresh.set_password(PASSWORD)
    other = User(email="y@example.com", name="y", role=Role.REP)
    other.set_password(PASSWORD)
    assert fresh.password_hash != other.password_hash
    assert fresh.check_password(PASSWORD) and other.check_password(PASSWORD)
    assert users.rep.check_password(PASSWORD) and not users.rep.check_password("nope")


# ---------------------------------------------------------------- next


NEXT = [
    ("/debriefs/mine", "/debriefs/mine"),
    ("/debriefs/?outcome=lost", "/debriefs/?outcome=lost"),
    ("https://evil.example", "/"),
    ("https://evil.example/debriefs/", "/"),
    ("//evil.example", "/"),
    ("/\\evil.example", "/"),
    ("\\\\evil.example", "/"),
    ("javascript:alert(1)", "/"),
    ("http:evil.example", "/"),
    ("", "/"),
    # These two may land on an odd path of this site, but never elsewhere.
    ("///evil.example", None),
    ("/\t/evil.example", None),
]


def test_next_parameter_only_leads_within_the_site(app, users):
    for next_url, lands_on in NEXT:
        client = app.test_client()
        response = login(client, "rep@example.com", next_url=quote(next_url, safe=""))
        assert response.status_code == 302, next_url
        location = response.headers["Location"]
        if lands_on is not None:
            assert location == lands_on, next_url
        assert location.startswith("/") and not location.startswith("//"), next_url
        assert "\\" not in location and not urlsplit(location).netloc, next_url
        assert signed_in_as(client) == "Rita Rep"


def test_a_page_that_needs_sign_in_comes_back_after_it(client, users):
    response = client.get("/debriefs/mine")
    assert response.status_code == 302
    login_url = response.headers["Location"]
    assert login_url.startswith("/login?next=")
    token = csrf_token(client.get(login_url).text)
    response = client.post(
        login_url, data={"email": "rep@example.com", "password": PASSWORD, "csrf_token": token}
    )
    assert response.headers["Location"] == "/debriefs/mine"


# ---------------------------------------------------------------- first admin


SETUP = {
    "name": "Alex Admin",
    "email": "alex@example.com",
    "team": "HQ",
    "password": "a long enough password",
    "confirm": "a long enough password",
}


def test_first_admin_setup(client, app):
    assert client.get("/").headers["Location"] == "/setup"
    assert client.get("/login").headers["Location"] == "/setup"
    token = csrf_token(client.get("/setup").text)
    response = client.post("/setup", data={**SETUP, "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert signed_in_as(client) == "Alex Admin"
    admin = db.session.query(User).one()
    assert admin.role == Role.ADMIN and admin.team.name == "HQ"
    assert admin.password_hash and SETUP["password"] not in admin.password_hash

    # Once a user exists, the setup page is gone for everyone.
    assert client.get("/setup").headers["Location"] == "/login"
    other = app.test_client()
    assert other.get("/setup").headers["Location"] == "/login"
    response = other.post("/setup", data={**SETUP, "email": "mallory@example.com"})
    assert response.status_code in (302, 400)
    assert db.session.query(User).count() == 1


def test_setup_is_closed_once_users_exist(client, users):
    response = client.get("/setup")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    token = csrf_token(client.get("/login").text)
    response = client.post(
        "/setup", data={**SETUP, "email": "mallory@example.com", "csrf_token": token}
    )
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert db.session.query(User).filter_by(email="mallory@example.com").count() == 0


def test_setup_errors_create_nobody(client, app):
    token = csrf_token(client.get("/setup").text)
    for changes, message in [
        ({"password": "short", "confirm": "short"}, "10 and 200 characters"),
        ({"confirm": "something else entirely"}, "The passwords differ."),
        ({"email": "not-an-email"}, "email"),
        ({"name": ""}, "This field is required."),
    ]:
        response = client.post("/setup", data={**SETUP, **changes, "csrf_token": token})
        assert response.status_code == 200
        messages = error_messages(response.text)
        assert any(message.lower() in m.lower() for m in messages), (changes, messages)
        if "email" not in changes:
            assert 'value="alex@example.com"' in response.text
    assert db.session.query(User).count() == 0


# ---------------------------------------------------------------- rate limit


@pytest.mark.parametrize(
    "extra_config",
    [{"RATELIMIT_ENABLED": True, "KB_LOGIN_RATE_LIMIT": "3 per minute"}],
    ids=["3 per minute"],
)
def test_sign_in_is_rate_limited(client, users):
    for _ in range(3):
        assert login(client, "rep@example.com", "guess").status_code == 200
    response = login(client, "rep@example.com", "guess")
    assert response.status_code == 429
    assert "Too many attempts" in response.text
    # Even the right password waits until the window has passed.
    assert login(client, "rep@example.com").status_code == 429
    assert signed_in_as(client) is None
    # Showing the form is not limited.
    assert client.get("/login").status_code == 200


@pytest.mark.parametrize(
    "extra_config",
    [{"RATELIMIT_ENABLED": True, "KB_LOGIN_RATE_LIMIT": "3 per minute"}],
    ids=["3 per minute"],
)
def test_rate_limit_counts_per_client_address(app, users):
    first, second = app.test_client(), app.test_client()
    for _ in range(4):
        login(first, "rep@example.com", "guess")
    assert login(first, "rep@example.com").status_code == 429
    second.environ_base["REMOTE_ADDR"] = "10.0.0.2"
    assert login(second, "rep@example.com").status_code == 302


RATE_LIMITED = {"RATELIMIT_ENABLED": True, "KB_LOGIN_RATE_LIMIT": "3 per minute"}
REDIS_URL = "redis://127.0.0.1:6379"


@pytest.fixture
def second_worker(app_config):
    """Another app on the same database and settings: a second gunicorn worker,
    or a second machine."""
    other = create_app(app_config)
    yield other
    with other.app_context():
        db.session.remove()
        db.engine.dispose()


def attempts_from_two_workers(app, other, address: str, count: int) -> list[int]:
    """Wrong passwords from one address, alternating between the two workers."""
    clients = [app.test_client(), other.test_client()]
    for c in clients:
        c.environ_base["REMOTE_ADDR"] = address
    return [login(clients[i % 2], "rep@example.com", "guess").status_code for i in range(count)]


@pytest.mark.parametrize("extra_config", [RATE_LIMITED], ids=["database"])
def test_workers_share_the_sign_in_limit_in_the_database(app, second_worker, users):
    statuses = attempts_from_two_workers(app, second_worker, "10.0.0.7", 8)
    assert statuses == [200] * 3 + [429] * 5
    # The attempts that counted are in the database, where every worker sees them.
    rows = db.session.scalars(select(LoginAttempt)).all()
    assert [r.client for r in rows] == ["10.0.0.7"] * 3
    # Another address has its own count.
    other = second_worker.test_client()
    other.environ_base["REMOTE_ADDR"] = "10.0.0.8"
    assert login(other, "rep@example.com").status_code == 302


@pytest.mark.parametrize("extra_config", [RATE_LIMITED], ids=["database"])
def test_simultaneous_attempts_on_two_workers_never_pass_the_limit(app, second_worker, users):
    def attempt(i: int) -> int:
        worker = (app, second_worker)[i % 2]
        c = worker.test_client()
        c.environ_base["REMOTE_ADDR"] = "10.0.0.9"
        return login(c, "rep@example.com", "guess").status_code

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(attempt, range(12)))
    assert set(statuses) <= {200, 429}
    assert 1 <= statuses.count(200) <= 3


def _redis_or_skip() -> None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip(f"no Redis at {REDIS_URL}")


@pytest.mark.parametrize(
    "extra_config", [{**RATE_LIMITED, "KB_RATELIMIT_STORAGE_URL": REDIS_URL}], ids=["redis"]
)
def test_workers_share_the_sign_in_limit_in_redis(app, second_worker, users):
    _redis_or_skip()
    # Redis outlives the test: an address of this run's own starts from zero.
    address = f"fd00::{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}"
    statuses = attempts_from_two_workers(app, second_worker, address, 8)
    assert statuses == [200] * 3 + [429] * 5
    # Counted in Redis, not in the database.
    assert db.session.scalars(select(LoginAttempt)).all() == []


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("KB_LOGIN_RATE_LIMIT", "lots", "write it as, for example, '10 per minute'"),
        ("KB_RATELIMIT_STORAGE_URL", "carrier-pigeon://coop", "KB_RATELIMIT_STORAGE_URL="),
    ],
)
def test_a_wrong_rate_limit_setting_stops_the_app_at_start(app_config, setting, value, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        create_app({**app_config, setting: value})


# ---------------------------------------------------------------- same time, signed out everywhere


@pytest.fixture
def password_checks(monkeypatch):
    """Every password hash check made, (hash, password), by the real checker."""
    checks = []
    real = kb.models.users.check_password_hash

    def check(pwhash: str, password: str) -> bool:
        checks.append((pwhash, password))
        return real(pwhash, password)

    monkeypatch.setattr(kb.models.users, "check_password_hash", check)
    return checks


def test_a_password_is_checked_whether_or_not_the_account_exists(app, users, password_checks):
    users.peer.active = False
    db.session.commit()
    method = users.rep.password_hash.split("$")[0]
    for email, password, status in [
        ("rep@example.com", PASSWORD, 302),  # signs in
        ("rep@example.com", "a wrong guess", 200),
        ("nobody@example.com", "a wrong guess", 200),
        ("peer@example.com", PASSWORD, 200),  # deactivated
    ]:
        password_checks.clear()
        assert login(app.test_client(), email, password).status_code == status, email
        # One check each time, of the password given, against a hash of the same kind.
        assert [p for _, p in password_checks] == [password], email
        assert password_checks[0][0].split("$")[0] == method, email


def copy_session(source, target) -> str:
    cookie = source.get_cookie("session")
    target.set_cookie("session", cookie.value, domain=cookie.domain)
    return cookie.value


def test_signing_out_ends_every_copy_of_the_session(app, client, users):
    login(client, "rep@example.com")
    copied = app.test_client()
    copy_session(client, copied)
    assert signed_in_as(copied) == "Rita Rep"

    client.post("/logout", data={"csrf_token": csrf_token(client.get("/").text)})
    assert signed_in_as(client) is None
    # The copy was signed out on the server too.
    assert signed_in_as(copied) is None
    assert copied.get("/debriefs/").status_code == 302
    # Signing in again starts a new session, which works.
    login(copied, "rep@example.com")
    assert signed_in_as(copied) == "Rita Rep"


def main(page: str) -> str:
    return page.split('<main id="main">')[1]


def sign_out(client) -> None:
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/").text)})


def test_signing_out_leaves_the_same_persons_other_browsers_signed_in(app, client, users):
    phone = app.test_client()
    login(client, "rep@example.com")
    login(phone, "rep@example.com")
    sign_out(client)
    assert signed_in_as(client) is None
    assert signed_in_as(phone) == "Rita Rep"


def test_the_sign_ins_page_lists_each_browser_and_ends_one_or_all_others(app, client, users):
    laptop, phone, tablet = app.test_client(), app.test_client(), app.test_client()
    for browser, agent in ((laptop, "Laptop browser"), (phone, "Phone browser")):
        browser.environ_base["HTTP_USER_AGENT"] = agent
        login(browser, "rep@example.com")
    login(tablet, "rep@example.com")
    login(client, "peer@example.com")

    page = laptop.get("/settings/sign-ins").text
    assert main(page).count("Sign out</button>") == 2  # the phone and the tablet, not this one
    assert '<strong>This browser</strong> · <span class="muted">Laptop browser' in page
    assert "Phone browser" in page and "peer" not in main(page).lower()

    # End the phone's session from the laptop: only the phone is signed out.
    rows = re.findall(r"<tr>.*?</tr>", page, re.S)
    phone_action = re.search(
        r'action="([^"]+/end)"', next(r for r in rows if "Phone browser" in r)
    ).group(1)
    laptop.post(phone_action, data={"csrf_token": csrf_token(page)})
    assert signed_in_as(phone) is None
    assert signed_in_as(laptop) == signed_in_as(tablet) == "Rita Rep"

    # Everywhere else: the tablet ends, the laptop stays, another person is untouched.
    page = laptop.get("/settings/sign-ins").text
    response = laptop.post("/settings/sign-ins/end-others", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 302
    assert signed_in_as(tablet) is None
    assert signed_in_as(laptop) == "Rita Rep"
    assert signed_in_as(client) == "Pete Peer"
    assert main(laptop.get("/settings/sign-ins").text).count("Sign out</button>") == 0


def test_a_session_from_before_sign_ins_were_recorded_still_works_and_signs_out_everywhere(
    app, client, users
):
    login(client, "rep@example.com")
    other = app.test_client()
    login(other, "rep@example.com")
    with client.session_transaction() as session:
        session["_user_id"] = f"{users.rep.id}.{users.rep.session_version}"
    assert signed_in_as(client) == "Rita Rep"
    sign_out(client)
    # Such a session has no row to delete: signing out ends every session, as it did.
    assert signed_in_as(client) is None and signed_in_as(other) is None


def test_another_persons_session_cannot_be_ended(app, client, users):
    login(client, "rep@example.com")
    peer = app.test_client()
    login(peer, "peer@example.com")
    peer_keys = db.session.scalars(
        select(kb.models.SignIn.key_hash).where(kb.models.SignIn.user_id == users.peer.id)
    ).all()
    page = client.get("/settings/sign-ins").text
    for key in peer_keys:
        response = client.post(
            f"/settings/sign-ins/{key}/end", data={"csrf_token": csrf_token(page)}
        )
        assert response.status_code == 302
    assert signed_in_as(peer) == "Pete Peer"
    assert signed_in_as(client) == "Rita Rep"


def test_a_new_password_ends_the_other_sessions(app, client, users):
    from kb.admin import service as admin

    login(client, "rep@example.com")
    elsewhere = app.test_client()
    copy_session(client, elsewhere)
    peer = app.test_client()
    login(peer, "peer@example.com")

    admin.set_password(users.admin, users.rep, "a brand new password")
    assert signed_in_as(client) is None and signed_in_as(elsewhere) is None
    assert signed_in_as(peer) == "Pete Peer"  # other users stay signed in
    assert login(client, "rep@example.com").status_code == 200
    login(client, "rep@example.com", "a brand new password")
    assert signed_in_as(client) == "Rita Rep"


@pytest.mark.parametrize(
    "session_id", ["1", "1.x", "99999999999.0", "1.0.0", "", "1." + "9" * 5000, "².0"]
)
def test_a_session_id_of_the_wrong_shape_signs_nobody_in(app, users, session_id):
    from kb.auth.routes import load_user

    assert load_user(session_id) is None
    assert load_user(users.rep.get_id()) == users.rep


# ---------------------------------------------------------------- cookies and headers


def test_session_cookie_flags(client, users):
    response = login(client, "rep@example.com")
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_cookies_are_secure_unless_explicitly_allowed_over_http(monkeypatch, tmp_path):
    monkeypatch.delenv("KB_INSECURE_COOKIES", raising=False)
    monkeypatch.setenv("KB_SECRET_KEY", "x" * 32)
    config = from_environment(str(tmp_path))
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["REMEMBER_COOKIE_SECURE"] is True
    assert config["SESSION_COOKIE_HTTPONLY"] is True
    assert config["SESSION_COOKIE_SAMESITE"] == "Lax"
    monkeypatch.setenv("KB_INSECURE_COOKIES", "1")
    assert from_environment(str(tmp_path))["SESSION_COOKIE_SECURE"] is False


@pytest.mark.parametrize(
    "extra_config",
    [{"SESSION_COOKIE_SECURE": True, "REMEMBER_COOKIE_SECURE": True}],
    ids=["secure"],
)
def test_secure_cookie_and_hsts_with_the_default_config(client, users):
    response = login(client, "rep@example.com")
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_security_headers(client, users):
    response = client.get("/login")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


# ---------------------------------------------------------------- CSRF


def test_login_without_csrf_token_is_refused(client, users):
    response = client.post("/login", data={"email": "rep@example.com", "password": PASSWORD})
    assert response.status_code == 400
    assert "Form expired" in response.text
    assert signed_in_as(client) is None


def test_login_with_a_forged_csrf_token_is_refused(client, users):
    client.get("/login")
    response = client.post(
        "/login", data={"email": "rep@example.com", "password": PASSWORD, "csrf_token": "forged"}
    )
    assert response.status_code == 400
    assert signed_in_as(client) is None


def test_csrf_token_from_another_session_is_refused(app, client, users):
    stolen = csrf_token(app.test_client().get("/login").text)
    client.get("/login")
    response = client.post(
        "/login", data={"email": "rep@example.com", "password": PASSWORD, "csrf_token": stolen}
    )
    assert response.status_code == 400


def test_logout_without_csrf_token_is_refused(client, users):
    login(client, "rep@example.com")
    assert client.post("/logout").status_code == 400
    assert signed_in_as(client) == "Rita Rep"


def test_setup_without_csrf_token_is_refused(client, app):
    client.get("/setup")
    assert client.post("/setup", data=SETUP).status_code == 400
    assert db.session.query(User).count() == 0


DEBRIEF_FORM = {
    "deal-name": "Initech renewal",
    "deal-account": "Initech",
    "deal-outcome": "won",
    "deal-close_date": (date.today() - timedelta(days=3)).isoformat(),
    "deal-currency": "USD",
    "reasons-0-category": "price.total-cost",
    "reasons-0-direction": "helped",
    "action": "submit",
}


def test_debrief_form_without_csrf_token_stores_nothing(client, users):
    login(client, "rep@example.com")
    page = client.get("/debriefs/new").text
    counts = row_counts()
    assert client.post("/debriefs/new", data=DEBRIEF_FORM).status_code == 400
    # Row buttons and drafts need the token too.
    for action in ("add_reason", "save_draft"):
        response = client.post("/debriefs/new", data={**DEBRIEF_FORM, "action": action})
        assert response.status_code == 400
    assert row_counts() == counts

    response = client.post("/debriefs/new", data={**DEBRIEF_FORM, "csrf_token": csrf_token(page)})
    assert response.status_code == 302
    assert row_counts()["debriefs"] == counts["debriefs"] + 1


def test_edit_and_delete_without_csrf_token_change_nothing(client, users, make_debrief):
    debrief_id = make_debrief(users.rep).id
    login(client, "rep@example.com")
    counts = row_counts()
    edit = client.post(f"/debriefs/{debrief_id}/edit", data=DEBRIEF_FORM)
    delete = client.post(f"/debriefs/{debrief_id}/delete")
    assert (edit.status_code, delete.status_code) == (400, 400)
    assert row_counts() == counts

    # The Delete button's form carries the token.
    page = client.get(f"/debriefs/{debrief_id}").text
    token = re.search(
        r'action="/debriefs/\d+/delete"[^>]*>\s*<input type="hidden" name="csrf_token" '
        r'value="([^"]+)"',
        page,
    ).group(1)
    response = client.post(f"/debriefs/{debrief_id}/delete", data={"csrf_token": token})
    assert response.status_code == 302
    assert row_counts()["debriefs"] == counts["debriefs"] - 1


def test_api_with_a_session_accepts_only_json(client, users):
    """The API skips CSRF tokens because it takes JSON only, which a form on
    another site cannot send."""
    login(client, "rep@example.com")
    counts = row_counts()
    response = client.post("/api/v1/debriefs", data={"source": "rep"})
    assert response.status_code == 415
    response = client.post("/api/v1/debriefs", data='{"source": "rep"}', content_type="text/plain")
    assert response.status_code == 415
    assert row_counts() == counts
