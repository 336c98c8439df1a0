import re

import pytest
from sqlalchemy import func, select

from kb.admin import queries, service
from kb.extensions import db
from kb.models import (
    ApiToken,
    AuditEntry,
    Choice,
    Competitor,
    CompetitorAlias,
    Deal,
    IndexChange,
    ReasonCategory,
    Role,
    Team,
    User,
)
from kb.validation import ValidationFailed
from tests.conftest import debrief_payload

ADMIN_PAGES = [
    ("get", "/admin/"),
    ("get", "/admin/users"),
    ("get", "/admin/users/new"),
    ("post", "/admin/users/new"),
    ("get", "/admin/users/{user}"),
    ("post", "/admin/users/{user}"),
    ("post", "/admin/users/{user}/password"),
    ("post", "/admin/users/{user}/active"),
    ("post", "/admin/users/{user}/tokens/{token}/revoke"),
    ("get", "/admin/teams"),
    ("post", "/admin/teams"),
    ("get", "/admin/teams/{team}"),
    ("post", "/admin/teams/{team}"),
    ("get", "/admin/competitors"),
    ("post", "/admin/competitors"),
    ("get", "/admin/competitors/{competitor}"),
    ("post", "/admin/competitors/{competitor}"),
    ("post", "/admin/competitors/{competitor}/aliases"),
    ("post", "/admin/competitors/{competitor}/aliases/{alias}/remove"),
    ("get", "/admin/taxonomy"),
    ("post", "/admin/taxonomy"),
    ("get", "/admin/taxonomy/{category}"),
    ("post", "/admin/taxonomy/{category}"),
    ("post", "/admin/taxonomy/{group}/categories"),
    ("post", "/admin/taxonomy/{category}/active"),
    ("get", "/admin/lists"),
    ("post", "/admin/lists/segment"),
    ("get", "/admin/lists/{choice}"),
    ("post", "/admin/lists/{choice}"),
    ("post", "/admin/lists/{choice}/remove"),
    ("get", "/admin/settings"),
    ("post", "/admin/settings"),
    ("get", "/admin/audit"),
]


def _by_name(model, column, value):
    return db.session.scalar(select(model).where(column == value))


def _ids(users) -> dict[str, int]:
    from kb.auth.service import create_token

    create_token(users.admin, "ops")
    category = _by_name(ReasonCategory, ReasonCategory.slug, "price.total-cost")
    return {
        "user": users.admin.id,
        "token": db.session.scalar(select(ApiToken.id)),
        "team": _by_name(Team, Team.name, "East").id,
        "competitor": _by_name(Competitor, Competitor.name, "Salesforce").id,
        "alias": _by_name(CompetitorAlias, CompetitorAlias.key, "sfdc").id,
        "category": category.id,
        "group": category.parent_id,
        "choice": _by_name(Choice, Choice.value, "Enterprise").id,
    }


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _queued_since(count: int) -> list[int]:
    """The debrief ids put in the search outbox after its first `count` rows."""
    return list(
        db.session.scalars(select(IndexChange.doc_id).order_by(IndexChange.id).offset(count))
    )


def _write_counts() -> tuple[int, ...]:
    return tuple(
        _count(m) for m in (User, Team, Competitor, CompetitorAlias, ReasonCategory, Choice)
    ) + (
        _count(AuditEntry),
        db.session.scalar(select(func.count()).where(ApiToken.revoked_at.is_not(None))),
    )


# --- Access ----------------------------------------------------------------------


@pytest.mark.parametrize("role", ["rep", "manager", "marketing"])
def test_non_admins_get_403_on_every_admin_page(client, users, auth, role):
    ids = _ids(users)
    auth.login(getattr(users, role))
    before = _write_counts()
    data = {"name": "Hacked", "value": "Hacked", "alias": "Hacked", "role": "admin", "active": "0"}
    data |= {"email": "x@example.com", "password": "long enough password", "segment-value": "X"}
    for method, url in ADMIN_PAGES:
        response = getattr(client, method)(url.format(**ids), data=data)
        assert response.status_code == 403, (method, url)
    assert _write_counts() == before
    assert getattr(users, role).role.value == role


def test_admin_pages_need_sign_in(client, users):
    ids = _ids(users)
    for url in ["/admin/", "/admin/users/{user}", "/admin/audit", "/settings/tokens"]:
        response = client.get(url.format(**ids))
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_admin_sees_every_page_without_inline_styles_or_scripts(client, users, auth):
    ids = _ids(users)
    auth.login(users.admin)
    for method, url in ADMIN_PAGES + [("get", "/settings/tokens")]:
        if method != "get":
            continue
        response = client.get(url.format(**ids))
        assert response.status_code == 200, url
        html = response.get_data(as_text=True)
        assert "style=" not in html and "<script>" not in html and "onclick" not in html


def test_navigation_links_by_role(client, users, auth):
    auth.login(users.rep)
    html = client.get("/").get_data(as_text=True)
    assert 'href="/settings/tokens">API tokens' in html and ">Admin<" not in html
    auth.logout()
    auth.login(users.admin)
    html = client.get("/").get_data(as_text=True)
    assert 'href="/admin/">Admin' in html and ">API tokens<" in html


# --- Users and teams -------------------------------------------------------------


def test_create_user_with_a_new_team_and_sign_in(client, users, auth):
    auth.login(users.admin)
    response = client.post(
        "/admin/users/new",
        data={
            "email": "nina@example.com",
            "name": "Nina North",
            "role": "manager",
            "team": "",
            "new_team": "North",
            "password": "a long password",
        },
    )
    assert response.status_code == 302
    nina = _by_name(User, User.email, "nina@example.com")
    assert nina.role == Role.MANAGER and nina.team.name == "North"
    entry = db.session.scalar(
        select(AuditEntry).where(AuditEntry.entity_type == "user", AuditEntry.entity_id == nina.id)
    )
    assert entry.user_id == users.admin.id and entry.action == "create"
    assert entry.changes["email"] == [None, "nina@example.com"]
    assert entry.changes["team"] == [None, "North"]
    assert _by_name(AuditEntry, AuditEntry.entity_type, "team").summary == "North"
    html = client.get("/admin/users").get_data(as_text=True)
    assert "nina@example.com" in html and "North" in html
    auth.logout()
    assert auth.login("nina@example.com", "a long password").status_code == 302
    assert client.get("/admin/").status_code == 403


def test_create_user_errors_store_nothing(client, users, auth):
    auth.login(users.admin)
    before = _write_counts()
    east = str(_by_name(Team, Team.name, "East").id)
    base = {"name": "X", "role": "rep", "team": "", "new_team": "", "password": "a long password"}
    cases = [
        ({"email": "REP@example.com"}, "already exists"),
        ({"email": "nobody@example.com", "password": "short"}, "at least 10"),
        ({"email": "not-an-email"}, "valid e-mail"),
        ({"email": "new@example.com", "team": east, "new_team": "Other"}, "not both"),
    ]
    for override, message in cases:
        response = client.post("/admin/users/new", data=base | override)
        assert response.status_code == 422, override
        html = response.get_data(as_text=True)
        assert message in html and 'aria-invalid="true"' in html
    assert _write_counts() == before


def test_create_user_service_rejects_duplicate_email(users):
    with pytest.raises(ValidationFailed) as failed:
        service.create_user_account(users.admin, " Peer@Example.com ", "a long password", "rep")
    assert failed.value.errors == {"email": "A user with this e-mail address already exists."}


def test_edit_user_role_and_team_is_audited(client, users, auth):
    auth.login(users.admin)
    west = _by_name(Team, Team.name, "West")
    response = client.post(
        f"/admin/users/{users.rep.id}",
        data={"name": "Rita Rep", "role": "manager", "team": str(west.id), "new_team": ""},
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert users.rep.role == Role.MANAGER and users.rep.team.name == "West"
    entry = db.session.scalar(
        select(AuditEntry).where(
            AuditEntry.entity_id == users.rep.id, AuditEntry.action == "update"
        )
    )
    assert entry.changes == {"role": ["rep", "manager"], "team": ["East", "West"]}


def test_last_admin_cannot_demote_or_deactivate_themselves(client, users, auth):
    auth.login(users.admin)
    url = f"/admin/users/{users.admin.id}"
    demote = client.post(url, data={"name": "Ada Admin", "role": "rep", "team": ""})
    assert demote.status_code == 422
    assert "You are the last active admin" in demote.get_data(as_text=True)
    deactivate = client.post(f"{url}/active", data={"active": "0"})
    assert deactivate.status_code == 422
    assert "last active admin" in deactivate.get_data(as_text=True)
    db.session.expire_all()
    assert users.admin.role == Role.ADMIN and users.admin.active
    assert not _by_name(AuditEntry, AuditEntry.action, "update")
    assert not _by_name(AuditEntry, AuditEntry.action, "deactivate")

    # With a second admin, stepping down is allowed.
    client.post(
        f"/admin/users/{users.manager.id}",
        data={"name": "Mona Manager", "role": "admin", "team": ""},
    )
    assert client.post(url, data={"name": "Ada", "role": "rep", "team": ""}).status_code == 302
    db.session.expire_all()
    assert users.admin.role == Role.REP
    assert client.get("/admin/").status_code == 403


def test_deactivated_user_cannot_sign_in_until_reactivated(client, users, auth):
    auth.login(users.admin)
    client.post(f"/admin/users/{users.rep.id}/active", data={"active": "0"})
    entry = _by_name(AuditEntry, AuditEntry.action, "deactivate")
    assert entry.entity_id == users.rep.id and entry.changes == {"active": [True, False]}
    auth.logout()
    assert auth.login(users.rep).status_code == 200  # the form again, with an error
    auth.login(users.admin)
    client.post(f"/admin/users/{users.rep.id}/active", data={"active": "1"})
    auth.logout()
    assert auth.login(users.rep).status_code == 302


def test_admin_sets_a_new_password(client, users, auth):
    auth.login(users.admin)
    url = f"/admin/users/{users.rep.id}/password"
    assert client.post(url, data={"password": "short"}).status_code == 422
    assert client.post(url, data={"password": "brand new password"}).status_code == 302
    auth.logout()
    assert auth.login(users.rep).status_code == 200
    assert auth.login(users.rep, "brand new password").status_code == 302


def test_teams_create_rename_and_count_members(client, users, auth):
    auth.login(users.admin)
    assert client.post("/admin/teams", data={"name": "  North  "}).status_code == 302
    duplicate = client.post("/admin/teams", data={"name": "east"})
    assert duplicate.status_code == 422
    assert "already a team called" in duplicate.get_data(as_text=True)
    east = _by_name(Team, Team.name, "East")
    assert client.post(f"/admin/teams/{east.id}", data={"name": "East Coast"}).status_code == 302
    html = client.get("/admin/teams").get_data(as_text=True)
    assert "East Coast" in html and "North" in html
    counts = {team.name: (n, active) for team, n, active in queries.teams_with_counts()}
    assert counts["East Coast"] == (3, 3) and counts["North"] == (0, 0)
    assert _by_name(AuditEntry, AuditEntry.action, "update").changes == {
        "name": ["East", "East Coast"]
    }


# --- Competitors -------------------------------------------------------------------


def test_competitor_create_and_conflicts_store_nothing(client, users, auth):
    auth.login(users.admin)
    created = client.post("/admin/competitors", data={"name": "Initrode"})
    assert created.status_code == 302
    initrode = _by_name(Competitor, Competitor.name, "Initrode")
    assert _by_name(AuditEntry, AuditEntry.entity_type, "competitor").entity_id == initrode.id
    before = _write_counts()
    for name, message in [
        ("acme", "already a competitor called"),
        ("sfdc", "is an alias of Salesforce"),
        ("   ", "This field is required"),
    ]:
        response = client.post("/admin/competitors", data={"name": name})
        assert response.status_code == 422
        assert message in response.get_data(as_text=True)
    globex = _by_name(Competitor, Competitor.name, "Globex")
    for alias, message in [
        ("acme corp", "already an alias of Acme"),
        ("GLOBEX", "this competitor&#39;s own name"),
        ("Salesforce", "the name of another competitor"),
    ]:
        response = client.post(f"/admin/competitors/{globex.id}/aliases", data={"alias": alias})
        assert response.status_code == 422
        assert message in response.get_data(as_text=True)
    rename = client.post(f"/admin/competitors/{globex.id}", data={"name": "SFDC"})
    assert rename.status_code == 422 and "alias of Salesforce" in rename.get_data(as_text=True)
    assert _write_counts() == before
    assert _count(IndexChange) == 0


def test_competitor_rename_reindexes_its_debriefs_in_the_same_commit(
    client, users, auth, make_debrief, monkeypatch
):
    lost_to_acme = make_debrief(users.rep)
    interview = make_debrief(
        users.marketing, source="buyer", deal_id=lost_to_acme.deal_id, interviewee_role="CFO"
    )
    acme_in_a_reason = make_debrief(
        users.peer, deal={"name": "Umbrella", "competitors": ["Globex"], "winner": "Globex"}
    )
    unrelated = make_debrief(
        users.west_rep,
        deal={"name": "Hooli", "competitors": ["Globex"], "winner": "Globex"},
        reasons=[{"category": "price.total-cost", "direction": "hurt", "explanation": "x"}],
    )
    acme = _by_name(Competitor, Competitor.name, "Acme")
    before = _count(IndexChange)
    last_id = db.session.scalar(select(func.max(IndexChange.id)))

    commits = []
    real_commit = db.session.commit

    def commit():
        # What the transaction holds at the moment it commits.
        commits.append(
            (
                db.session.scalar(select(Competitor.name).where(Competitor.id == acme.id)),
                set(db.session.scalars(select(IndexChange.doc_id).where(IndexChange.id > last_id))),
            )
        )
        real_commit()

    monkeypatch.setattr(db.session, "commit", commit)
    queued = service.rename_competitor(users.admin, acme, "Acme Industries")
    monkeypatch.undo()

    affected = {lost_to_acme.id, interview.id, acme_in_a_reason.id}
    assert queued == 3
    assert commits == [("Acme Industries", affected)]
    assert _count(IndexChange) == before + 3
    assert unrelated.id not in commits[0][1]
    entry = _by_name(AuditEntry, AuditEntry.entity_type, "competitor")
    assert entry.changes == {"name": ["Acme", "Acme Industries"]}

    auth.login(users.rep)
    html = client.get(f"/debriefs/{lost_to_acme.id}").get_data(as_text=True)
    assert "Acme Industries" in html


def test_competitor_rename_page(client, users, auth, make_debrief):
    debrief = make_debrief(users.rep)
    acme = _by_name(Competitor, Competitor.name, "Acme")
    auth.login(users.admin)
    before = _count(IndexChange)
    response = client.post(f"/admin/competitors/{acme.id}", data={"name": "Acme Inc"})
    assert response.status_code == 302
    assert _count(IndexChange) == before + 1
    html = client.get(f"/debriefs/{debrief.id}").get_data(as_text=True)
    assert "Acme Inc" in html
    listing = client.get("/admin/competitors").get_data(as_text=True)
    assert "Acme Inc" in listing and "ACME Corp" in listing


def test_alias_resolves_in_the_api_and_stops_when_removed(client, users, auth, api, make_debrief):
    globex_debrief = make_debrief(
        users.peer, deal={"name": "Umbrella", "competitors": ["Globex"], "winner": "Globex"}
    )
    globex = _by_name(Competitor, Competitor.name, "Globex")
    auth.login(users.admin)
    before = _count(IndexChange)
    response = client.post(
        f"/admin/competitors/{globex.id}/aliases", data={"alias": "Globex Corporation"}
    )
    assert response.status_code == 302
    assert _queued_since(before) == [globex_debrief.id]

    payload = debrief_payload(
        deal={"competitors": ["globex corporation"], "winner": "GLOBEX CORPORATION"}
    )
    payload["reasons"][0]["competitor"] = "Globex Corporation"
    created = api.post(users.rep, "/api/v1/debriefs", json=payload)
    assert created.status_code == 201, created.json
    assert created.json["deal"]["competitors"] == ["Globex"]
    assert created.json["deal"]["winner"] == "Globex"
    assert created.json["reasons"][0]["competitor"] == "Globex"

    alias = _by_name(CompetitorAlias, CompetitorAlias.key, "globex corporation")
    removed = client.post(f"/admin/competitors/{globex.id}/aliases/{alias.id}/remove")
    assert removed.status_code == 302
    refused = api.post(users.rep, "/api/v1/debriefs", json=payload)
    assert refused.status_code == 400 and "deal.competitors.0" in refused.json["fields"]
    entries = db.session.scalars(
        select(AuditEntry.changes).where(AuditEntry.entity_type == "competitor")
    ).all()
    assert entries == [
        {"aliases": [[], ["Globex Corporation"]]},
        {"aliases": [["Globex Corporation"], []]},
    ]


# --- The reason taxonomy -----------------------------------------------------------


def test_deactivated_category_leaves_the_form_but_stays_on_debriefs(
    client, users, auth, api, make_debrief
):
    debrief = make_debrief(users.rep)
    total_cost = _by_name(ReasonCategory, ReasonCategory.slug, "price.total-cost")
    auth.login(users.admin)
    url = f"/admin/taxonomy/{total_cost.id}/active"
    assert client.post(url, data={"active": "0"}).status_code == 302
    auth.logout()

    auth.login(users.rep)
    form = client.get("/debriefs/new").get_data(as_text=True)
    assert 'value="price.total-cost"' not in form and 'value="price.pricing-model"' in form
    shown = client.get(f"/debriefs/{debrief.id}").get_data(as_text=True)
    assert "Price › Total cost" in shown
    refused = api.post(users.rep, "/api/v1/debriefs", json=debrief_payload())
    assert refused.status_code == 400 and "reasons.0.category" in refused.json["fields"]
    # The debrief filed under it can still be edited, keeping its category.
    edit_form = client.get(f"/debriefs/{debrief.id}/edit").get_data(as_text=True)
    assert re.search(r'<option selected value="price.total-cost"', edit_form)
    kept = api.patch(users.rep, f"/api/v1/debriefs/{debrief.id}", json={"what_worked": "More."})
    assert kept.status_code == 200, kept.json
    assert kept.json["reasons"][0]["category"] == "price.total-cost"
    auth.logout()

    auth.login(users.admin)
    assert client.post(url, data={"active": "1"}).status_code == 302
    auth.logout()
    auth.login(users.rep)
    assert 'value="price.total-cost"' in client.get("/debriefs/new").get_data(as_text=True)
    actions = db.session.scalars(
        select(AuditEntry.action).where(AuditEntry.entity_type == "reason_category")
    ).all()
    assert actions == ["deactivate", "reactivate"]


def test_taxonomy_add_and_rename_keep_the_slug(client, users, auth, make_debrief):
    auth.login(users.admin)
    price = _by_name(ReasonCategory, ReasonCategory.slug, "price")
    added = client.post(f"/admin/taxonomy/{price.id}/categories", data={"new-name": "Hidden fees"})
    assert added.status_code == 302
    fees = _by_name(ReasonCategory, ReasonCategory.slug, "price.hidden-fees")
    assert fees.name == "Hidden fees" and fees.parent_id == price.id and fees.active

    duplicate = client.post(
        f"/admin/taxonomy/{price.id}/categories", data={"new-name": "hidden  FEES"}
    )
    assert duplicate.status_code == 422
    assert "already a category" in duplicate.get_data(as_text=True)
    group = client.post("/admin/taxonomy", data={"name": "Legal & contracts"})
    assert group.status_code == 302
    assert _by_name(ReasonCategory, ReasonCategory.slug, "legal-contracts").parent_id is None
    assert client.post("/admin/taxonomy", data={"name": "PRICE"}).status_code == 422

    debrief = make_debrief(users.rep)
    total_cost = _by_name(ReasonCategory, ReasonCategory.slug, "price.total-cost")
    before = _count(IndexChange)
    renamed = client.post(f"/admin/taxonomy/{total_cost.id}", data={"name": "Overall cost"})
    assert renamed.status_code == 302
    db.session.expire_all()
    assert total_cost.slug == "price.total-cost" and total_cost.name == "Overall cost"
    assert _queued_since(before) == [debrief.id]
    assert "Price › Overall cost" in client.get(f"/debriefs/{debrief.id}").get_data(as_text=True)
    sibling = client.post(f"/admin/taxonomy/{total_cost.id}", data={"name": "pricing model"})
    assert sibling.status_code == 422

    before = _count(IndexChange)
    client.post(f"/admin/taxonomy/{price.id}", data={"name": "Pricing"})
    assert _count(IndexChange) == before + 1
    page = client.get("/admin/taxonomy").get_data(as_text=True)
    assert "Pricing" in page and "price.hidden-fees" in page


# --- Lists -------------------------------------------------------------------------


def test_choice_rename_updates_deals_and_removal_needs_no_use(client, users, auth, make_debrief):
    debrief = make_debrief(users.rep)  # Enterprise, EMEA
    make_debrief(users.peer, deal={"name": "Small", "segment": "SMB"})
    enterprise = _by_name(Choice, Choice.value, "Enterprise")
    auth.login(users.admin)
    before = _count(IndexChange)
    response = client.post(f"/admin/lists/{enterprise.id}", data={"value": "Large enterprise"})
    assert response.status_code == 302
    db.session.expire_all()
    assert debrief.deal.segment == "Large enterprise"
    assert _by_name(Deal, Deal.name, "Small").segment == "SMB"
    assert _queued_since(before) == [debrief.id]
    entry = _by_name(AuditEntry, AuditEntry.entity_type, "choice")
    assert entry.changes == {"value": ["Enterprise", "Large enterprise"]}
    assert "1 deal updated" in entry.summary
    assert "Large enterprise" in client.get(f"/debriefs/{debrief.id}").get_data(as_text=True)

    duplicate = client.post("/admin/lists/segment", data={"segment-value": "smb"})
    assert duplicate.status_code == 422 and "already on the list" in duplicate.get_data(
        as_text=True
    )
    assert client.post("/admin/lists/region", data={"region-value": "Nordics"}).status_code == 302
    assert _by_name(Choice, Choice.value, "Nordics").kind == "region"

    emea = _by_name(Choice, Choice.value, "EMEA")
    in_use = client.post(f"/admin/lists/{emea.id}/remove")
    assert in_use.status_code == 422 and "used by 2 deals" in in_use.get_data(as_text=True)
    assert db.session.get(Choice, emea.id) is not None
    latam = _by_name(Choice, Choice.value, "LATAM")
    assert client.post(f"/admin/lists/{latam.id}/remove").status_code == 302
    assert _by_name(Choice, Choice.value, "LATAM") is None


# --- API tokens ----------------------------------------------------------------------


def test_token_is_shown_once_works_and_stops_after_revoke(client, users, auth):
    auth.login(users.rep)
    created = client.post("/settings/tokens", data={"name": "CRM sync"})
    assert created.status_code == 200
    assert created.headers["Cache-Control"] == "no-store"
    html = created.get_data(as_text=True)
    token = re.search(r'value="(kb_[A-Za-z0-9_-]{20,})"', html).group(1)
    assert "will not be shown again" in html
    listed = client.get("/settings/tokens").get_data(as_text=True)
    assert token not in listed and token[:10] in listed and "CRM sync" in listed

    bearer = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/debriefs", headers=bearer).status_code == 200
    record = _by_name(ApiToken, ApiToken.prefix, token[:10])
    assert record.user_id == users.rep.id

    auth.logout()
    auth.login(users.peer)
    assert client.post(f"/settings/tokens/{record.id}/revoke").status_code == 404
    auth.logout()
    auth.login(users.rep)
    assert client.post(f"/settings/tokens/{record.id}/revoke").status_code == 302
    assert client.get("/api/v1/debriefs", headers=bearer).status_code == 401
    assert "Revoked" in client.get("/settings/tokens").get_data(as_text=True)
    entry = _by_name(AuditEntry, AuditEntry.action, "revoke")
    assert entry.entity_type == "api_token" and entry.entity_id == record.id


def test_admin_revokes_anyones_token(client, users, auth, api):
    assert api.get(users.peer, "/api/v1/debriefs").status_code == 200
    token = db.session.scalar(select(ApiToken).where(ApiToken.user_id == users.peer.id))
    auth.login(users.admin)
    page = client.get(f"/admin/users/{users.peer.id}").get_data(as_text=True)
    assert token.prefix in page
    wrong_user = client.post(f"/admin/users/{users.rep.id}/tokens/{token.id}/revoke")
    assert wrong_user.status_code == 404
    assert client.post(f"/admin/users/{users.peer.id}/tokens/{token.id}/revoke").status_code == 302
    assert api.get(users.peer, "/api/v1/debriefs").status_code == 401


# --- The audit log -------------------------------------------------------------------


def test_audit_log_lists_filters_and_pages_the_writes(client, users, auth):
    auth.login(users.admin)
    client.post("/admin/teams", data={"name": "North"})
    acme = _by_name(Competitor, Competitor.name, "Acme")
    client.post(f"/admin/competitors/{acme.id}", data={"name": "Acme Ltd"})
    html = client.get("/admin/audit").get_data(as_text=True)
    rows = html[html.index("<tbody>") :]
    assert rows.index("Acme Ltd") < rows.index("North") < rows.index("admin@example.com")
    assert "Ada Admin" in html and f"/admin/competitors/{acme.id}" in html
    assert "<td>name</td><td>Acme</td><td>Acme Ltd</td>" in html

    teams_only = client.get("/admin/audit?entity_type=team").get_data(as_text=True)
    assert "North" in teams_only and "Acme Ltd" not in teams_only
    by_rep = client.get(f"/admin/audit?user={users.rep.id}").get_data(as_text=True)
    assert "Nothing recorded for these filters" in by_rep

    for i in range(55):
        service.create_team(users.admin, f"Team {i:02d}")
    first = client.get("/admin/audit").get_data(as_text=True)
    assert "Team 54" in first and "Page 1 of 2" in first and "Acme Ltd" not in first
    second = client.get("/admin/audit?page=2").get_data(as_text=True)
    assert "Acme Ltd" in second and "Team 54" not in second


def test_an_admin_who_sets_their_own_password_stays_signed_in(client, users, auth):
    auth.login(users.admin)
    other = users.admin.email
    response = client.post(
        f"/admin/users/{users.admin.id}/password", data={"password": "brand new password"}
    )
    assert response.status_code == 302
    # Still signed in on this browser: the admin pages still open.
    assert client.get("/admin/users").status_code == 200
    auth.logout()
    assert auth.login(other, "brand new password").status_code == 302
