"""Who may read, file, edit and delete which debrief (SPEC §2, kb/permissions.py),
through the pages and through the API, role by role."""

import copy
from types import SimpleNamespace

import pytest

from kb.debriefs import service
from kb.extensions import db
from kb.models import Deal, Debrief
from tests.conftest import debrief_payload, row_counts

# The debriefs every test below starts from. Rita (rep) and Pete (peer) are in
# team East with Mona (manager); Wes (west_rep) is in team West with Walt
# (west_manager); Mae is marketing; Ada is admin.
DEBRIEFS = {
    "rep_submitted": ("rep", {}),
    "rep_draft": ("rep", {"status": "draft"}),
    "peer_draft": ("peer", {"status": "draft"}),
    "west_submitted": ("west_rep", {}),
    "west_draft": ("west_rep", {"status": "draft"}),
    "buyer_submitted": ("marketing", {"source": "buyer", "interviewee_role": "Champion"}),
    "buyer_draft": ("marketing", {"source": "buyer", "status": "draft"}),
}


@pytest.fixture
def debriefs(users, make_debrief):
    ids = {}
    for key, (author, overrides) in DEBRIEFS.items():
        deal = {"name": f"Deal {key}"}
        ids[key] = make_debrief(getattr(users, author), deal=deal, **overrides).id
    return SimpleNamespace(**ids)


READ = {
    # Everyone reads submitted debriefs; drafts are for their author, the
    # author's manager and admins.
    "rep": {"rep_submitted", "rep_draft", "west_submitted", "buyer_submitted"},
    "peer": {"rep_submitted", "peer_draft", "west_submitted", "buyer_submitted"},
    "west_rep": {"rep_submitted", "west_submitted", "west_draft", "buyer_submitted"},
    "manager": {"rep_submitted", "rep_draft", "peer_draft", "west_submitted", "buyer_submitted"},
    "west_manager": {"rep_submitted", "west_submitted", "west_draft", "buyer_submitted"},
    "marketing": {"rep_submitted", "west_submitted", "buyer_submitted", "buyer_draft"},
    "admin": set(DEBRIEFS),
}

EDIT = {
    "rep": {"rep_submitted", "rep_draft"},
    "peer": {"peer_draft"},
    "west_rep": {"west_submitted", "west_draft"},
    "manager": {"rep_submitted", "rep_draft", "peer_draft"},
    "west_manager": {"west_submitted", "west_draft"},
    "marketing": {"buyer_submitted", "buyer_draft"},
    "admin": set(DEBRIEFS),
}

ROLES = list(READ)


def stored(debrief_id):
    db.session.expire_all()
    debrief = db.session.get(Debrief, debrief_id)
    return copy.deepcopy(service.as_input(debrief)) if debrief else None


# ---------------------------------------------------------------- pages


@pytest.mark.parametrize("role", ROLES)
def test_debrief_and_edit_pages(client, auth, users, debriefs, role):
    auth.login(getattr(users, role))
    for key in DEBRIEFS:
        debrief_id = getattr(debriefs, key)
        response = client.get(f"/debriefs/{debrief_id}")
        assert response.status_code == (200 if key in READ[role] else 403), key
        if response.status_code == 200:
            assert f"Deal {key}" in response.text
            # Edit and Delete are offered exactly to those who may use them.
            assert (f"/debriefs/{debrief_id}/edit" in response.text) == (key in EDIT[role]), key
            assert (f"/debriefs/{debrief_id}/delete" in response.text) == (key in EDIT[role])
        else:
            assert f"Deal {key}" not in response.text
        edit = client.get(f"/debriefs/{debrief_id}/edit")
        assert edit.status_code == (200 if key in EDIT[role] else 403), key


@pytest.mark.parametrize("role", ROLES)
def test_lists_show_only_what_the_role_may_read(client, auth, users, debriefs, role):
    auth.login(getattr(users, role))
    listed = client.get("/debriefs/").text
    home = client.get("/").text
    author_of = {key: author for key, (author, _) in DEBRIEFS.items()}
    for key in DEBRIEFS:
        assert (f"Deal {key}<" in listed) == (key in READ[role]), key
        if key.endswith("_draft") and author_of[key] != role:
            assert f"Deal {key}<" not in home, key


def edit_form() -> dict:
    """A complete, valid edit form that would change the deal's name."""
    return {
        "deal-name": "Taken over",
        "deal-account": "Initech",
        "deal-outcome": "lost",
        "deal-close_date": debrief_payload()["deal"]["close_date"],
        "deal-amount": "1",
        "deal-currency": "USD",
        "reasons-0-category": "price.total-cost",
        "reasons-0-direction": "hurt",
        "interviewee_role": "Champion",
        "action": "submit",
    }


@pytest.mark.parametrize("key", ["rep_submitted", "west_submitted", "rep_draft", "buyer_submitted"])
def test_rep_cannot_change_someone_elses_debrief_by_url(client, auth, users, debriefs, key):
    auth.login(users.peer)
    debrief_id = getattr(debriefs, key)
    before, counts = stored(debrief_id), row_counts()
    assert client.get(f"/debriefs/{debrief_id}/edit").status_code == 403
    assert client.post(f"/debriefs/{debrief_id}/edit", data=edit_form()).status_code == 403
    assert client.post(f"/debriefs/{debrief_id}/delete").status_code == 403
    assert stored(debrief_id) == before
    assert row_counts() == counts


def test_manager_edits_and_deletes_their_teams_debriefs(client, auth, users, debriefs):
    auth.login(users.manager)
    response = client.post(f"/debriefs/{debriefs.rep_draft}/edit", data=edit_form())
    assert response.status_code == 302
    assert stored(debriefs.rep_draft)["deal"]["name"] == "Taken over"
    assert client.post(f"/debriefs/{debriefs.peer_draft}/delete").status_code == 302
    assert stored(debriefs.peer_draft) is None


def test_manager_cannot_change_another_teams_debrief(client, auth, users, debriefs):
    auth.login(users.manager)
    before, counts = stored(debriefs.west_submitted), row_counts()
    post = client.post(f"/debriefs/{debriefs.west_submitted}/edit", data=edit_form())
    assert post.status_code == 403
    assert client.post(f"/debriefs/{debriefs.west_submitted}/delete").status_code == 403
    assert client.post(f"/debriefs/{debriefs.west_draft}/delete").status_code == 403
    assert stored(debriefs.west_submitted) == before
    assert row_counts() == counts


def test_admin_deletes_anything(client, auth, users, debriefs):
    auth.login(users.admin)
    for key in ("west_draft", "buyer_submitted", "rep_submitted"):
        assert client.post(f"/debriefs/{getattr(debriefs, key)}/delete").status_code == 302
        assert stored(getattr(debriefs, key)) is None


FILE = {
    # role: (may file rep debriefs, may file buyer interviews)
    "rep": (True, False),
    "manager": (True, True),
    "marketing": (False, True),
    "admin": (True, True),
}


@pytest.mark.parametrize("role", list(FILE))
def test_who_may_open_the_new_debrief_forms(client, auth, users, role):
    auth.login(getattr(users, role))
    rep_form, buyer_form = FILE[role]
    assert client.get("/debriefs/new?source=rep").status_code == (200 if rep_form else 403)
    assert client.get("/debriefs/new?source=buyer").status_code == (200 if buyer_form else 403)
    home = client.get("/").text
    assert ("File a debrief" in home) == rep_form
    assert ("Record a buyer interview" in home) == buyer_form


def test_marketing_files_buyer_interviews_by_default(client, auth, users):
    auth.login(users.marketing)
    assert "Record a buyer interview" in client.get("/debriefs/new").text


@pytest.mark.parametrize("role", list(FILE))
def test_who_may_file_through_the_api(api, users, role):
    for source, allowed in zip(("rep", "buyer"), FILE[role], strict=True):
        payload = debrief_payload(source=source, interviewee_role="Champion")
        response = api.post(getattr(users, role), "/api/v1/debriefs", json=payload)
        assert response.status_code == (201 if allowed else 403), (source, response.json)
        if not allowed:
            assert response.json["error"] == "forbidden"
    assert db.session.query(Debrief).count() == sum(FILE[role])


def test_a_rep_cannot_file_on_another_reps_deal(client, auth, api, users, debriefs):
    west_deal = db.session.get(Debrief, debriefs.west_submitted).deal_id
    auth.login(users.rep)
    assert client.get(f"/debriefs/new?deal={west_deal}").status_code == 403
    deal = service.deal_as_input(db.session.get(Deal, west_deal))
    payload = debrief_payload(deal_id=west_deal, deal=deal)
    before = row_counts()
    response = api.post(users.rep, "/api/v1/debriefs", json=payload)
    assert response.status_code == 400
    assert "your own deals" in response.json["fields"]["deal_id"]
    # Only the audit entry of the API token, created at the first call, is new.
    assert {**row_counts(), "audit_log": before["audit_log"]} == before


def test_a_manager_files_on_their_teams_deal(api, users, debriefs):
    deal_id = db.session.get(Debrief, debriefs.rep_submitted).deal_id
    payload = debrief_payload(
        deal_id=deal_id, deal=service.deal_as_input(db.session.get(Deal, deal_id))
    )
    before = row_counts()
    response = api.post(users.manager, "/api/v1/debriefs", json=payload)
    assert response.status_code == 201, response.json
    filed = db.session.get(Debrief, response.json["id"])
    assert (filed.deal_id, filed.author_id) == (deal_id, users.manager.id)
    after = row_counts()
    assert (after["debriefs"], after["deals"]) == (before["debriefs"] + 1, before["deals"])


# ---------------------------------------------------------------- API


@pytest.mark.parametrize("role", ROLES)
def test_api_list_read_change_and_delete(api, users, debriefs, role):
    user = getattr(users, role)
    body = api.get(user, "/api/v1/debriefs?per_page=100").json
    assert {item["deal"]["name"] for item in body["items"]} == {f"Deal {k}" for k in READ[role]}
    assert body["total"] == len(READ[role])
    for key in DEBRIEFS:
        debrief_id = getattr(debriefs, key)
        url = f"/api/v1/debriefs/{debrief_id}"
        get = api.get(user, url)
        assert get.status_code == (200 if key in READ[role] else 404), key
        if key in EDIT[role]:
            continue  # see the next test
        # What the user may not read does not exist for them; what they may
        # read but not change is forbidden.
        expected = 404 if key not in READ[role] else 403
        before, counts = stored(debrief_id), row_counts()
        patch = api.patch(user, url, json={"deal": {"name": "Taken over"}})
        delete = api.delete(user, url)
        assert (patch.status_code, delete.status_code) == (expected, expected), key
        assert patch.json["error"] == delete.json["error"]
        assert patch.json["error"] == ("not_found" if expected == 404 else "forbidden")
        assert stored(debrief_id) == before, key
        assert row_counts() == counts, key


@pytest.mark.parametrize("role", ROLES)
def test_api_change_and_delete_what_the_role_may_edit(api, users, debriefs, role):
    user = getattr(users, role)
    for key in sorted(EDIT[role]):
        url = f"/api/v1/debriefs/{getattr(debriefs, key)}"
        patch = api.patch(user, url, json={"what_worked": f"Edited by {role}"})
        assert patch.status_code == 200, (key, patch.json)
        assert stored(getattr(debriefs, key))["what_worked"] == f"Edited by {role}"
        assert api.delete(user, url).status_code == 204, key
        assert stored(getattr(debriefs, key)) is None


def test_api_edit_by_the_author_and_the_manager(api, users, debriefs):
    url = f"/api/v1/debriefs/{debriefs.rep_submitted}"
    assert api.patch(users.rep, url, json={"what_worked": "A"}).status_code == 200
    assert api.patch(users.manager, url, json={"what_worked": "B"}).status_code == 200
    assert stored(debriefs.rep_submitted)["what_worked"] == "B"
    assert api.delete(users.manager, url).status_code == 204


# ---------------------------------------------------------------- 401 and 404


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer kb_not-a-real-token"},
        {"Authorization": "Bearer "},
        {"Authorization": "Basic cmVwQGV4YW1wbGUuY29tOnBhc3N3b3Jk"},
        {"Authorization": "kb_not-a-real-token"},
    ],
    ids=["none", "bad token", "empty token", "basic auth", "no scheme"],
)
def test_api_without_valid_credentials_is_401(client, users, make_debrief, headers):
    debrief_id = make_debrief(users.rep).id
    counts = row_counts()
    for method, url in [
        ("get", "/api/v1/debriefs"),
        ("get", f"/api/v1/debriefs/{debrief_id}"),
        ("post", "/api/v1/debriefs"),
        ("patch", f"/api/v1/debriefs/{debrief_id}"),
        ("delete", f"/api/v1/debriefs/{debrief_id}"),
    ]:
        response = getattr(client, method)(url, headers=headers, json=debrief_payload())
        assert response.status_code == 401, (method, url)
        assert response.json["error"] == "unauthorized"
        assert response.headers["WWW-Authenticate"] == "Bearer"
    assert row_counts() == counts


def test_a_bad_token_is_refused_even_with_a_signed_in_session(client, auth, users):
    auth.login(users.rep)
    assert client.get("/api/v1/debriefs").status_code == 200  # the session is enough
    response = client.get("/api/v1/debriefs", headers={"Authorization": "Bearer kb_wrong"})
    assert response.status_code == 401


def test_a_deactivated_users_token_stops_working(api, users):
    assert api.get(users.rep, "/api/v1/debriefs").status_code == 200
    users.rep.active = False
    db.session.commit()
    assert api.get(users.rep, "/api/v1/debriefs").status_code == 401


def test_pages_without_signing_in_go_to_the_login_page(client, users):
    for url in (
        "/",
        "/debriefs/",
        "/debriefs/mine",
        "/debriefs/1",
        "/debriefs/new",
        "/debriefs/1/edit",
    ):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith("/login"), url


def test_delete_without_signing_in_stores_nothing(client, users, debriefs):
    counts = row_counts()
    response = client.post(f"/debriefs/{debriefs.rep_submitted}/delete")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert row_counts() == counts


def test_pages_for_what_does_not_exist_are_404(client, auth, users):
    auth.login(users.admin)
    for method, url in [
        ("get", "/debriefs/999999"),
        ("get", "/debriefs/999999/edit"),
        ("post", "/debriefs/999999/edit"),
        ("post", "/debriefs/999999/delete"),
        ("get", "/debriefs/new?deal=999999"),
        ("get", "/no-such-page"),
    ]:
        response = getattr(client, method)(url)
        assert response.status_code == 404, url
        assert "Not found" in response.text


def test_api_for_what_does_not_exist_is_404(api, users):
    url = "/api/v1/debriefs/999999"
    for response in (
        api.get(users.admin, url),
        api.patch(users.admin, url, json={}),
        api.delete(users.admin, url),
    ):
        assert response.status_code == 404
        assert response.json["error"] == "not_found"
