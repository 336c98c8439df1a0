"""JSON API v1 for debriefs: round trip, pagination, PATCH, DELETE, aliases,
and every kind of bad input answered with per-field errors, storing nothing."""

import copy
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from kb.debriefs import service
from kb.extensions import db
from kb.models import AuditEntry, Debrief
from tests.conftest import debrief_payload, row_counts

URL = "/api/v1/debriefs"


def ready(api, user):
    """Make the first call, which creates the user's token (and its audit row),
    so that later row counts only see what the call under test stores."""
    assert api.get(user, URL).status_code == 200


def stored(debrief_id: int) -> dict:
    db.session.expire_all()
    return copy.deepcopy(service.as_input(db.session.get(Debrief, debrief_id)))


# ---------------------------------------------------------------- round trip


def test_post_then_get_returns_the_same_debrief(api, users):
    created = api.post(users.rep, URL, json=debrief_payload())
    assert created.status_code == 201, created.json
    body = created.json
    assert created.headers["Location"].endswith(f"{URL}/{body['id']}")

    got = api.get(users.rep, created.headers["Location"])
    assert got.status_code == 200
    assert got.json == body

    assert body["source"] == "rep" and body["status"] == "submitted"
    assert body["author"] == {"id": users.rep.id, "name": "Rita Rep"}
    assert body["submitted_at"] is not None
    deal = body["deal"]
    assert deal["id"] == db.session.get(Debrief, body["id"]).deal_id
    assert {k: deal[k] for k in ("name", "account", "amount", "currency", "outcome")} == {
        "name": "Initech renewal",
        "account": "Initech",
        "amount": 48000.0,
        "currency": "USD",
        "outcome": "lost",
    }
    assert deal["close_date"] == (date.today() - timedelta(days=10)).isoformat()
    assert (deal["segment"], deal["region"]) == ("Enterprise", "EMEA")
    assert deal["competitors"] == ["Acme"] and deal["winner"] == "Acme"
    assert body["reasons"] == [
        {
            "category": "price.total-cost",
            "direction": "hurt",
            "primary": True,
            "explanation": "Acme bundled implementation at no cost.",
            "competitor": "Acme",
        },
        {
            "category": "product.integrations",
            "direction": "helped",
            "primary": False,
            "explanation": "Our SAP connector impressed their IT team.",
            "competitor": None,
        },
    ]
    assert body["quotes"] == [{"text": "Your pricing was simply too high.", "speaker_role": "CFO"}]
    assert body["scores"] == {
        "product_fit": 4,
        "value_for_money": 2,
        "sales_experience": None,
        "implementation_confidence": None,
        "relationship": None,
    }
    assert body["lessons_learned"] == "Build the ROI case before procurement gets involved."


def test_post_stores_the_debrief_with_its_audit_and_index_entries(api, users):
    ready(api, users.rep)
    before = row_counts()
    assert api.post(users.rep, URL, json=debrief_payload()).status_code == 201
    after = row_counts()
    assert {k: after[k] - before[k] for k in after} == {
        "debriefs": 1,
        "deals": 1,
        "reasons": 2,
        "quotes": 1,
        "audit_log": 1,
        "index_changes": 1,
    }


def test_top_ranked_reason_is_primary_unless_another_is_marked(api, users):
    reasons = [
        {"category": "price.total-cost", "direction": "hurt"},
        {"category": "product.ease-of-use", "direction": "helped"},
        {"category": "timing-budget.timeline", "direction": "hurt"},
    ]
    body = api.post(users.rep, URL, json=debrief_payload(reasons=reasons)).json
    assert [r["primary"] for r in body["reasons"]] == [True, False, False]

    reasons[2]["primary"] = True
    body = api.post(users.rep, URL, json=debrief_payload(reasons=reasons)).json
    assert [r["primary"] for r in body["reasons"]] == [False, False, True]
    assert [r["category"] for r in body["reasons"]] == [
        "price.total-cost",
        "product.ease-of-use",
        "timing-budget.timeline",
    ]


def test_draft_may_have_no_reasons(api, users):
    response = api.post(users.rep, URL, json=debrief_payload(status="draft", reasons=[]))
    assert response.status_code == 201, response.json
    assert response.json["status"] == "draft" and response.json["reasons"] == []
    assert response.json["submitted_at"] is None


def test_competitor_aliases_resolve_to_the_canonical_name(api, users):
    payload = debrief_payload(
        deal={"competitors": ["SFDC", "salesforce", "acme corp"], "winner": "sfdc"},
        reasons=[{"category": "price.total-cost", "direction": "hurt", "competitor": "SFDC"}],
    )
    body = api.post(users.rep, URL, json=payload).json
    assert body["deal"]["competitors"] == ["Acme", "Salesforce"]
    assert body["deal"]["winner"] == "Salesforce"
    assert body["reasons"][0]["competitor"] == "Salesforce"


def test_buyer_interview_by_marketing(api, users):
    payload = debrief_payload(
        source="buyer", interviewee_role="Economic buyer", interview_date="2025-01-15"
    )
    response = api.post(users.marketing, URL, json=payload)
    assert response.status_code == 201, response.json
    assert response.json["source"] == "buyer"
    assert response.json["interviewee_role"] == "Economic buyer"
    assert response.json["interview_date"] == "2025-01-15"


# ---------------------------------------------------------------- list


@pytest.fixture
def five_debriefs(make_debrief, users):
    return [
        make_debrief(users.rep, deal={"name": f"Deal {i}", "outcome": outcome, "winner": None})
        for i, outcome in enumerate(["won", "lost", "won", "lost", "no_decision"])
    ]


def test_list_is_paginated(api, users, five_debriefs):
    first = api.get(users.rep, f"{URL}?per_page=2").json
    assert (first["page"], first["per_page"], first["total"], first["pages"]) == (1, 2, 5, 3)
    assert len(first["items"]) == 2
    seen = [
        item["id"]
        for page in (1, 2, 3)
        for item in api.get(users.rep, f"{URL}?per_page=2&page={page}").json["items"]
    ]
    assert sorted(seen) == sorted(d.id for d in five_debriefs)

    default = api.get(users.rep, URL).json
    assert default["per_page"] == 25 and len(default["items"]) == 5


def test_per_page_is_capped_at_100(api, users, five_debriefs):
    body = api.get(users.rep, f"{URL}?per_page=1000").json
    assert body["per_page"] == 100 and body["total"] == 5


def test_a_page_past_the_end_answers_the_last_page(api, users, five_debriefs):
    body = api.get(users.rep, f"{URL}?per_page=2&page=99").json
    assert body["page"] == 3 and len(body["items"]) == 1


def test_invalid_paging_is_a_400(api, users):
    for query in ("page=0", "page=-1", "page=abc", "page=1.5", "per_page=0", "per_page=many"):
        response = api.get(users.rep, f"{URL}?{query}")
        assert response.status_code == 400, query
        assert response.json["error"] == "invalid_parameter"
        assert query.split("=")[0] in response.json["message"]


def test_list_filters(api, users, five_debriefs, make_debrief):
    make_debrief(users.marketing, source="buyer", interviewee_role="Champion")
    won = api.get(users.rep, f"{URL}?outcome=won").json
    assert won["total"] == 2 and {i["deal"]["outcome"] for i in won["items"]} == {"won"}
    buyer = api.get(users.rep, f"{URL}?source=buyer").json
    assert buyer["total"] == 1 and buyer["items"][0]["source"] == "buyer"


# ---------------------------------------------------------------- PATCH


def test_patch_one_deal_field_leaves_the_rest(api, users, make_debrief):
    debrief = make_debrief(users.rep)
    before = api.get(users.rep, f"{URL}/{debrief.id}").json
    response = api.patch(users.rep, f"{URL}/{debrief.id}", json={"deal": {"amount": 52000}})
    assert response.status_code == 200, response.json
    after = response.json
    assert after["deal"]["amount"] == 52000.0
    for key in ("name", "account", "close_date", "outcome", "competitors", "winner", "segment"):
        assert after["deal"][key] == before["deal"][key]
    for key in ("reasons", "quotes", "scores", "status", "decision_process", "what_worked"):
        assert after[key] == before[key]
    assert api.get(users.rep, f"{URL}/{debrief.id}").json["deal"]["amount"] == 52000.0


def test_patch_one_list_leaves_the_other(api, users, make_debrief):
    debrief = make_debrief(users.rep)
    before = api.get(users.rep, f"{URL}/{debrief.id}").json
    new_quotes = [{"text": "We never saw a roadmap.", "speaker_role": "CTO"}]
    after = api.patch(users.rep, f"{URL}/{debrief.id}", json={"quotes": new_quotes}).json
    assert after["quotes"] == new_quotes
    assert after["reasons"] == before["reasons"] and after["deal"] == before["deal"]

    new_reasons = [{"category": "product.roadmap", "direction": "hurt"}]
    after = api.patch(users.rep, f"{URL}/{debrief.id}", json={"reasons": new_reasons}).json
    assert [r["category"] for r in after["reasons"]] == ["product.roadmap"]
    assert after["quotes"] == new_quotes


def test_patch_records_the_changed_fields_in_the_audit_trail(api, users, make_debrief):
    debrief = make_debrief(users.rep)
    api.patch(users.rep, f"{URL}/{debrief.id}", json={"deal": {"amount": 52000}})
    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.entity_id == debrief.id, AuditEntry.action == "update")
    ).one()
    assert entry.user_id == users.rep.id
    assert entry.changes == {"deal.amount": ["48000.00", "52000.00"]}


def test_patch_that_changes_nothing_records_nothing(api, users, make_debrief):
    debrief = make_debrief(users.rep)
    ready(api, users.rep)
    before = row_counts()
    for patch in (
        {"deal": {"name": "Initech renewal"}},
        {"deal": {"amount": 48000}},
        {"deal": {"amount": "48000.0"}},
        {"deal": {"competitors": ["ACME Corp"]}},  # an alias of the same competitor
        {"status": "submitted"},
        {},
    ):
        response = api.patch(users.rep, f"{URL}/{debrief.id}", json=patch)
        assert response.status_code == 200, patch
        assert row_counts() == before, patch


def test_patch_submits_a_draft(api, users, make_debrief):
    draft = make_debrief(users.rep, status="draft")
    body = api.patch(users.rep, f"{URL}/{draft.id}", json={"status": "submitted"}).json
    assert body["status"] == "submitted" and body["submitted_at"] is not None


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"deal": {"amount": "abc"}}, "deal.amount"),
        ({"deal": {"amount": -1}}, "deal.amount"),
        ({"deal": {"close_date": "2026-02-30"}}, "deal.close_date"),
        ({"deal": {"outcome": None}}, "deal.outcome"),
        ({"deal": {"competitors": ["Initrode"]}}, "deal.competitors.0"),
        ({"reasons": "price"}, "reasons"),
        ({"reasons": []}, "reasons"),
        ({"reasons": [{"category": "nope", "direction": "hurt"}]}, "reasons.0.category"),
        ({"quotes": [{"text": ""}]}, "quotes.0.text"),
        ({"status": "published"}, "status"),
        ({"lessons_learned": "x" * 10_001}, "lessons_learned"),
        ({"colour": "red"}, "colour"),
        ({"deal": {"colour": "red"}}, "deal.colour"),
        ({"deal": "Initech"}, "deal"),
        ({"scores": {"product_fit": 0}}, "scores.product_fit"),
        (
            # One good change beside one bad one: neither is stored.
            {"deal": {"amount": 1}, "quotes": [{"text": ""}]},
            "quotes.0.text",
        ),
    ],
    ids=lambda v: str(v)[:40] if isinstance(v, dict) else v,
)
def test_invalid_patch_stores_nothing(api, users, make_debrief, patch, field):
    debrief = make_debrief(users.rep)
    ready(api, users.rep)
    before, counts = stored(debrief.id), row_counts()
    response = api.patch(users.rep, f"{URL}/{debrief.id}", json=patch)
    assert response.status_code == 400, response.json
    assert response.json["error"] == "validation_failed"
    assert field in response.json["fields"], response.json
    assert stored(debrief.id) == before
    assert row_counts() == counts


def test_patch_with_a_body_that_is_not_an_object(api, users, make_debrief):
    debrief = make_debrief(users.rep)
    before = stored(debrief.id)
    for body in ([{"deal": {"amount": 1}}], "amount", 5):
        response = api.patch(users.rep, f"{URL}/{debrief.id}", json=body)
        assert response.status_code == 400, body
        assert "object" in response.json["message"]
    assert stored(debrief.id) == before


# ---------------------------------------------------------------- DELETE


def test_delete_then_404(api, users, make_debrief):
    debrief = make_debrief(users.rep)
    deal_id = debrief.deal_id
    response = api.delete(users.rep, f"{URL}/{debrief.id}")
    assert response.status_code == 204 and response.data == b""
    assert api.get(users.rep, f"{URL}/{debrief.id}").status_code == 404
    assert api.delete(users.rep, f"{URL}/{debrief.id}").status_code == 404
    assert api.patch(users.rep, f"{URL}/{debrief.id}", json={}).status_code == 404
    assert api.get(users.rep, URL).json["total"] == 0
    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.entity_id == debrief.id, AuditEntry.action == "delete")
    ).one()
    # The audit trail keeps what was deleted.
    assert entry.changes["content"][0]["deal"]["name"] == "Initech renewal"
    # A deal typed in with its only debrief goes with it.
    from kb.models import Deal

    assert db.session.get(Deal, deal_id) is None


def test_delete_keeps_a_crm_deal(api, users, make_debrief):
    from kb.models import Deal

    debrief = make_debrief(users.rep, deal={"crm_id": "006ABC"})
    deal_id = debrief.deal_id
    assert api.delete(users.rep, f"{URL}/{debrief.id}").status_code == 204
    db.session.expire_all()
    assert db.session.get(Deal, deal_id).crm_id == "006ABC"


# ---------------------------------------------------------------- bad input


def _without(path: str):
    def change(payload):
        *parents, last = path.split(".")
        node = payload
        for part in parents:
            node = node[part]
        del node[last]

    return change


def _set(path: str, value):
    def change(payload):
        *parents, last = path.split(".")
        node = payload
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return change


# More than a year ahead of any date the suite runs at.
FAR_FUTURE = "2999-06-30"

BAD_INPUT = [
    # (id, change to a valid payload, field, words of the message)
    ("missing outcome", _without("deal.outcome"), "deal.outcome", "required"),
    ("missing deal", _without("deal"), "deal", "deal"),
    ("missing deal name", _without("deal.name"), "deal.name", "required"),
    ("blank account", _set("deal.account", "   "), "deal.account", "empty"),
    ("unknown outcome", _set("deal.outcome", "maybe"), "deal.outcome", "won"),
    ("negative amount", _set("deal.amount", -5), "deal.amount", "negative"),
    ("amount not a number", _set("deal.amount", "abc"), "deal.amount", "number"),
    ("amount as a list", _set("deal.amount", [48000]), "deal.amount", "number"),
    ("amount as an object", _set("deal.amount", {"value": 1}), "deal.amount", "number"),
    ("amount with cents of cents", _set("deal.amount", "10.555"), "deal.amount", "decimal"),
    ("amount too large", _set("deal.amount", 10**13), "deal.amount", "too large"),
    ("impossible date", _set("deal.close_date", "2026-02-30"), "deal.close_date", "real date"),
    ("month 13", _set("deal.close_date", "2025-13-01"), "deal.close_date", "real date"),
    ("date in words", _set("deal.close_date", "last week"), "deal.close_date", "YYYY-MM-DD"),
    ("close date far ahead", _set("deal.close_date", FAR_FUTURE), "deal.close_date", "year"),
    ("close date long ago", _set("deal.close_date", "1999-12-31"), "deal.close_date", "2000"),
    ("date with a time", _set("deal.close_date", "2025-01-01T10:00"), "deal.close_date", "date"),
    ("bad currency", _set("deal.currency", "dollars"), "deal.currency", "format"),
    (
        "sales cycle in words",
        _set("deal.sales_cycle_days", "two weeks"),
        "deal.sales_cycle_days",
        "whole number",
    ),
    (
        "negative sales cycle",
        _set("deal.sales_cycle_days", -3),
        "deal.sales_cycle_days",
        "negative",
    ),
    ("unknown segment", _set("deal.segment", "Galaxy"), "deal.segment", "Unknown segment"),
    ("unknown region", _set("deal.region", "Mars"), "deal.region", "Unknown region"),
    (
        "unknown competitor",
        _set("deal.competitors", ["Acme", "Initrode"]),
        "deal.competitors.1",
        "Unknown competitor 'Initrode'",
    ),
    ("competitors as a string", _set("deal.competitors", "Acme"), "deal.competitors", "list"),
    ("unknown winner", _set("deal.winner", "Initrode"), "deal.winner", "Unknown competitor"),
    ("winner of a won deal", lambda p: p["deal"].update(outcome="won"), "deal.winner", "won"),
    ("deal as a string", _set("deal", "Initech"), "deal", "object"),
    ("unknown deal id", _set("deal_id", 999_999), "deal_id", "No deal"),
    ("over-long deal name", _set("deal.name", "x" * 201), "deal.name", "200 characters"),
    (
        "over-long lessons",
        _set("lessons_learned", "x" * 10_001),
        "lessons_learned",
        "10000 characters",
    ),
    (
        "over-long explanation",
        _set("reasons.0.explanation", "x" * 5_001),
        "reasons.0.explanation",
        "5000 characters",
    ),
    ("over-long quote", _set("quotes.0.text", "x" * 2_001), "quotes.0.text", "2000 characters"),
    ("empty quote", _set("quotes.0.text", ""), "quotes.0.text", "empty"),
    ("blank quote", _set("quotes.0.text", "   "), "quotes.0.text", "empty"),
    ("quote without text", _set("quotes.0", {"speaker_role": "CFO"}), "quotes.0.text", "required"),
    ("submit with no reasons", _set("reasons", []), "reasons", "at least one reason"),
    (
        "unknown category",
        _set("reasons.1.category", "product.teleportation"),
        "reasons.1.category",
        "Unknown reason category",
    ),
    (
        "unknown reason competitor",
        _set("reasons.0.competitor", "Initrode"),
        "reasons.0.competitor",
        "Unknown competitor",
    ),
    ("unknown direction", _set("reasons.0.direction", "sideways"), "reasons.0.direction", "helped"),
    ("two primary reasons", _set("reasons.1.primary", True), "reasons.1.primary", "Only one"),
    (
        "primary not a boolean",
        _set("reasons.0.primary", "perhaps"),
        "reasons.0.primary",
        "true or false",
    ),
    ("explanation as a number", _set("reasons.0.explanation", 42), "reasons.0.explanation", "text"),
    ("reasons as a string", _set("reasons", "price"), "reasons", "list"),
    ("reason as a string", _set("reasons", ["price"]), "reasons.0", "object"),
    ("quotes as an object", _set("quotes", {"text": "hi"}), "quotes", "list"),
    (
        "too many reasons",
        _set("reasons", [{"category": "price.total-cost", "direction": "hurt"}] * 21),
        "reasons",
        "20",
    ),
    ("score above 5", _set("scores.product_fit", 6), "scores.product_fit", "at most 5"),
    ("score below 1", _set("scores.value_for_money", 0), "scores.value_for_money", "at least 1"),
    ("score in words", _set("scores.relationship", "good"), "scores.relationship", "whole number"),
    ("unknown score", _set("scores.charisma", 3), "scores.charisma", "Unknown field"),
    ("unknown field", _set("colour", "red"), "colour", "Unknown field"),
    ("unknown deal field", _set("deal.colour", "red"), "deal.colour", "Unknown field"),
    ("unknown reason field", _set("reasons.0.weight", 3), "reasons.0.weight", "Unknown field"),
    ("unknown status", _set("status", "published"), "status", "draft"),
    ("unknown source", _set("source", "crm"), "source", "rep"),
    (
        "interview date impossible",
        _set("interview_date", "2025-04-31"),
        "interview_date",
        "real date",
    ),
    (
        "buyer interview without interviewee",
        _set("source", "buyer"),
        "interviewee_role",
        "interviewed",
    ),
]


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [case[1:] for case in BAD_INPUT],
    ids=[case[0] for case in BAD_INPUT],
)
def test_bad_input_is_a_400_with_a_message_per_field_and_stores_nothing(
    api, users, change, field, words
):
    # Manager: may file rep debriefs and buyer interviews, so every error is about the input.
    user = users.manager
    payload = debrief_payload()
    change(payload)
    ready(api, user)
    before = row_counts()
    response = api.post(user, URL, json=payload)
    assert response.status_code == 400, response.json
    body = response.json
    assert body["error"] == "validation_failed"
    assert field in body["fields"], body["fields"]
    assert words.lower() in body["fields"][field].lower(), body["fields"][field]
    assert row_counts() == before


def test_every_bad_field_is_reported_at_once(api, users):
    payload = debrief_payload(
        deal={"amount": "abc", "close_date": "2026-02-30", "competitors": ["Initrode"]},
        quotes=[{"text": ""}],
        colour="red",
    )
    del payload["deal"]["outcome"]
    response = api.post(users.rep, URL, json=payload)
    assert response.status_code == 400
    assert set(response.json["fields"]) >= {
        "deal.amount",
        "deal.close_date",
        "deal.outcome",
        "quotes.0.text",
        "colour",
    }


@pytest.mark.parametrize(
    ("data", "content_type", "status", "error"),
    [
        ("[1, 2, 3]", "application/json", 400, "validation_failed"),
        ('"a debrief"', "application/json", 400, "validation_failed"),
        ("42", "application/json", 400, "validation_failed"),
        ("null", "application/json", 400, "invalid_json"),
        ("{not json", "application/json", 400, "invalid_json"),
        ("", "application/json", 400, "invalid_json"),
        ('{"deal": {"name": "x"}', "application/json", 400, "invalid_json"),
        ("deal-name=Initech", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
        ('{"source": "rep"}', "text/plain", 415, "unsupported_media_type"),
        ("<debrief/>", "application/xml", 415, "unsupported_media_type"),
    ],
    ids=[
        "array",
        "string",
        "number",
        "null",
        "not json",
        "empty",
        "truncated",
        "form encoded",
        "text/plain",
        "xml",
    ],
)
def test_body_that_is_not_a_json_object(api, users, data, content_type, status, error):
    ready(api, users.rep)
    before = row_counts()
    response = api.post(users.rep, URL, data=data, content_type=content_type)
    assert response.status_code == status
    assert response.json["error"] == error
    assert response.json["message"]
    if error == "validation_failed":
        assert "object" in response.json["fields"]["__root__"]
    assert row_counts() == before


def test_json_with_a_charset_is_accepted(api, users):
    import json

    response = api.post(
        users.rep,
        URL,
        data=json.dumps(debrief_payload()),
        content_type="application/json; charset=utf-8",
    )
    assert response.status_code == 201
    stored = db.session.get(Debrief, response.json["id"])
    assert stored.deal.name == "Initech renewal" and len(stored.reasons) == 2


def test_crm_id_must_be_unique(api, users, make_debrief):
    make_debrief(users.rep, deal={"crm_id": "006XYZ"})
    ready(api, users.rep)
    before = row_counts()
    response = api.post(users.rep, URL, json=debrief_payload(deal={"crm_id": "006XYZ"}))
    assert response.status_code == 400
    assert "CRM id" in response.json["fields"]["deal.crm_id"]
    assert row_counts() == before


def test_unknown_route_and_method_answer_json(api, users):
    response = api.get(users.rep, "/api/v1/nothing-here")
    assert response.status_code == 404 and response.json["error"] == "not_found"
    response = api.post(users.rep, f"{URL}/1", json={})
    assert response.status_code == 405 and response.json["error"] == "method_not_allowed"


def test_a_nul_character_is_refused_with_a_field_error(api, users):
    from tests.conftest import debrief_payload, row_counts

    api.get(users.rep, "/api/v1/debriefs")  # creates the token (an audited write) first
    before = row_counts()
    bad = api.post(users.rep, "/api/v1/debriefs", json=debrief_payload(what_worked="a\x00b"))
    assert bad.status_code == 400 and "what_worked" in bad.json["fields"]
    assert api.get(users.rep, "/api/v1/debriefs?competitor=a%00").status_code == 400
    assert row_counts() == before
