"""The playbook's text search runs on the search index, like the debrief
search: the same syntax, stemming and competitor aliases; only published
practices; the index stays consistent when practices are edited,
unpublished and deleted, and when their deal's facts change; it never holds
an anonymous practice's author or deal name; and debrief searches never
return a practice."""

import pytest
from flask import current_app

from kb import search
from kb.debriefs import service as debriefs
from kb.extensions import db
from kb.practices import service
from kb.practices.queries import PlaybookParams, find_practices
from kb.search.analysis import stem
from kb.search.documents import parse_key

from .conftest import debrief_payload
from .test_practices import practice_payload


@pytest.fixture
def make_practice(app):
    def make(author, **overrides):
        return service.save_practice(author, service.parse(practice_payload(**overrides)))

    return make


def found(q: str) -> set[int]:
    return {practice_id for practice_id, _ in search.search_practices(q)}


def playbook(viewer, **params) -> list[int]:
    return [view.id for view in find_practices(viewer, PlaybookParams(**params)).items]


def view():
    return current_app.extensions["kb_search"].view()


def practice_docs(current) -> int:
    return current.docs("doc_type", "practice")


PILOT = {
    "title": "Offer a paid pilot to the skeptical champion",
    "actions": "We scoped a pilot with clear success criteria.",
    "tags": ["pilots"],
}


def test_a_published_practice_is_found_by_a_stemmed_word(users, make_practice):
    practice = make_practice(users.rep, **PILOT)
    assert found("pilots") == {practice.id}
    assert found("piloting") == {practice.id}
    assert playbook(users.peer, q="pilots") == [practice.id]
    assert playbook(users.peer, q="nothing-like-this") == []


def test_a_practice_is_found_by_a_competitor_alias(users, make_practice, make_debrief):
    debrief = make_debrief(users.rep, deal={"competitors": ["Salesforce"], "winner": "Salesforce"})
    practice = make_practice(users.rep, debrief_id=debrief.id)
    assert found("SFDC") == {practice.id}
    assert playbook(users.peer, q="sfdc") == [practice.id]


def test_drafts_are_not_indexed(users, make_practice):
    draft = make_practice(users.rep, status="draft", **PILOT)
    assert found("pilot") == set()
    assert playbook(users.peer, q="pilot") == []
    # The author still finds their own draft among "My practices".
    assert playbook(users.rep, q="pilot", mine=True) == [draft.id]


def test_an_edit_changes_what_is_found(users, make_practice):
    practice = make_practice(users.rep, **PILOT)
    assert found("pilot") == {practice.id}
    service.save_practice(
        users.rep,
        service.parse(practice_payload(title="Run a workshop", tags=["workshops"])),
        practice,
    )
    assert found("pilot") == set()
    assert found("workshop") == {practice.id}
    assert playbook(users.peer, q="workshops") == [practice.id]


def test_unpublishing_and_publishing_again(users, make_practice):
    practice = make_practice(users.rep, **PILOT)
    service.unpublish(users.rep, practice)
    assert found("pilot") == set()
    assert practice.id not in {parse_key(k)[1] for k in stored_keys("practice")}
    service.publish(users.rep, practice)
    assert found("pilot") == {practice.id}


def test_deleting_removes_it(users, make_practice):
    practice = make_practice(users.rep, **PILOT)
    practice_id = practice.id
    service.delete_practice(users.rep, practice)
    assert found("pilot") == set()
    assert stored_keys("practice") == []
    assert db.session.get(type(practice), practice_id) is None


def test_a_change_to_the_deal_reaches_its_practices(users, make_practice, make_debrief):
    debrief = make_debrief(users.rep)
    practice = make_practice(users.rep, debrief_id=debrief.id)
    assert found("SFDC") == set()
    assert found("competitor:acme") == {practice.id}
    changed = debriefs.parse(
        debrief_payload(deal={"competitors": ["Salesforce"], "winner": "Salesforce"})
    )
    debriefs.save_debrief(users.rep, changed, debrief)
    assert found("SFDC") == {practice.id}
    assert found("competitor:acme") == set()


def stored_keys(doc_type: str) -> list[str]:
    current = view()
    return [
        fields["key"]
        for fields in current.searcher.reader().all_stored_fields()
        if fields["key"].startswith(f"{doc_type}:")
    ]


def test_the_index_holds_no_author_and_no_deal_name_of_an_anonymous_practice(
    users, make_practice, make_debrief
):
    debrief = make_debrief(users.rep)  # deal "Initech renewal"
    practice = make_practice(users.rep, debrief_id=debrief.id, anonymous=True, **PILOT)
    current = view()
    docnum = current.searcher.document_number(key=f"practice:{practice.id}")
    stored = current.searcher.stored_fields(docnum)
    assert stored == {"key": f"practice:{practice.id}"}
    practices = practice_docs(current)
    assert practices == 1 << docnum
    assert current.docs("author_id", str(users.rep.id)) & practices == 0
    for word in ("rita", "rep", "initech", "renewal"):
        assert current.docs("text", stem(word)) & practices == 0, word
    assert found("Initech") == found("Rita") == found("author:rep@example.com") == set()
    # Competitors, segment and outcome are what anyone may know.
    assert found("Acme") == {practice.id}
    assert found("segment:enterprise") == {practice.id}


def test_debrief_searches_never_return_practices(users, make_practice, make_debrief):
    make_debrief(users.rep)
    before = {
        q: search.search(users.admin, {"q": q, "per_page": 100}) for q in ("", "CISO", "Acme")
    }
    make_practice(users.rep, title="Acme and the CISO", actions=PILOT["actions"])
    make_practice(users.peer, anonymous=True, title="CISO first")
    for q, earlier in before.items():
        for user in (users.admin, users.rep, users.manager):
            result = search.search(user, {"q": q, "per_page": 100})
            assert all(hit.doc_type == "debrief" for hit in result.hits)
            if user is users.admin:
                assert result.total == earlier.total
                assert [h.id for h in result.hits] == [h.id for h in earlier.hits]
                assert result.facets == earlier.facets
    assert search.documents_in_database() == 3


def test_a_rebuild_indexes_published_practices(users, make_practice):
    published = make_practice(users.rep, **PILOT)
    make_practice(users.rep, status="draft", **PILOT)
    assert search.documents_in_database() == 1
    assert search.reindex() == 1
    assert found("pilot") == {published.id}


def test_an_index_written_without_practices_is_rebuilt_with_them(
    app, users, make_practice, monkeypatch
):
    """An index from before practices were indexed has fewer fields: it is
    rebuilt on the next catch-up, so published practices land in it."""
    from kb.search import indexer, schema

    practice = make_practice(users.rep, **PILOT)
    older = schema.build_schema()
    older.remove("kind")
    older.remove("tag")
    monkeypatch.setattr(indexer, "SCHEMA", older)
    monkeypatch.delitem(indexer.DOCUMENT_TYPES, "practice")
    assert search.reindex() == 0
    monkeypatch.undo()
    with pytest.raises(indexer.RebuildNeeded):
        indexer.open_generation(current_app.extensions["kb_search"].folder.current())
    search.catch_up()
    assert found("pilot") == {practice.id}
    current = view()
    assert (
        current.docs("tag", "pilots") == current.docs("kind", "practice") == practice_docs(current)
    )


def test_a_theme_page_shows_the_practices_that_match_it(client, auth, users, make_practice):
    from kb.themes import service as themes

    make_practice(users.rep, **PILOT)
    make_practice(users.peer, title="Bring the CFO early", actions="A finance deep dive.")
    theme = themes.save_theme(
        users.marketing,
        themes.parse({"name": "Skeptical champions", "query": "pilot", "polarity": "weakness"}),
    )
    auth.login(users.west_rep)
    page = client.get(f"/themes/{theme.id}").get_data(as_text=True)
    assert "What has worked against it" in page
    assert PILOT["title"] in page and "Bring the CFO early" not in page
