"""Search shows, counts and facets only what the user may read, by the
same rules as kb.permissions.visible_debriefs, and the API needs a sign-in."""

from sqlalchemy import func, select

from kb import search
from kb.auth.service import get_or_create_team
from kb.extensions import db
from kb.models import Debrief
from kb.permissions import visible_debriefs


def quote(text: str) -> list[dict]:
    return [{"text": text}]


def test_drafts_are_found_only_by_those_who_may_read_them(users, make_debrief):
    draft = make_debrief(
        users.rep, status="draft", quotes=quote("Quokka pilot."), deal={"segment": "SMB"}
    )
    submitted = make_debrief(users.west_rep, quotes=quote("Quokka pilot went well."))
    readers = {users.rep, users.manager, users.admin}  # author, the author's manager, admin
    for user in vars(users).values():
        result = search.search(user, {"q": "quokka", "facets": "1"})
        found = {h.id for h in result.hits}
        expected = {draft.id, submitted.id} if user in readers else {submitted.id}
        assert found == expected, user
        assert result.total == len(expected), user
        segments = {f.value: f.count for f in result.facets["segment"]}
        assert segments.get("smb", 0) == (1 if user in readers else 0), user
        assert sum(f.count for f in result.facets["status"]) == len(expected), user
        everything = search.search(user, {"q": ""}).total
        allowed = select(Debrief).where(visible_debriefs(user)).subquery()
        assert everything == db.session.scalar(select(func.count()).select_from(allowed)), user


def test_a_manager_sees_the_drafts_of_whoever_is_on_the_team_now(users, make_debrief):
    draft = make_debrief(users.west_rep, status="draft", quotes=quote("Wombat rollout."))
    assert search.search(users.manager, {"q": "wombat"}).total == 0
    users.west_rep.team = get_or_create_team("East")
    db.session.commit()
    # No reindex: the team is looked up when searching, as visible_debriefs does.
    assert [h.id for h in search.search(users.manager, {"q": "wombat"}).hits] == [draft.id]
    assert search.search(users.west_manager, {"q": "wombat"}).total == 0


def test_more_like_this_and_field_queries_respect_permissions(users, make_debrief):
    public = make_debrief(users.rep, quotes=quote("Narwhal narwhal integration."))
    draft = make_debrief(users.peer, status="draft", quotes=quote("Narwhal narwhal integration!"))
    assert search.more_like_this(users.west_rep, draft.id) == []
    assert draft.id not in {h.id for h in search.more_like_this(users.west_rep, public.id)}
    assert search.search(users.west_rep, {"q": "status:draft"}).total == 0
    assert search.search(users.west_rep, {"q": f"author:{users.peer.email}"}).total == 0
    assert search.search(users.peer, {"q": f"author:{users.peer.email}"}).total == 1


def test_the_api_needs_credentials(client, users, make_debrief):
    make_debrief(users.rep)
    response = client.get("/api/v1/search?q=pricing")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    bad = client.get("/api/v1/search?q=pricing", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401


def test_the_api_answers_a_signed_in_session_too(client, auth, users, make_debrief):
    make_debrief(users.rep)
    auth.login(users.peer)
    body = client.get("/api/v1/search?q=pricing").json
    assert body["total"] == 1
