"""Sharing a debrief as an anonymous practice: the debrief's own sentences
would find it (and its author's name) in the debrief search, so the author
is warned when saving, publishing is refused while any sentence still leads
there, and the author chooses between rewording and taking the sentences
out (the debrief stays linked, visible to admins only)."""

import pytest
from sqlalchemy import func, select

from kb.extensions import db
from kb.models import Practice, PracticeStatus
from kb.practices import service, traces
from kb.practices.presenters import present
from tests.test_practices import sign_in

COPIED = "Build the ROI case before procurement gets involved."
REWORDED = "Have the value numbers signed off by finance early on."


def shared_lesson(debrief, **changes) -> dict:
    """What the share form posts for a lesson from `debrief`, anonymously."""
    data = service.practice_from_debrief(debrief)
    data.update({"anonymous": True, **changes})
    return data


def test_sentences_split_where_a_reader_would():
    text = "Price was 2.5x theirs. We lost!\nNext time: call the CFO? Yes"
    assert traces.sentences(text) == [
        "Price was 2.5x theirs.",
        "We lost!",
        "Next time: call the CFO?",
        "Yes",
    ]


def test_a_sentence_from_the_authors_debrief_is_traced(users, make_debrief):
    make_debrief(users.rep)
    found = traces.traced_sentences(
        users.rep.id,
        [f"Some context first. {COPIED}", "Procurement gets involved before the ROI case."],
    )
    # As typed, a search needs every word, in any order: both sentences find the debrief.
    assert found == [COPIED, "Procurement gets involved before the ROI case."]
    assert traces.traced_sentences(users.peer.id, [COPIED]) == []  # not Pete's debrief
    assert traces.traced_sentences(users.rep.id, [REWORDED, "We lost."]) == []


def test_publishing_a_copied_anonymous_lesson_is_refused_and_nothing_is_stored(users, make_debrief):
    debrief = make_debrief(users.rep)
    data = service.parse(shared_lesson(debrief, status="published"))
    with pytest.raises(service.TracedToAuthor) as refused:
        service.save_practice(users.rep, data)
    assert refused.value.sentences == [COPIED]
    assert COPIED in refused.value.errors["anonymous"]
    assert db.session.scalar(select(func.count()).select_from(Practice)) == 0


def test_a_copied_draft_is_kept_but_cannot_be_published(users, make_debrief):
    debrief = make_debrief(users.rep)
    draft = service.save_practice(users.rep, service.parse(shared_lesson(debrief)))
    assert service.traced_sentences(users.rep.id, draft) == [COPIED]
    with pytest.raises(service.TracedToAuthor):
        service.publish(users.rep, draft)
    db.session.refresh(draft)
    assert draft.status == PracticeStatus.DRAFT
    # Under her name the same words are fine: nothing is hidden.
    named = service.save_practice(
        users.rep, service.parse(shared_lesson(debrief, anonymous=False, status="published"))
    )
    assert named.status == PracticeStatus.PUBLISHED


def test_an_admin_editing_checks_the_authors_debriefs(users, make_debrief):
    debrief = make_debrief(users.rep)
    draft = service.save_practice(
        users.rep, service.parse(shared_lesson(debrief, actions=REWORDED, status="published"))
    )
    data = service.parse({**service.as_input(draft), "actions": COPIED})
    with pytest.raises(service.TracedToAuthor):
        service.save_practice(users.admin, data, draft)


def test_the_api_refuses_with_the_sentences(api, users, make_debrief):
    debrief = make_debrief(users.rep)
    response = api.post(
        users.rep, "/api/v1/practices", json=shared_lesson(debrief, status="published")
    )
    assert response.status_code == 400
    assert COPIED in response.json["fields"]["anonymous"]
    assert api.get(users.rep, "/api/v1/practices").json["total"] == 0


def form_data(debrief, **changes) -> dict:
    data = shared_lesson(debrief)
    form = {
        key: str(data[key] if data[key] is not None else "")
        for key in ("kind", "title", "situation", "actions", "result", "deal_id", "debrief_id")
    }
    form.update(anonymous="y", action="publish")
    form.update(changes)
    return form


def test_sharing_on_the_pages_warns_and_lets_the_author_choose(client, auth, users, make_debrief):
    debrief = make_debrief(users.rep)
    sign_in(auth, users.rep)

    refused = client.post("/practices/new", data=form_data(debrief))
    assert refused.status_code == 422
    assert "would lead a search to your own debriefs" in refused.text
    assert f"“{COPIED}”" in refused.text
    assert db.session.scalar(select(func.count()).select_from(Practice)) == 0

    # Choice one: take the sentences out (nothing saved; the form comes back without them).
    taken_out = client.post("/practices/new", data=form_data(debrief, action="take_out_traced"))
    assert taken_out.status_code == 200
    assert COPIED not in taken_out.text and "were taken out" in taken_out.text
    assert db.session.scalar(select(func.count()).select_from(Practice)) == 0

    # A draft with the copied text is saved, with the warning shown at once.
    saved = client.post("/practices/new", data=form_data(debrief, action="save_draft"))
    assert saved.status_code == 302
    page = client.get(saved.headers["Location"]).text
    assert "would find your own debrief" in page and "cannot be published anonymously" in page
    draft = db.session.scalar(select(Practice))

    # Publishing it from its page is refused and leads to the form with the list.
    published = client.post(f"/practices/{draft.id}/publish")
    assert published.headers["Location"].endswith(f"/practices/{draft.id}/edit")
    form = client.get(published.headers["Location"]).text
    assert "Not published" in form and f"“{COPIED}”" in form
    db.session.refresh(draft)
    assert draft.status == PracticeStatus.DRAFT

    # Choice two: reword, then it publishes, still linked to the debrief for admins.
    reworded = client.post(f"/practices/{draft.id}/edit", data=form_data(debrief, actions=REWORDED))
    assert reworded.status_code == 302
    db.session.refresh(draft)
    assert draft.status == PracticeStatus.PUBLISHED and draft.debrief_id == debrief.id
    assert present(draft, users.peer).context.debrief_id is None
    assert present(draft, users.admin).context.debrief_id == debrief.id
