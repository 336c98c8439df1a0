"""JSON API v1 for themes: round trip, PATCH, DELETE, per-field errors with
nothing stored, and the roles that may write."""

from sqlalchemy import func, select

from kb.extensions import db
from kb.models import AuditEntry, Theme

URL = "/api/v1/themes"


def theme_payload(**overrides) -> dict:
    payload = {
        "name": "Security review",
        "description": "We clear security reviews faster than Globex.",
        "query": '"security review"',
        "filters": {"outcome": "won", "competitor": "globex"},
        "polarity": "strength",
        "status": "tracked",
    }
    payload.update(overrides)
    return payload


def stored_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Theme))


def test_post_then_get_returns_the_same_theme(api, users):
    created = api.post(users.marketing, URL, json=theme_payload(owner_id=users.manager.id))
    assert created.status_code == 201, created.json
    body = created.json
    assert created.headers["Location"].endswith(f"{URL}/{body['id']}")
    assert body["filters"] == {"outcome": "won", "competitor": "Globex"}
    assert body["owner"] == {"id": users.manager.id, "name": "Mona Manager"}
    assert body["status"] == "tracked" and body["addressed_on"] is None
    assert body["url"].endswith(f"/themes/{body['id']}")

    got = api.get(users.rep, f"{URL}/{body['id']}")
    assert got.status_code == 200
    assert {k: got.json[k] for k in ("name", "query", "filters", "polarity")} == {
        k: body[k] for k in ("name", "query", "filters", "polarity")
    }
    listed = api.get(users.rep, URL)
    assert listed.status_code == 200
    assert [t["name"] for t in listed.json["items"]] == ["Security review"]


def test_patch_changes_only_the_fields_sent(api, users):
    theme_id = api.post(users.manager, URL, json=theme_payload()).json["id"]
    response = api.patch(
        users.manager,
        f"{URL}/{theme_id}",
        json={"status": "addressed", "addressed_on": "2025-06-30", "addressed_action": "Pack."},
    )
    assert response.status_code == 200, response.json
    assert response.json["status"] == "addressed"
    assert response.json["addressed_on"] == "2025-06-30"
    assert response.json["query"] == '"security review"'
    assert response.json["filters"] == {"outcome": "won", "competitor": "Globex"}
    entry = db.session.scalar(
        select(AuditEntry).where(AuditEntry.entity_type == "theme", AuditEntry.action == "update")
    )
    assert entry.changes["status"] == ["tracked", "addressed"]


def test_delete_removes_the_theme(api, users):
    theme_id = api.post(users.admin, URL, json=theme_payload()).json["id"]
    assert api.delete(users.admin, f"{URL}/{theme_id}").status_code == 204
    assert db.session.get(Theme, theme_id) is None
    assert api.get(users.admin, f"{URL}/{theme_id}").status_code == 404
    assert api.delete(users.admin, f"{URL}/{theme_id}").status_code == 404


def test_a_rep_may_read_but_not_write(api, users):
    theme_id = api.post(users.manager, URL, json=theme_payload()).json["id"]
    before = stored_count()
    for response in (
        api.post(users.rep, URL, json=theme_payload(name="Other")),
        api.patch(users.rep, f"{URL}/{theme_id}", json={"name": "Renamed"}),
        api.delete(users.rep, f"{URL}/{theme_id}"),
    ):
        assert response.status_code == 403
        assert response.json["error"] == "forbidden"
    assert stored_count() == before
    assert api.get(users.rep, f"{URL}/{theme_id}").json["name"] == "Security review"


def test_bad_input_comes_back_per_field_and_nothing_is_stored(api, users):
    api.post(users.manager, URL, json=theme_payload())
    before = stored_count()
    cases = [
        (theme_payload(name="security REVIEW"), "name", "already exists"),
        (theme_payload(name="Other", query="", filters={}), "query", "a query or at least one"),
        (theme_payload(name="Other", query="x" * 501), "query", "500 characters"),
        (
            theme_payload(name="Other", filters={"colour": "red"}),
            "filters.colour",
            "Unknown filter",
        ),
        (
            theme_payload(name="Other", filters={"competitor": "Nobody"}),
            "filters.competitor",
            "Unknown competitor",
        ),
        (
            theme_payload(name="Other", filters={"category": "price.free-lunch"}),
            "filters.category",
            "Unknown reason category",
        ),
        (
            theme_payload(
                name="Other", filters={"date_from": "2025-05-01", "date_to": "2025-04-01"}
            ),
            "filters.date_to",
            "before its start",
        ),
        (theme_payload(name="Other", filters=["lost"]), "filters", "Send an object."),
        (theme_payload(name="Other", status="addressed"), "addressed_on", "Give the date"),
        (theme_payload(name="Other", polarity="bad"), "polarity", "Choose one of"),
        (theme_payload(name="Other", owner_id=0), "owner_id", "at least 1"),
        (theme_payload(name="Other", colour="red"), "colour", "Unknown field."),
    ]
    for payload, field, message in cases:
        response = api.post(users.manager, URL, json=payload)
        assert response.status_code == 400, (payload, response.json)
        assert response.json["error"] == "validation_failed"
        assert message in response.json["fields"][field], (field, response.json)
    assert api.post(users.manager, URL, json=["not", "an", "object"]).status_code == 400
    assert stored_count() == before


def test_writes_must_be_json(api, users):
    response = api.post(users.manager, URL, data="name=x")
    assert response.status_code == 415


# ------------------------------------------------------------ figures and discovery


def test_a_theme_comes_with_the_figures_of_its_page(api, users, make_debrief):
    for i, outcome in enumerate(("lost", "lost", "won")):
        make_debrief(
            users.rep,
            deal={
                "name": f"Deal {i}",
                "outcome": outcome,
                "winner": None if outcome == "won" else "Acme",
            },
            competitive_notes="The migration weekend scared them.",
        )
    make_debrief(users.rep, deal={"name": "Quiet"}, competitive_notes="Nothing.")
    payload = theme_payload(query='"migration weekend"', filters={})
    theme_id = api.post(users.manager, URL, json=payload).json["id"]
    body = api.get(users.rep, f"{URL}/{theme_id}").json
    f = body["figures"]
    assert (f["mentions"], f["debriefs"], f["total_mentions"]) == (3, 4, 3)
    assert f["deals_mentioning"] == {
        "won": 1,
        "lost": 2,
        "no_decision": 0,
        "win_rate": 1 / 3,
        "win_rate_withheld": None,
    }
    assert f["baseline"]["lost"] == 3 and f["baseline"]["won"] == 1
    assert f["revenue"] == {"USD": {"won": 48000.0, "lost": 96000.0}}
    assert [s["label"] for s in f["by_competitor"]] == ["Acme"]
    assert len(f["trend"]["points"]) == 8 and f["before_after"] is None
    assert body["search_url"].startswith("http") or body["search_url"].startswith("/search")
    monthly = api.get(users.rep, f"{URL}/{theme_id}?by=month&period=all").json["figures"]
    assert len(monthly["trend"]["points"]) == 12
    bad = api.get(users.rep, f"{URL}/{theme_id}?date_from=2025-13-01")
    assert bad.status_code == 400 and "date_from" in bad.json["fields"]

    listed = api.get(users.rep, f"{URL}?figures=1&period=365d").json["items"][0]["figures"]
    assert listed["mentions"] == 3 and len(listed["quarters"]) == 8


def test_discover_returns_terms_and_phrases_with_counts_and_scores(api, users, make_debrief):
    for i, text in enumerate(("A renewal cliff.", "The renewal cliff!", "Renewal cliff again.")):
        make_debrief(users.rep, deal={"name": f"Lost {i}"}, competitive_notes=text)
    for i in range(9):
        make_debrief(
            users.rep,
            deal={"name": f"Won {i}", "outcome": "won", "winner": None},
            competitive_notes="Fine.",
        )
    response = api.get(users.marketing, f"{URL}/discover?outcome=lost&min_support=2")
    assert response.status_code == 200, response.json
    body = response.json
    assert body["subset"] == {"query": "", "filters": {"outcome": "lost"}, "debriefs": 3}
    assert body["background"] == {"kind": "all", "debriefs": 12}
    cliff = next(p for p in body["phrases"] if p["phrase"] == "renewal cliff")
    assert cliff["subset"]["debriefs"] == 3 and cliff["background"]["debriefs"] == 3
    assert cliff["rest"] == {"debriefs": 0, "of": 9}
    assert abs(cliff["g2"] - 13.496) < 0.001
    assert cliff["query"] == '"renewal cliff"' and cliff["examples"]
    assert all(t["words"] == 1 for t in body["terms"])


def test_discover_rejects_bad_parameters(api, users):
    for query, field in (
        ("min_support=0", "min_support"),
        ("min_support=1001", "min_support"),
        ("min_support=x", "min_support"),
        ("background=previous", "background"),
        ("background=nope", "background"),
        ("date_from=2025-05-01&date_to=2025-01-01", "date_to"),
        ("competitor=Nobody", "competitor"),
        ("q=outcome:maybe", "q"),
    ):
        response = api.get(users.manager, f"{URL}/discover?{query}")
        assert response.status_code == 400, query
        assert field in response.json["fields"], (query, response.json)


def test_filters_take_what_the_search_page_sends(api, users):
    """Groups of reason categories, who won, and one value per filter."""
    body = api.post(
        users.manager,
        URL,
        json=theme_payload(
            filters={"category": ["price", "product.integrations"], "winner": "acme corp"}
        ),
    ).json
    assert body["filters"] == {"winner": "Acme", "category": ["price", "product.integrations"]}
    body = api.post(
        users.manager, URL, json=theme_payload(name="Wins", filters={"winner": "US"})
    ).json
    assert body["filters"] == {"winner": "us"}
    response = api.post(
        users.manager,
        URL,
        json=theme_payload(name="Two", filters={"competitor": ["Acme", "Globex"]}),
    )
    assert response.status_code == 400
    assert "Choose one competitor" in response.json["fields"]["filters.competitor"]
