"""Themes through their pages: creating one from a search, editing and
deleting it, every kind of bad input answered on the field it belongs to with
nothing stored, and who may do what (everyone reads; reps do not curate)."""

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from kb.extensions import db
from kb.models import AuditEntry, Theme, ThemeStatus
from kb.themes import service


def theme_form(**overrides) -> dict:
    form = {
        "name": "Implementation timeline",
        "description": "Acme sells a shorter rollout.",
        "query": '"implementation timeline"',
        "filters-outcome": "lost",
        "filters-competitor": "Acme",
        "filters-segment": "Enterprise",
        "polarity": "weakness",
        "status": "tracked",
        "owner_id": "",
        "notes": "",
    }
    form.update(overrides)
    return form


def counts() -> tuple[int, int]:
    themes = db.session.scalar(select(func.count()).select_from(Theme))
    audits = db.session.scalar(
        select(func.count()).select_from(AuditEntry).where(AuditEntry.entity_type == "theme")
    )
    return themes, audits


def make_theme(user, **overrides) -> Theme:
    payload = {
        "name": "Per-seat pricing",
        "query": '"per-seat pricing"',
        "filters": {"outcome": "lost", "segment": "Mid-market"},
        "polarity": "weakness",
    }
    payload.update(overrides)
    return service.save_theme(user, service.parse(payload))


# ------------------------------------------------------------ creating


def test_a_manager_creates_a_theme_with_canonical_filters(client, auth, users):
    auth.login(users.manager)
    response = client.post(
        "/themes/new",
        data=theme_form(
            **{
                "filters-competitor": "acme corp",  # an alias
                "filters-segment": "enterprise",
                "filters-category": ["implementation-risk.time-to-value"],
                "owner_id": str(users.marketing.id),
            }
        ),
    )
    assert response.status_code == 302
    theme = db.session.scalar(select(Theme))
    assert response.headers["Location"].endswith(f"/themes/{theme.id}")
    assert theme.filters == {
        "outcome": "lost",
        "competitor": "Acme",
        "segment": "Enterprise",
        "category": ["implementation-risk.time-to-value"],
    }
    assert theme.query == '"implementation timeline"'
    assert (theme.polarity.value, theme.status.value) == ("weakness", "tracked")
    assert theme.owner_id == users.marketing.id and theme.created_by_id == users.manager.id
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.entity_type == "theme"))
    assert (entry.action, entry.entity_id, entry.user_id) == ("create", theme.id, users.manager.id)

    page = client.get(f"/themes/{theme.id}")
    assert page.status_code == 200
    assert b"Implementation timeline" in page.data and b"Acme" in page.data


@pytest.mark.parametrize("role", ["manager", "marketing", "admin"])
def test_managers_marketing_and_admins_manage_themes(client, auth, users, role):
    auth.login(getattr(users, role))
    assert client.get("/themes/new").status_code == 200
    assert client.post("/themes/new", data=theme_form(name=f"By {role}")).status_code == 302
    theme = db.session.scalar(select(Theme))
    edited = client.post(f"/themes/{theme.id}/edit", data=theme_form(name=f"By {role}, edited"))
    assert edited.status_code == 302
    assert client.post(f"/themes/{theme.id}/delete").status_code == 302
    assert counts()[0] == 0


def test_save_as_theme_prefills_the_form_from_search_parameters(client, auth, users):
    auth.login(users.marketing)
    page = client.get(
        "/themes/new",
        query_string={
            "q": '"security review" -pricing',
            "outcome": "won",
            "competitor": "Globex",
            "category": ["product.security-and-compliance", "price.total-cost"],
            "date_from": "2025-01-01",
            "page": "3",  # search-page parameters that are not filters are ignored
        },
    )
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'value="&#34;security review&#34; -pricing"' in html
    assert '<option selected value="won">' in html
    assert '<option selected value="Globex">' in html
    checked = re.findall(r'<input checked id="filters-category-\d+"[^>]*value="([^"]+)"', html)
    assert sorted(checked) == ["price.total-cost", "product.security-and-compliance"]
    assert 'value="2025-01-01"' in html


# ------------------------------------------------------------ who may


def test_a_rep_reads_themes_but_cannot_curate_them(client, auth, users):
    theme = make_theme(users.manager)
    auth.login(users.rep)
    assert client.get("/themes/").status_code == 200
    page = client.get(f"/themes/{theme.id}")
    assert page.status_code == 200
    assert b"Per-seat pricing" in page.data
    assert f"/themes/{theme.id}/edit".encode() not in page.data
    before = counts()
    assert client.get("/themes/new").status_code == 403
    assert client.post("/themes/new", data=theme_form()).status_code == 403
    assert client.get(f"/themes/{theme.id}/edit").status_code == 403
    assert client.post(f"/themes/{theme.id}/edit", data=theme_form()).status_code == 403
    assert client.post(f"/themes/{theme.id}/delete").status_code == 403
    assert counts() == before
    with pytest.raises(service.NotAllowed):
        make_theme(users.rep, name="Sneaky")


def test_theme_pages_need_a_signed_in_user(client, users):
    theme = make_theme(users.manager)
    for url in ("/themes/", f"/themes/{theme.id}", "/themes/new"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_an_unknown_theme_is_not_found(client, auth, users):
    auth.login(users.manager)
    assert client.get("/themes/999").status_code == 404
    assert client.post("/themes/999/delete").status_code == 404


# ------------------------------------------------------------ bad input

# Stands for tomorrow's date, which is known only when the test runs.
TOMORROW = "<tomorrow>"


def on_the_day(value):
    if value == TOMORROW:
        return (date.today() + timedelta(days=1)).isoformat()
    return value


BAD_INPUT = [
    ({"name": "  "}, "name", "This field cannot be empty."),
    ({"name": "x" * 121}, "name", "Keep this to 120 characters or fewer."),
    ({"query": "x" * 501}, "query", "Keep this to 500 characters or fewer."),
    (
        {
            "query": "",
            "filters-outcome": "",
            "filters-competitor": "",
            "filters-segment": "",
        },
        "query",
        "A theme needs a query or at least one filter.",
    ),
    ({"query": '"per-seat pricing'}, "query", "Close the quotation marks"),
    ({"query": "(pricing"}, "query", "brackets"),
    ({"query": "!!! ???"}, "query", "no words"),
    (
        {"filters-competitor": "Nobody Inc"},
        "filters-competitor",
        "Unknown competitor 'Nobody Inc'.",
    ),
    ({"filters-segment": "Galactic"}, "filters-segment", "Unknown segment 'Galactic'."),
    ({"filters-outcome": "maybe"}, "filters-outcome", "Choose one of: won, lost, no_decision."),
    ({"filters-category": ["price.free-lunch"]}, "filters-category", "Unknown reason category"),
    ({"filters-date_from": "2025-02-30"}, "filters-date_from", "Enter a real date"),
    (
        {"filters-date_from": "2025-06-01", "filters-date_to": "2025-01-01"},
        "filters-date_to",
        "The end of the period is before its start.",
    ),
    ({"filters-date_from": TOMORROW}, "filters-date_from", "starts in the future"),
    ({"filters-quarter": "2025-Q5"}, "filters-quarter", "YYYY-Q1 to YYYY-Q4"),
    (
        {"filters-quarter": "2024-Q1", "filters-date_from": "2025-01-01"},
        "filters-quarter",
        "outside the dates",
    ),
    ({"polarity": "great"}, "polarity", "Choose one of"),
    ({"status": "addressed"}, "addressed_on", "Give the date the theme was addressed."),
    (
        {"status": "addressed", "addressed_on": TOMORROW},
        "addressed_on",
        "cannot be in the future",
    ),
    ({"status": "addressed", "addressed_on": "last week"}, "addressed_on", "Enter a real date"),
    ({"owner_id": "99999"}, "owner_id", "Choose an active user"),
]


@pytest.mark.parametrize(("overrides", "field_id", "message"), BAD_INPUT)
def test_bad_input_is_shown_on_its_field_and_nothing_is_stored(
    client, auth, users, overrides, field_id, message
):
    overrides = {key: on_the_day(value) for key, value in overrides.items()}
    auth.login(users.manager)
    before = counts()
    response = client.post("/themes/new", data=theme_form(**overrides))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert f'id="{field_id}-error"' in html, html
    error = html.split(f'id="{field_id}-error">', 1)[1].split("</p>", 1)[0]
    assert message.replace("'", "&#39;") in error
    assert counts() == before
    # What was typed is still there.
    name = overrides.get("name", "Implementation timeline")
    if name.strip():
        assert f'value="{name}"' in html


def test_theme_names_are_unique_whatever_their_case(client, auth, users):
    make_theme(users.manager)
    auth.login(users.marketing)
    before = counts()
    response = client.post("/themes/new", data=theme_form(name="PER-SEAT PRICING"))
    assert response.status_code == 422
    assert "A theme called &#39;PER-SEAT PRICING&#39; already exists" in response.get_data(
        as_text=True
    )
    assert counts() == before


def test_a_theme_keeps_its_own_name_when_edited(client, auth, users):
    theme = make_theme(users.manager)
    auth.login(users.manager)
    response = client.post(
        f"/themes/{theme.id}/edit",
        data=theme_form(name="Per-seat pricing", notes="Seen in every mid-market loss."),
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Theme, theme.id).notes == "Seen in every mid-market loss."


# ------------------------------------------------------------ editing


def test_marking_a_theme_addressed_is_audited_with_what_changed(client, auth, users):
    theme = make_theme(users.manager)
    auth.login(users.marketing)
    edit_page = client.get(f"/themes/{theme.id}/edit")
    assert edit_page.status_code == 200
    assert 'value="&#34;per-seat pricing&#34;"' in edit_page.get_data(as_text=True)
    addressed = (date.today() - timedelta(days=30)).isoformat()
    response = client.post(
        f"/themes/{theme.id}/edit",
        data={
            "name": "Per-seat pricing",
            "query": '"per-seat pricing"',
            "filters-outcome": "lost",
            "filters-segment": "Mid-market",
            "polarity": "weakness",
            "status": "addressed",
            "addressed_on": addressed,
            "addressed_action": "Launched a platform price.",
            "owner_id": "",
        },
    )
    assert response.status_code == 302
    db.session.expire_all()
    theme = db.session.get(Theme, theme.id)
    assert theme.status == ThemeStatus.ADDRESSED
    assert theme.addressed_on.isoformat() == addressed
    entry = db.session.scalar(
        select(AuditEntry).where(AuditEntry.entity_type == "theme", AuditEntry.action == "update")
    )
    assert entry.user_id == users.marketing.id
    assert entry.changes["status"] == ["emerging", "addressed"]
    assert entry.changes["addressed_on"] == [None, addressed]

    # Saving without a change records nothing.
    page = client.get(f"/themes/{theme.id}/edit").get_data(as_text=True)
    assert "Launched a platform price." in page
    before = counts()
    service.save_theme(users.marketing, service.parse(service.as_input(theme)), theme)
    assert counts() == before


def test_reopening_an_addressed_theme_drops_the_date(users):
    theme = make_theme(
        users.manager,
        status="addressed",
        addressed_on=(date.today() - timedelta(days=3)).isoformat(),
        addressed_action="New pricing.",
    )
    data = service.parse({**service.as_input(theme), "status": "tracked"})
    theme = service.save_theme(users.manager, data, theme)
    assert theme.addressed_on is None and theme.addressed_action == "New pricing."


def test_deleting_a_theme_keeps_it_in_the_audit_log(client, auth, users):
    theme = make_theme(users.manager)
    auth.login(users.admin)
    response = client.post(f"/themes/{theme.id}/delete")
    assert response.status_code == 302 and response.headers["Location"].endswith("/themes/")
    assert db.session.get(Theme, theme.id) is None
    entry = db.session.scalar(
        select(AuditEntry).where(AuditEntry.entity_type == "theme", AuditEntry.action == "delete")
    )
    assert entry.changes["content"][0]["name"] == "Per-seat pricing"


def test_a_filter_only_theme_needs_no_query(users):
    theme = make_theme(users.manager, name="Lost to Acme", query="", filters={"competitor": "ACME"})
    assert theme.query == "" and theme.filters == {"competitor": "Acme"}


def test_the_overview_lists_every_theme(client, auth, users):
    make_theme(users.manager)
    make_theme(users.manager, name="Security review", query='"security review"', filters={})
    auth.login(users.rep)
    html = client.get("/themes/").get_data(as_text=True)
    assert "Per-seat pricing" in html and "Security review" in html
    assert "/themes/new" not in html  # a rep is not offered to create one
