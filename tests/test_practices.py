"""Practices and lessons through the service and the pages: sharing a
debrief's "what worked", permissions, publishing and featuring, endorsements
and comments, bad input, the search outbox, the playbook and the home page."""

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from kb.extensions import db
from kb.models import (
    AuditEntry,
    Comment,
    Endorsement,
    EndorsementKind,
    IndexChange,
    Practice,
    PracticeStatus,
    Tag,
)
from kb.practices import service
from kb.practices.presenters import present
from kb.validation import ValidationFailed


def practice_payload(**overrides) -> dict:
    """A valid payload for a published practice with no deal."""
    payload = {
        "kind": "practice",
        "title": "Bring their CISO into the security review early",
        "situation": "Enterprise buyer with a strict security questionnaire.",
        "actions": "Booked our CISO for a call with theirs in week one.",
        "result": "Cut two weeks of back-and-forth; the review passed first time.",
        "tags": ["security", "Enterprise "],
        "anonymous": False,
        "status": "published",
    }
    payload.update(overrides)
    return payload


@pytest.fixture
def make_practice(app):
    """Write a practice through the service, as `author`."""

    def make(author, **overrides) -> Practice:
        return service.save_practice(author, service.parse(practice_payload(**overrides)))

    return make


def sign_in(auth, user) -> None:
    """Sign in as `user`, signing out whoever was signed in."""
    auth.logout()
    response = auth.login(user)
    assert response.status_code == 302, response.text


def counts() -> dict[str, int]:
    """Rows a practice write touches: equal before and after a refusal shows
    that nothing was stored."""
    db.session.expire_all()
    return {
        model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
        for model in (Practice, Tag, Endorsement, Comment, AuditEntry, IndexChange)
    }


def outbox() -> list[tuple[str, int]]:
    rows = db.session.execute(
        select(IndexChange.doc_type, IndexChange.doc_id)
        .where(IndexChange.doc_type == "practice")
        .order_by(IndexChange.id)
    )
    return [tuple(row) for row in rows]


def audit_actions(practice_id: int) -> list[str]:
    return list(
        db.session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.entity_type == "practice", AuditEntry.entity_id == practice_id)
            .order_by(AuditEntry.id)
        )
    )


# ------------------------------------------------------------ the service


def test_a_practice_is_stored_with_normalised_tags_audit_and_outbox(users, make_practice):
    practice = make_practice(users.rep, tags=["Security", " security ", "Big   Deals"])
    assert practice.status == PracticeStatus.PUBLISHED and practice.published_at is not None
    assert [t.name for t in practice.tags] == ["big deals", "security"]
    assert practice.author_id == users.rep.id and not practice.featured
    assert audit_actions(practice.id) == ["create"]
    assert outbox() == [("practice", practice.id)]


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"actions": ""}, "actions", "cannot be empty"),
        ({"actions": "   \n "}, "actions", "cannot be empty"),
        ({"title": ""}, "title", "cannot be empty"),
        ({"title": "x" * 201}, "title", "200 characters"),
        ({"situation": "x" * 10_001}, "situation", "10000 characters"),
        ({"actions": "x" * 10_001}, "actions", "10000 characters"),
        ({"tags": ["t"] * 11}, "tags", "At most 10"),
        ({"tags": ["x" * 41]}, "tags.0", "40 characters"),
        ({"kind": "tip"}, "kind", "Choose one of"),
        ({"status": "featured"}, "status", "Choose one of"),
        ({"author_id": 3}, "author_id", "Unknown field"),
        ({"deal_id": 999_999}, "deal_id", "No deal"),
        ({"debrief_id": 999_999}, "debrief_id", "No debrief"),
    ],
)
def test_bad_input_stores_nothing(users, make_practice, overrides, field, message):
    before = counts()
    with pytest.raises(ValidationFailed) as caught:
        make_practice(users.rep, **overrides)
    assert message in caught.value.errors[field]
    assert counts() == before


def test_a_debrief_you_cannot_read_cannot_be_linked(users, make_debrief, make_practice):
    draft = make_debrief(users.west_rep, status="draft")
    with pytest.raises(ValidationFailed) as caught:
        make_practice(users.rep, debrief_id=draft.id)
    assert "debrief_id" in caught.value.errors
    with pytest.raises(ValidationFailed) as caught:
        make_practice(users.rep, deal_id=draft.deal_id)
    assert "deal_id" in caught.value.errors
    other = make_debrief(users.peer, deal={"name": "Other deal"})
    with pytest.raises(ValidationFailed) as caught:
        make_practice(users.rep, debrief_id=other.id, deal_id=draft.deal_id)
    assert caught.value.errors["deal_id"] == "The debrief belongs to another deal."


def test_linking_a_debrief_brings_its_deal(users, make_debrief, make_practice):
    debrief = make_debrief(users.rep)
    practice = make_practice(users.rep, debrief_id=debrief.id)
    assert practice.deal_id == debrief.deal_id
    view = present(practice, users.peer)
    assert view.context.competitors == ("Acme",)
    assert (view.context.segment, view.context.outcome.value) == ("Enterprise", "lost")
    assert view.context.deal.name == "Initech renewal"
    assert view.context.debrief_id == debrief.id


def test_practice_from_a_won_debrief_prefills_what_worked(users, make_debrief):
    debrief = make_debrief(
        users.rep,
        deal={"outcome": "won", "winner": None, "competitors": ["Acme", "Globex"]},
        what_worked="Ran a paid pilot with their ops team.",
    )
    data = service.practice_from_debrief(debrief)
    assert data["kind"] == "practice"
    assert data["actions"] == "Ran a paid pilot with their ops team."
    assert data["title"] == "How we won against Acme and Globex in Enterprise"
    assert "Initech" not in data["title"] + data["situation"]
    assert (
        data["situation"]
        == "A deal in the Enterprise segment in EMEA, competing with Acme and Globex."
    )
    assert (data["deal_id"], data["debrief_id"]) == (debrief.deal_id, debrief.id)
    assert data["status"] == "draft" and data["anonymous"] is False
    assert service.parse(data)  # the prefill is valid input as it stands


def test_lesson_from_a_lost_debrief_prefills_lessons_learned(users, make_debrief):
    debrief = make_debrief(users.rep)
    data = service.practice_from_debrief(debrief)
    assert data["kind"] == "lesson"
    assert data["actions"] == "Build the ROI case before procurement gets involved."
    assert data["title"] == "Lesson from a lost deal against Acme in Enterprise"
    assert data["result"] == "We lost the deal (Acme won)."


def test_publish_unpublish_and_featuring(users, make_practice):
    practice = make_practice(users.rep, status="draft")
    assert practice.published_at is None
    with pytest.raises(ValidationFailed):
        service.set_featured(users.manager, practice, True)  # a draft cannot be featured
    service.publish(users.rep, practice)
    with pytest.raises(service.NotAllowed):
        service.set_featured(users.rep, practice, True)
    with pytest.raises(service.NotAllowed):
        service.set_featured(users.marketing, practice, True)
    service.set_featured(users.manager, practice, True)
    assert practice.featured and practice.featured_at is not None
    service.unpublish(users.rep, practice)
    assert practice.status == PracticeStatus.DRAFT and not practice.featured
    assert audit_actions(practice.id) == ["create", "publish", "feature", "unpublish"]
    assert outbox() == [("practice", practice.id)] * 4


def test_only_the_author_or_an_admin_changes_a_practice(users, make_practice):
    practice = make_practice(users.rep)
    data = service.parse(practice_payload(title="Changed"))
    for other in (users.peer, users.manager, users.marketing):
        with pytest.raises(service.NotAllowed):
            service.save_practice(other, data, practice)
        with pytest.raises(service.NotAllowed):
            service.delete_practice(other, practice)
        with pytest.raises(service.NotAllowed):
            service.unpublish(other, practice)
    service.save_practice(users.admin, data, practice)
    assert practice.title == "Changed" and practice.author_id == users.rep.id


def test_endorsements_one_of_each_kind_per_person(users, make_practice):
    practice = make_practice(users.rep)
    service.endorse(users.peer, practice, EndorsementKind.TRIED)
    service.endorse(users.peer, practice, EndorsementKind.HELPFUL)
    service.endorse(users.manager, practice, EndorsementKind.HELPFUL)
    before = counts()
    with pytest.raises(service.AlreadyEndorsed) as caught:
        service.endorse(users.peer, practice, EndorsementKind.TRIED)
    assert caught.value.errors == {"kind": "You already endorsed this."}
    assert counts() == before
    with pytest.raises(ValidationFailed):
        service.endorse(users.rep, practice, EndorsementKind.HELPFUL)  # your own
    view = present(practice, users.peer)
    assert view.endorsements == {"tried": 1, "helpful": 2}
    assert view.my_endorsements == ("helpful", "tried")
    assert service.unendorse(users.peer, practice, EndorsementKind.TRIED)
    assert not service.unendorse(users.peer, practice, EndorsementKind.TRIED)
    assert present(practice, users.peer).endorsements == {"tried": 0, "helpful": 2}


def test_no_endorsing_or_commenting_on_a_draft(users, make_practice):
    draft = make_practice(users.rep, status="draft")
    before = counts()
    with pytest.raises(ValidationFailed) as caught:
        service.add_comment(users.rep, draft, service.parse_comment({"body": "Note"}))
    assert "published" in caught.value.errors["__root__"]
    with pytest.raises(service.NotAllowed):  # someone else cannot even see it
        service.add_comment(users.peer, draft, service.parse_comment({"body": "Hi"}))
    with pytest.raises(service.NotAllowed):
        service.endorse(users.peer, draft, EndorsementKind.TRIED)
    assert counts() == before


@pytest.mark.parametrize(
    ("body", "message"),
    [("", "cannot be empty"), ("  ", "cannot be empty"), ("x" * 2001, "2000 characters")],
)
def test_bad_comments(users, make_practice, body, message):
    practice = make_practice(users.rep)
    with pytest.raises(ValidationFailed) as caught:
        service.add_comment(users.peer, practice, service.parse_comment({"body": body}))
    assert message in caught.value.errors["body"]


def test_a_practice_outlives_its_deleted_debrief(client, auth, users, make_debrief, make_practice):
    from kb.debriefs import service as debriefs

    debrief = make_debrief(users.rep)
    practice = make_practice(users.rep, debrief_id=debrief.id)
    debriefs.delete_debrief(users.rep, debrief)  # its typed-in deal goes with it
    db.session.expire_all()
    assert service.as_input(practice)["debrief_id"] is None
    assert service.as_input(practice)["deal_id"] is None
    edited = service.parse({**service.as_input(practice), "title": "Still here"})
    assert service.save_practice(users.rep, edited, practice).title == "Still here"
    sign_in(auth, users.peer)
    page = client.get(f"/practices/{practice.id}")
    assert page.status_code == 200 and "Still here" in page.text
    assert 'aria-label="Deal context"' not in page.text


# ------------------------------------------ the index stays consistent


def test_every_write_reaches_the_outbox_in_its_transaction(users, make_practice):
    practice = make_practice(users.rep)
    pid = practice.id
    service.save_practice(users.rep, service.parse(practice_payload(title="Edited")), practice)
    service.save_practice(users.rep, service.parse(practice_payload(title="Edited")), practice)
    service.endorse(users.peer, practice, EndorsementKind.TRIED)
    service.add_comment(users.peer, practice, service.parse_comment({"body": "Worked for us"}))
    service.unpublish(users.rep, practice)
    service.delete_practice(users.rep, practice)
    # The no-change save wrote nothing; every other write wrote one audit row
    # and one outbox row.
    actions = ["create", "update", "endorse", "comment", "unpublish", "delete"]
    assert audit_actions(pid) == actions
    assert outbox() == [("practice", pid)] * len(actions)
    assert db.session.get(Practice, pid) is None
    assert db.session.scalar(select(func.count()).select_from(Endorsement)) == 0


def test_a_failed_write_leaves_no_outbox_row(users, make_practice, monkeypatch):
    practice = make_practice(users.rep)
    before = counts()

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(service.audit, "record", broken)
    with pytest.raises(RuntimeError):
        service.save_practice(users.rep, service.parse(practice_payload(title="New")), practice)
    assert counts() == before
    db.session.expire_all()
    assert db.session.get(Practice, practice.id).title == practice_payload()["title"]


# ------------------------------------------------------------- the pages


def test_share_as_practice_from_a_won_debrief(client, auth, users, make_debrief):
    debrief = make_debrief(
        users.rep, deal={"outcome": "won", "winner": None}, what_worked="Paid pilot."
    )
    sign_in(auth, users.rep)
    page = client.get(f"/debriefs/{debrief.id}").text
    assert "Share as practice" in page
    assert f"/practices/new?from_debrief={debrief.id}" in page

    form = client.get(f"/practices/new?from_debrief={debrief.id}")
    assert form.status_code == 200
    assert "Paid pilot." in form.text
    assert 'value="How we won against Acme in Enterprise"' in form.text
    assert f'name="debrief_id" type="hidden" value="{debrief.id}"' in form.text

    posted = client.post(
        "/practices/new",
        data={
            "kind": "practice",
            "title": "Run a paid pilot",
            "situation": "",
            "actions": "Paid pilot.",
            "result": "",
            "tags": "pilot, ops",
            "deal_id": str(debrief.deal_id),
            "debrief_id": str(debrief.id),
            "action": "publish",
        },
    )
    assert posted.status_code == 302
    practice = db.session.scalar(select(Practice))
    assert (practice.debrief_id, practice.deal_id) == (debrief.id, debrief.deal_id)
    assert practice.status == PracticeStatus.PUBLISHED
    assert [t.name for t in practice.tags] == ["ops", "pilot"]


def test_share_as_lesson_from_a_lost_debrief(client, auth, users, make_debrief):
    debrief = make_debrief(users.rep)
    sign_in(auth, users.rep)
    assert "Share as lesson" in client.get(f"/debriefs/{debrief.id}").text
    form = client.get(f"/practices/new?from_debrief={debrief.id}").text
    assert '<option selected value="lesson">' in form
    assert "Build the ROI case before procurement gets involved." in form


def test_only_those_who_edit_a_debrief_share_it(client, auth, users, make_debrief):
    debrief = make_debrief(users.rep)
    sign_in(auth, users.peer)
    assert "Share as" not in client.get(f"/debriefs/{debrief.id}").text
    assert client.get(f"/practices/new?from_debrief={debrief.id}").status_code == 403
    assert client.get("/practices/new?from_debrief=999999").status_code == 404
    sign_in(auth, users.manager)  # Rita's manager may edit her debriefs
    assert client.get(f"/practices/new?from_debrief={debrief.id}").status_code == 200


def test_the_form_keeps_what_was_typed_and_shows_field_errors(client, auth, users):
    sign_in(auth, users.rep)
    typed = {
        "kind": "lesson",
        "title": "x" * 201,
        "situation": "A hard renewal.",
        "actions": "",
        "result": "We kept it.",
        "tags": "renewal, " + "y" * 41,
        "anonymous": "y",
        "action": "publish",
    }
    response = client.post("/practices/new", data=typed)
    assert response.status_code == 422
    page = response.text
    assert "Nothing was saved yet" in page
    assert 'id="title-error"' in page and "200 characters" in page
    assert 'id="actions-error"' in page and "cannot be empty" in page
    assert 'id="tags-error"' in page and "40 characters" in page
    assert "A hard renewal." in page and "We kept it." in page
    assert f'value="renewal, {"y" * 41}"' in page
    assert re.search(r'<input [^>]*checked [^>]*id="anonymous"', page)
    assert '<option selected value="lesson">' in page
    assert db.session.scalar(select(func.count()).select_from(Practice)) == 0


def test_drafts_are_for_their_author_and_admins(client, auth, users, make_practice):
    draft = make_practice(users.rep, status="draft", title="Secret draft")
    sign_in(auth, users.peer)
    assert client.get(f"/practices/{draft.id}").status_code == 404
    assert "Secret draft" not in client.get("/practices/").text
    assert client.get(f"/practices/{draft.id}/edit").status_code == 404
    sign_in(auth, users.manager)
    assert client.get(f"/practices/{draft.id}").status_code == 404
    sign_in(auth, users.admin)
    assert client.get(f"/practices/{draft.id}").status_code == 200
    sign_in(auth, users.rep)
    page = client.get(f"/practices/{draft.id}").text
    assert "This is a draft" in page and "Comments open once the practice is published." in page
    assert "Secret draft" in client.get("/practices/mine").text


def test_edit_and_delete_are_for_the_author_and_admins(client, auth, users, make_practice):
    practice = make_practice(users.rep)
    sign_in(auth, users.peer)
    page = client.get(f"/practices/{practice.id}").text
    assert f"/practices/{practice.id}/edit" not in page
    assert client.get(f"/practices/{practice.id}/edit").status_code == 403
    assert client.post(f"/practices/{practice.id}/delete").status_code == 403
    assert client.post(f"/practices/{practice.id}/unpublish").status_code == 403

    sign_in(auth, users.rep)
    assert f"/practices/{practice.id}/edit" in client.get(f"/practices/{practice.id}").text
    edit = client.get(f"/practices/{practice.id}/edit")
    assert (
        'value="security, enterprise"' in edit.text or 'value="enterprise, security"' in edit.text
    )
    data = {**practice_payload(title="Renamed"), "tags": "security", "action": "save"}
    data.pop("anonymous"), data.pop("status")
    assert client.post(f"/practices/{practice.id}/edit", data=data).status_code == 302
    db.session.expire_all()
    assert practice.title == "Renamed" and practice.status == PracticeStatus.PUBLISHED

    sign_in(auth, users.admin)
    assert client.post(f"/practices/{practice.id}/delete").status_code == 302
    assert db.session.get(Practice, practice.id) is None


def test_featuring_is_for_managers_and_admins(client, auth, users, make_practice):
    practice = make_practice(users.rep)
    for user in (users.rep, users.peer, users.marketing):
        sign_in(auth, user)
        assert "Feature" not in client.get(f"/practices/{practice.id}").text
        assert client.post(f"/practices/{practice.id}/feature").status_code == 403
    db.session.expire_all()
    assert not practice.featured
    sign_in(auth, users.manager)
    assert client.post(f"/practices/{practice.id}/feature").status_code == 302
    db.session.expire_all()
    assert practice.featured
    assert "Unfeature" in client.get(f"/practices/{practice.id}").text


def test_endorse_and_comment_on_the_page(client, auth, users, make_practice):
    practice = make_practice(users.rep)
    sign_in(auth, users.peer)
    url = f"/practices/{practice.id}"
    assert client.post(f"{url}/endorse/tried").status_code == 302
    page = client.get(url).text
    assert 'aria-pressed="true"' in page and "I tried this (1)" in page
    assert "Helpful (0)" in page
    again = client.post(f"{url}/endorse/tried", follow_redirects=True)
    assert "You already endorsed this." in again.text
    assert db.session.scalar(select(func.count()).select_from(Endorsement)) == 1
    client.post(f"{url}/unendorse/tried")
    assert "I tried this (0)" in client.get(url).text

    assert client.post(f"{url}/comments", data={"body": "Tried it: works."}).status_code == 302
    assert "Tried it: works." in client.get(url).text
    refused = client.post(f"{url}/comments", data={"body": "x" * 2001})
    assert refused.status_code == 422 and "2000 characters" in refused.text
    assert "x" * 2001 in refused.text  # what was typed is kept


def test_commenting_on_a_draft_is_refused_on_the_page(client, auth, users, make_practice):
    draft = make_practice(users.rep, status="draft")
    sign_in(auth, users.rep)
    response = client.post(f"/practices/{draft.id}/comments", data={"body": "Note to self"})
    assert response.status_code == 422
    assert "Comments open once the practice is published." in response.text
    assert db.session.scalar(select(func.count()).select_from(Comment)) == 0


def test_the_playbook_filters_sorts_and_puts_featured_first(
    client, auth, users, make_debrief, make_practice
):
    won = make_debrief(
        users.rep,
        deal={
            "name": "Won deal",
            "outcome": "won",
            "winner": None,
            "competitors": ["Globex"],
            "segment": "Mid-market",
        },
    )
    lost = make_debrief(users.peer, deal={"name": "Lost deal"})
    a = make_practice(users.rep, title="Alpha pilot practice", debrief_id=won.id, tags=["pilot"])
    b = make_practice(
        users.peer,
        kind="lesson",
        title="Beta pricing lesson",
        debrief_id=lost.id,
        actions="Anchor on total cost of ownership.",
        tags=["pricing"],
    )
    c = make_practice(users.marketing, title="Gamma messaging", actions="Lead with the ROI.")
    service.endorse(users.manager, a, EndorsementKind.HELPFUL)
    service.endorse(users.peer, a, EndorsementKind.TRIED)
    service.endorse(users.manager, b, EndorsementKind.HELPFUL)

    sign_in(auth, users.west_rep)

    def titles(query: str = "") -> list[str]:
        page = client.get(f"/practices/?{query}").text
        found = [t for t in ("Alpha", "Beta", "Gamma") if t in page]
        return sorted(found, key=page.index)

    assert titles() == ["Gamma", "Beta", "Alpha"]  # newest first
    assert titles("sort=endorsements") == ["Alpha", "Beta", "Gamma"]
    assert titles("competitor=Acme") == ["Beta"]
    assert titles("competitor=Globex") == ["Alpha"]
    assert titles("segment=Mid-market") == ["Alpha"]
    assert titles("outcome=lost") == ["Beta"]
    assert titles("kind=lesson") == ["Beta"]
    assert titles("kind=practice") == ["Gamma", "Alpha"]
    assert titles("tag=Pricing") == ["Beta"]
    assert titles("q=total+cost") == ["Beta"]
    assert titles("q=ROI") == ["Gamma"]
    assert titles("q=pilot") == ["Alpha"]
    assert titles("q=100%25") == []
    assert titles(f"author={users.peer.id}") == ["Beta"]
    assert titles("author=abc") == ["Gamma", "Beta", "Alpha"]

    service.set_featured(users.manager, c, True)
    assert titles("sort=endorsements") == ["Gamma", "Alpha", "Beta"]
    assert "Featured" in client.get("/practices/").text


def test_the_playbook_paginates(client, auth, users, make_practice):
    for i in range(23):
        make_practice(users.rep, title=f"Practice number {i:02d}")
    sign_in(auth, users.peer)
    first = client.get("/practices/").text
    assert "Practice number 22" in first and "Practice number 02" not in first
    assert "Page 1 of 2" in first
    second = client.get("/practices/?page=2").text
    assert "Practice number 02" in second and "Practice number 22" not in second


def test_playbook_is_in_the_menu(client, auth, users):
    sign_in(auth, users.marketing)
    page = client.get("/").text
    assert '<a href="/practices/">Playbook</a>' in page
    assert client.get("/practices/").status_code == 200
    assert client.get("/practices/new").status_code == 200


def test_pages_need_a_signed_in_user(client, users):
    assert client.get("/practices/").status_code == 302
    assert client.post("/practices/new", data={}).status_code == 302


# --------------------------------------------------------------- home page


def test_home_shows_a_rep_featured_practices_for_their_deals(
    client, auth, users, make_debrief, make_practice
):
    # Rita's recent deal is against Acme in Enterprise.
    make_debrief(users.rep)
    other = make_debrief(
        users.peer,
        deal={"name": "Elsewhere", "competitors": ["Globex"], "winner": "Globex", "segment": "SMB"},
    )
    acme = make_debrief(users.west_rep, deal={"name": "Acme again", "segment": "SMB"})
    enterprise = make_debrief(
        users.west_rep,
        deal={"name": "Enterprise again", "competitors": ["Salesforce"], "winner": "Salesforce"},
    )
    fits_competitor = make_practice(users.west_rep, title="Beat Acme", debrief_id=acme.id)
    fits_segment = make_practice(users.west_rep, title="Enterprise play", debrief_id=enterprise.id)
    unrelated = make_practice(users.peer, title="Globex in SMB", debrief_id=other.id)
    not_featured = make_practice(users.west_rep, title="Also Acme", debrief_id=acme.id)
    for practice in (fits_competitor, fits_segment, unrelated):
        service.set_featured(users.manager, practice, True)
    del not_featured

    sign_in(auth, users.rep)
    page = client.get("/").text
    assert "Featured practices for your deals" in page
    section = page.split("Featured practices for your deals")[1].split("</section>")[0]
    assert "Beat Acme" in section and "Enterprise play" in section
    assert "Globex in SMB" not in section and "Also Acme" not in section
    assert section.index("Enterprise play") < section.index("Beat Acme")  # newest first

    sign_in(auth, users.marketing)
    assert "Featured practices for your deals" not in client.get("/").text


def test_home_featured_practices_use_open_todos_and_skip_old_deals(
    client, auth, users, make_debrief, make_practice
):
    old = date.today() - timedelta(days=400)
    make_debrief(users.rep, deal={"close_date": old.isoformat()})
    acme = make_debrief(users.west_rep, deal={"name": "Acme deal"})
    service.set_featured(
        users.manager, make_practice(users.west_rep, title="Beat Acme", debrief_id=acme.id), True
    )
    sign_in(auth, users.rep)
    page = client.get("/").text
    assert "Featured practices for your deals" in page and "Beat Acme" not in page
    assert "No featured practice matches" in page

    # A CRM deal that still waits for Rita's debrief is an open to-do.
    from kb.models import Deal, Outcome

    db.session.add(
        Deal(
            name="Waiting",
            account="Hooli",
            close_date=old,
            outcome=Outcome.LOST,
            owner_id=users.rep.id,
            segment="SMB",
            competitors=list(acme.deal.competitors),
        )
    )
    db.session.commit()
    assert "Beat Acme" in client.get("/").text
