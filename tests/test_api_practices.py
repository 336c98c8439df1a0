"""JSON API v1 for practices: round trip, listing and filters, PATCH and
DELETE, endorsements and comments, permissions, and bad input answered with
per-field errors, storing nothing."""

import pytest

from kb.extensions import db
from kb.models import Practice
from tests.test_practices import counts, make_practice, practice_payload  # noqa: F401

URL = "/api/v1/practices"


def ready(api, *people):
    """Make a first call per user, which creates their token (and its audit
    row), so that later row counts see only what the call under test stores."""
    for user in people:
        assert api.get(user, URL).status_code == 200


# ---------------------------------------------------------------- round trip


def test_post_then_get_returns_the_same_practice(api, users, make_debrief):
    debrief = make_debrief(users.rep, deal={"outcome": "won", "winner": None})
    created = api.post(users.rep, URL, json=practice_payload(debrief_id=debrief.id))
    assert created.status_code == 201, created.json
    body = created.json
    assert created.headers["Location"].endswith(f"{URL}/{body['id']}")
    assert api.get(users.rep, created.headers["Location"]).json == body

    assert body["title"] == practice_payload()["title"]
    assert body["tags"] == ["enterprise", "security"]
    assert body["status"] == "published" and body["published_at"] is not None
    assert body["author"] == {"id": users.rep.id, "name": "Rita Rep"}
    assert body["byline"] == "Rita Rep"
    assert body["context"] == {
        "competitors": ["Acme"],
        "segment": "Enterprise",
        "outcome": "won",
        "deal": {"id": debrief.deal_id, "name": "Initech renewal"},
        "debrief_id": debrief.id,
    }
    assert body["endorsements"] == {"tried": 0, "helpful": 0}
    assert body["comments"] == [] and body["featured"] is False
    assert body["page_url"].endswith(f"/practices/{body['id']}")


def test_list_filters_and_paginates(api, users, make_practice):  # noqa: F811
    for i in range(5):
        make_practice(users.rep, title=f"Practice {i}", tags=["even" if i % 2 == 0 else "odd"])
    make_practice(users.rep, title="Draft one", status="draft")
    make_practice(users.peer, kind="lesson", title="A lesson", actions="Mind the budget cycle.")

    listing = api.get(users.peer, f"{URL}?per_page=2").json
    assert (listing["total"], listing["pages"], listing["per_page"]) == (6, 3, 2)
    assert [p["title"] for p in listing["items"]] == ["A lesson", "Practice 4"]
    last = api.get(users.peer, f"{URL}?per_page=2&page=3").json["items"]
    assert [p["title"] for p in last] == ["Practice 1", "Practice 0"]
    titles = lambda q: [p["title"] for p in api.get(users.peer, f"{URL}?{q}").json["items"]]  # noqa: E731
    assert titles("kind=lesson") == ["A lesson"]
    assert titles("tag=odd") == ["Practice 3", "Practice 1"]
    assert titles("q=budget") == ["A lesson"]
    assert titles(f"author={users.peer.id}") == ["A lesson"]
    assert "Draft one" not in titles("")
    assert titles("mine=1") == ["A lesson"]
    assert "Draft one" in [p["title"] for p in api.get(users.rep, f"{URL}?mine=1").json["items"]]
    for bad in ("page=0", "per_page=abc", "page=-1"):
        response = api.get(users.peer, f"{URL}?{bad}")
        assert response.status_code == 400 and response.json["error"] == "invalid_parameter"


def test_patch_changes_only_what_is_sent(api, users, make_practice):  # noqa: F811
    practice = make_practice(users.rep)
    response = api.patch(users.rep, f"{URL}/{practice.id}", json={"title": "Sharper title"})
    assert response.status_code == 200, response.json
    assert response.json["title"] == "Sharper title"
    assert response.json["actions"] == practice_payload()["actions"]
    unpublished = api.patch(users.rep, f"{URL}/{practice.id}", json={"status": "draft"})
    assert unpublished.json["status"] == "draft"
    admin = api.patch(users.admin, f"{URL}/{practice.id}", json={"tags": ["x"]})
    assert admin.status_code == 200 and admin.json["tags"] == ["x"]
    assert admin.json["author"]["id"] == users.rep.id


def test_delete(api, users, make_practice):  # noqa: F811
    practice = make_practice(users.rep)
    assert api.delete(users.peer, f"{URL}/{practice.id}").status_code == 403
    assert api.delete(users.manager, f"{URL}/{practice.id}").status_code == 403
    assert api.delete(users.rep, f"{URL}/{practice.id}").status_code == 204
    assert api.get(users.rep, f"{URL}/{practice.id}").status_code == 404
    db.session.expire_all()
    assert db.session.get(Practice, practice.id) is None


# ---------------------------------------------------------------- permissions


def test_someone_elses_draft_does_not_exist(api, users, make_practice):  # noqa: F811
    draft = make_practice(users.rep, status="draft")
    for user in (users.peer, users.manager, users.marketing):
        assert api.get(user, f"{URL}/{draft.id}").status_code == 404
        assert api.patch(user, f"{URL}/{draft.id}", json={"title": "x"}).status_code == 404
        assert api.delete(user, f"{URL}/{draft.id}").status_code == 404
        assert (
            api.post(user, f"{URL}/{draft.id}/endorsements", json={"kind": "tried"}).status_code
            == 404
        )
    assert api.get(users.admin, f"{URL}/{draft.id}").status_code == 200


def test_only_the_author_or_an_admin_edits(api, users, make_practice):  # noqa: F811
    practice = make_practice(users.rep)
    for user in (users.peer, users.manager, users.marketing):
        response = api.patch(user, f"{URL}/{practice.id}", json={"title": "Mine now"})
        assert response.status_code == 403 and response.json["error"] == "forbidden"
    db.session.expire_all()
    assert db.session.get(Practice, practice.id).title != "Mine now"


def test_every_role_may_share(api, users):
    for role in ("rep", "manager", "marketing", "admin"):
        user = getattr(users, role)
        response = api.post(user, URL, json=practice_payload(title=role))
        assert response.status_code == 201
        stored = db.session.get(Practice, response.json["id"])
        assert (stored.title, stored.author_id) == (role, user.id)


def test_featuring_is_for_managers_and_admins(api, users, make_practice):  # noqa: F811
    practice = make_practice(users.rep)
    ready(api, users.rep, users.peer, users.marketing)
    before = counts()
    for user in (users.rep, users.peer, users.marketing):
        response = api.post(user, f"{URL}/{practice.id}/feature", json={})
        assert response.status_code == 403
        assert "managers and admins" in response.json["message"]
    assert counts() == before
    featured = api.post(users.manager, f"{URL}/{practice.id}/feature", json={})
    assert featured.status_code == 200 and featured.json["featured"] is True
    assert api.delete(users.admin, f"{URL}/{practice.id}/feature").json["featured"] is False
    draft = make_practice(users.rep, status="draft")
    refused = api.post(users.admin, f"{URL}/{draft.id}/feature", json={})
    assert refused.status_code == 400
    assert refused.json["fields"] == {"featured": "Only a published practice can be featured."}


def test_the_api_needs_a_token(client, users, make_practice):  # noqa: F811
    practice = make_practice(users.rep)
    assert client.get(URL).status_code == 401
    assert client.get(f"{URL}/{practice.id}").status_code == 401
    assert client.post(URL, json=practice_payload()).status_code == 401


# ------------------------------------------------------ endorsements, comments


def test_endorse_once_per_kind(api, users, make_practice):  # noqa: F811
    practice = make_practice(users.rep)
    url = f"{URL}/{practice.id}/endorsements"
    first = api.post(users.peer, url, json={"kind": "tried"})
    assert first.status_code == 201
    assert first.json["endorsements"] == {"tried": 1, "helpful": 0}
    assert first.json["my_endorsements"] == ["tried"]
    before = counts()
    again = api.post(users.peer, url, json={"kind": "tried"})
    assert again.status_code == 409
    assert again.json["error"] == "already_endorsed"
    assert again.json["message"] == "You already endorsed this."
    assert counts() == before
    assert api.post(users.peer, url, json={"kind": "helpful"}).status_code == 201

    assert api.delete(users.peer, f"{url}/tried").status_code == 204
    missing = api.delete(users.peer, f"{url}/tried")
    assert missing.status_code == 404 and "not endorsed" in missing.json["message"]
    assert api.get(users.peer, f"{URL}/{practice.id}").json["endorsements"] == {
        "tried": 0,
        "helpful": 1,
    }


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"kind": "love"}, "kind", "Choose one of"),
        ({}, "kind", "required"),
        ({"kind": "tried", "weight": 2}, "weight", "Unknown field"),
    ],
)
def test_bad_endorsements(api, users, make_practice, body, field, message):  # noqa: F811
    practice = make_practice(users.rep)
    ready(api, users.peer)
    before = counts()
    response = api.post(users.peer, f"{URL}/{practice.id}/endorsements", json=body)
    assert response.status_code == 400
    assert message in response.json["fields"][field]
    assert counts() == before


def test_no_endorsing_your_own(api, users, make_practice):  # noqa: F811
    practice = make_practice(users.rep)
    response = api.post(users.rep, f"{URL}/{practice.id}/endorsements", json={"kind": "tried"})
    assert response.status_code == 400
    assert response.json["fields"]["kind"] == "You cannot endorse your own practice."


def test_comments(api, users, make_practice):  # noqa: F811
    practice = make_practice(users.rep)
    response = api.post(users.peer, f"{URL}/{practice.id}/comments", json={"body": "Tried it."})
    assert response.status_code == 201
    assert response.json["byline"] == "Pete Peer" and response.json["body"] == "Tried it."
    assert response.json["practice"]["comment_count"] == 1
    comments = api.get(users.marketing, f"{URL}/{practice.id}").json["comments"]
    assert [(c["byline"], c["body"]) for c in comments] == [("Pete Peer", "Tried it.")]


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"body": ""}, "body", "cannot be empty"),
        ({"body": "x" * 2001}, "body", "2000 characters"),
        ({"text": "hello"}, "text", "Unknown field"),
    ],
)
def test_bad_comments(api, users, make_practice, body, field, message):  # noqa: F811
    practice = make_practice(users.rep)
    ready(api, users.peer)
    before = counts()
    response = api.post(users.peer, f"{URL}/{practice.id}/comments", json=body)
    assert response.status_code == 400
    assert message in response.json["fields"][field]
    assert counts() == before


def test_commenting_on_a_draft_is_refused(api, users, make_practice):  # noqa: F811
    draft = make_practice(users.rep, status="draft")
    ready(api, users.rep)
    before = counts()
    response = api.post(users.rep, f"{URL}/{draft.id}/comments", json={"body": "Note"})
    assert response.status_code == 400
    assert response.json["fields"]["__root__"] == "Comments open once the practice is published."
    assert counts() == before


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"actions": ""}, "actions", "cannot be empty"),
        ({"actions": None}, "actions", "Enter text"),
        ({"title": "t" * 201}, "title", "200 characters"),
        ({"result": "r" * 10_001}, "result", "10000 characters"),
        ({"tags": ["a"] * 11}, "tags", "At most 10"),
        ({"anonymous": "perhaps"}, "anonymous", "true or false"),
        ({"featured": True}, "featured", "Unknown field"),
        ({"author_id": 1}, "author_id", "Unknown field"),
        ({"deal_id": 424242}, "deal_id", "No deal"),
    ],
)
def test_bad_input_is_refused_field_by_field(api, users, overrides, field, message):
    ready(api, users.rep)
    before = counts()
    response = api.post(users.rep, URL, json=practice_payload(**overrides))
    assert response.status_code == 400
    assert response.json["error"] == "validation_failed"
    assert message in response.json["fields"][field]
    assert counts() == before


def test_missing_fields_and_bad_bodies(api, users, client, make_practice):  # noqa: F811
    ready(api, users.rep)
    before = counts()
    response = api.post(users.rep, URL, json={"kind": "practice"})
    assert response.status_code == 400
    assert set(response.json["fields"]) == {"title", "actions"}
    assert api.post(users.rep, URL, json=["not", "an", "object"]).status_code == 400
    not_json = api.post(users.rep, URL, data="title=x", content_type="text/plain")
    assert not_json.status_code == 415
    broken = api.post(users.rep, URL, data="{", content_type="application/json")
    assert broken.status_code == 400 and broken.json["error"] == "invalid_json"
    practice = make_practice(users.rep)
    before = counts()
    patched = api.patch(users.rep, f"{URL}/{practice.id}", json={"colour": "red"})
    assert patched.status_code == 400 and patched.json["fields"] == {"colour": "Unknown field."}
    assert api.patch(users.rep, f"{URL}/{practice.id}", json=[1]).status_code == 400
    assert counts() == before
