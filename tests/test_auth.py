"""Signing in and out, the first admin, rate limiting, cookies, redirects and
CSRF. This module runs with CSRF protection on, as in production: every form
is posted with the token taken from the page, unless a test leaves it out."""

import re
from datetime import date, timedelta
from urllib.parse import quote, urlsplit

import pytest

from kb.config import from_environment
from kb.extensions import db
from kb.models import Role, User
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
