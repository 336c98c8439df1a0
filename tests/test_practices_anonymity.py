"""An anonymous practice or lesson never reveals its author to anyone but an
admin: not the page (its text or its HTML source), not the API, not the
author filter, not the playbook's text search, not the debrief search (no
sentence of the practice finds her debriefs), not the home page, not the
audit views, not a link to the deal or the author's debrief. The author
sees it as theirs; an admin sees who wrote it."""

import html
import json
import re

import pytest

from kb.auth.service import create_user
from kb.extensions import db
from kb.models import EndorsementKind, Role
from kb.practices import service, traces
from kb.practices.presenters import present
from tests.conftest import PASSWORD
from tests.test_practices import make_practice, practice_payload, sign_in  # noqa: F401

NON_ADMINS = ("peer", "manager", "west_manager", "marketing", "west_rep")


@pytest.fixture
def anon(users, make_debrief, make_practice):  # noqa: F811
    """Zelda (a rep in Rita's team) publishes a lesson from her lost debrief of
    the Umbrella deal anonymously, and comments on it; Pete endorses it and
    Mona (their manager) features it."""
    author = create_user("zelda.quill@example.com", PASSWORD, Role.REP, "Zelda Quill", "East")
    db.session.commit()
    debrief = make_debrief(author, deal={"name": "Umbrella Megadeal", "account": "Umbrella Corp"})
    lesson = make_practice(
        author,
        kind="lesson",
        title="Anchor on total cost before procurement",
        actions="Put the three-year cost on the table in the first meeting.",
        debrief_id=debrief.id,
        anonymous=True,
        tags=["pricing"],
    )
    service.add_comment(
        author, lesson, service.parse_comment({"body": "Happy to walk anyone through it."})
    )
    service.endorse(users.peer, lesson, EndorsementKind.HELPFUL)
    service.set_featured(users.manager, lesson, True)
    # Pete's own recent deal is against Acme too, so the lesson is featured for him.
    make_debrief(users.peer, deal={"name": "Pete's deal"})

    class Anon:
        pass

    found = Anon()
    found.author, found.debrief, found.lesson = author, debrief, lesson
    found.traces = [
        "Zelda",
        "Quill",
        "zelda.quill@example.com",
        "Umbrella",
        f"/debriefs/{debrief.id}",
        f"debrief_id={debrief.id}",
        f"/users/{author.id}",
        f"user {author.id}",
        f"user_id={author.id}",
        f"author={author.id}",
        f'value="{author.id}"',
        "author_id",
    ]
    return found


def visible_text(source: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", source))


def assert_no_trace(anon, source: str, where: str) -> None:
    """Neither the raw source nor the text a reader sees holds any trace."""
    for text in (source, visible_text(source)):
        for trace in anon.traces:
            assert trace.lower() not in text.lower(), f"{where} reveals {trace!r}"


def assert_json_no_trace(anon, body, where: str) -> None:
    assert_no_trace(anon, json.dumps(body), where)


# -------------------------------------------------------------------- pages


@pytest.mark.parametrize("role", NON_ADMINS)
def test_the_practice_page_hides_the_author(client, auth, users, anon, role):
    sign_in(auth, getattr(users, role))
    response = client.get(f"/practices/{anon.lesson.id}")
    assert response.status_code == 200
    page = response.text
    assert "Anchor on total cost before procurement" in page
    assert "by Anonymous" in page
    # The deal still brings its competitor, segment and outcome.
    assert "Acme" in page and "Enterprise" in page and "Lost" in page
    # Their own comment is signed as the author's, not with their name.
    assert "The author" in page and "Happy to walk anyone through it." in page
    assert 'class="history"' not in page
    assert_no_trace(anon, page, f"the practice page for {role}")


@pytest.mark.parametrize("role", NON_ADMINS)
def test_the_playbook_hides_the_author(client, auth, users, anon, role):
    sign_in(auth, getattr(users, role))
    page = client.get("/practices/").text
    assert "Anchor on total cost before procurement" in page
    assert_no_trace(anon, page, f"the playbook for {role}")
    for query in ("sort=endorsements", "competitor=Acme", "tag=pricing", "kind=lesson"):
        page = client.get(f"/practices/?{query}").text
        assert "Anchor on total cost" in page
        assert_no_trace(anon, page, f"the playbook ({query}) for {role}")


@pytest.mark.parametrize("role", NON_ADMINS)
def test_author_filter_skips_anonymous(client, auth, users, anon, make_practice, role):  # noqa: F811
    # Zelda also shares a named practice: the filter finds that one only.
    make_practice(anon.author, title="Named practice by her")
    sign_in(auth, getattr(users, role))
    page = client.get(f"/practices/?author={anon.author.id}").text
    assert "Named practice by her" in page
    assert "Anchor on total cost" not in page
    api = client.get(f"/api/v1/practices?author={anon.author.id}").json
    assert [p["title"] for p in api["items"]] == ["Named practice by her"]


def test_someone_who_only_published_anonymously_is_not_an_author_choice(client, auth, users, anon):
    sign_in(auth, users.peer)
    page = client.get("/practices/").text
    assert_no_trace(anon, page, "the author filter's choices")


@pytest.mark.parametrize("query", ["Umbrella", "Zelda", "Quill", "zelda.quill"])
def test_the_text_search_does_not_match_the_author_or_the_deal(client, auth, users, anon, query):
    sign_in(auth, users.peer)
    page = client.get(f"/practices/?q={query}").text
    assert "Anchor on total cost" not in page
    assert client.get(f"/api/v1/practices?q={query}").json["total"] == 0


@pytest.mark.parametrize("role", ("peer", "manager"))
def test_no_sentence_of_the_practice_finds_the_author_in_the_debrief_search(
    client, auth, users, anon, role
):
    """The debrief search shows each debrief's author: searching any sentence
    a reader sees in the practice, as typed or quoted, finds none of hers."""
    view = present(anon.lesson, getattr(users, role))
    texts = [view.title, view.situation, view.actions, view.result]
    sentences = [s for text in texts for s in traces.sentences(text or "")]
    assert len(sentences) >= 4
    sign_in(auth, getattr(users, role))
    for sentence in sentences:
        for q in (sentence, f'"{sentence}"'):
            page = client.get("/search", query_string={"q": q})
            assert page.status_code == 200
            assert_no_trace(anon, page.text, f"the search page for {q!r} as {role}")
            hits = client.get("/api/v1/search", query_string={"q": q}).json["hits"]
            assert anon.author.id not in {hit["author"]["id"] for hit in hits}
            assert_json_no_trace(anon, hits, f"the search API for {q!r} as {role}")


def test_the_home_page_hides_the_author(client, auth, users, anon):
    sign_in(auth, users.peer)
    page = client.get("/").text
    section = page.split('id="featured-practices-title"')[1].split("</section>")[0]
    assert "Anchor on total cost before procurement" in section
    assert "Anonymous" in section
    assert_no_trace(anon, section, "the home page's featured practices")


def test_my_practices_and_the_edit_form_are_not_a_way_in(client, auth, users, anon):
    sign_in(auth, users.manager)
    assert "Anchor on total cost" not in client.get("/practices/mine").text
    for url in (f"/practices/{anon.lesson.id}/edit",):
        response = client.get(url)
        assert response.status_code == 403
        assert_no_trace(anon, response.text, url)
    for url in (f"/practices/{anon.lesson.id}/delete", f"/practices/{anon.lesson.id}/unpublish"):
        response = client.post(url)
        assert response.status_code == 403
        assert_no_trace(anon, response.text, url)


def test_the_debrief_does_not_link_to_the_anonymous_lesson(client, auth, users, anon):
    sign_in(auth, users.peer)
    page = client.get(f"/debriefs/{anon.debrief.id}").text
    assert "Umbrella Megadeal" in page  # the debrief itself is Zelda's, signed
    assert "Anchor on total cost" not in page
    assert f"/practices/{anon.lesson.id}" not in page


def test_endorsing_and_commenting_pages_hide_the_author(client, auth, users, anon):
    sign_in(auth, users.marketing)
    url = f"/practices/{anon.lesson.id}"
    page = client.post(f"{url}/endorse/tried", follow_redirects=True).text
    assert "I tried this (1)" in page
    assert_no_trace(anon, page, "the page after endorsing")
    refused = client.post(f"{url}/comments", data={"body": ""})
    assert refused.status_code == 422
    assert_no_trace(anon, refused.text, "the page of a refused comment")
    page = client.post(f"{url}/comments", data={"body": "Useful."}, follow_redirects=True).text
    assert_no_trace(anon, page, "the page after commenting")


# ---------------------------------------------------------------------- API


@pytest.mark.parametrize("role", NON_ADMINS)
def test_the_api_hides_the_author(api, users, anon, role):
    user = getattr(users, role)
    one = api.get(user, f"/api/v1/practices/{anon.lesson.id}")
    assert one.status_code == 200
    body = one.json
    assert body["author"] is None and body["byline"] == "Anonymous" and body["anonymous"]
    assert body["context"] == {
        "competitors": ["Acme"],
        "segment": "Enterprise",
        "outcome": "lost",
        "deal": None,
        "debrief_id": None,
    }
    assert body["comments"][0]["byline"] == "The author"
    assert_json_no_trace(anon, body, f"GET /api/v1/practices/<id> for {role}")
    listing = api.get(user, "/api/v1/practices").json
    assert [p["id"] for p in listing["items"]] == [anon.lesson.id]
    assert_json_no_trace(anon, listing, f"GET /api/v1/practices for {role}")


def test_api_writes_answer_without_the_author(api, users, anon):
    endorsed = api.post(
        users.marketing, f"/api/v1/practices/{anon.lesson.id}/endorsements", json={"kind": "tried"}
    )
    assert endorsed.status_code == 201
    assert_json_no_trace(anon, endorsed.json, "the endorsement response")
    commented = api.post(
        users.marketing, f"/api/v1/practices/{anon.lesson.id}/comments", json={"body": "Noted."}
    )
    assert commented.status_code == 201
    assert_json_no_trace(anon, commented.json, "the comment response")
    featured = api.delete(users.manager, f"/api/v1/practices/{anon.lesson.id}/feature")
    assert featured.status_code == 200
    assert_json_no_trace(anon, featured.json, "the unfeature response")
    refused = api.patch(users.peer, f"/api/v1/practices/{anon.lesson.id}", json={"title": "x"})
    assert refused.status_code == 403
    assert_json_no_trace(anon, refused.json, "a refused PATCH")


# ------------------------------------------------------------ audit views


@pytest.mark.parametrize("role", NON_ADMINS)
def test_the_audit_log_is_for_admins_only(client, auth, users, anon, role):
    sign_in(auth, getattr(users, role))
    for url in ("/admin/audit", "/admin/audit?entity_type=practice"):
        response = client.get(url)
        assert response.status_code == 403
        assert_no_trace(anon, response.text, url)


def test_an_admin_sees_the_author_everywhere(client, auth, api, users, anon):
    sign_in(auth, users.admin)
    page = client.get(f"/practices/{anon.lesson.id}").text
    assert "Zelda Quill (published anonymously)" in page
    assert "Umbrella Megadeal" in page and f"/debriefs/{anon.debrief.id}" in page
    assert 'class="history"' in page
    assert "Zelda Quill (author)" in page
    audit = client.get("/admin/audit?entity_type=practice").text
    assert "Zelda Quill" in audit and "Anchor on total cost" in audit
    filtered = client.get(f"/practices/?author={anon.author.id}").text
    assert "Anchor on total cost" in filtered
    body = api.get(users.admin, f"/api/v1/practices/{anon.lesson.id}").json
    assert body["author"] == {"id": anon.author.id, "name": "Zelda Quill"}
    assert body["context"]["deal"]["name"] == "Umbrella Megadeal"
    assert body["context"]["debrief_id"] == anon.debrief.id


def test_the_author_sees_it_as_theirs(client, auth, api, users, anon):
    auth.logout()
    auth.login(anon.author)
    page = client.get(f"/practices/{anon.lesson.id}").text
    assert "You (published anonymously)" in page
    assert "Umbrella Megadeal" in page and f"/debriefs/{anon.debrief.id}" in page
    assert "Anchor on total cost" in client.get("/practices/mine").text
    body = api.get(anon.author, f"/api/v1/practices/{anon.lesson.id}").json
    assert body["byline"] == "You (published anonymously)"
    assert body["author"]["id"] == anon.author.id


def test_the_view_for_nobody_in_particular_has_no_author(users, anon):
    """What an export or the search index will hold (present(practice, None))."""
    view = present(anon.lesson, None, comments=True)
    assert view.author is None and view.byline == "Anonymous"
    assert view.context.deal is None and view.context.debrief_id is None
    assert_json_no_trace(anon, view.as_json(), "the view for nobody in particular")


def test_a_named_practice_shows_its_author(client, auth, users, anon):
    data = service.parse({**service.as_input(anon.lesson), "anonymous": False})
    service.save_practice(anon.author, data, anon.lesson)
    sign_in(auth, users.peer)
    page = client.get(f"/practices/{anon.lesson.id}").text
    assert "by Zelda Quill" in page and "Umbrella Megadeal" in page
