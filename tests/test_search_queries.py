"""Malformed and abusive input gets a message or a clamp, never an error;
snippets show a debrief's own text as text."""

import pytest
from markupsafe import Markup

from kb import search


@pytest.fixture
def filed(users, make_debrief):
    return make_debrief(users.rep)


ABUSIVE = {
    "unbalanced quote": ('"pricing was', "quotation mark"),
    "unbalanced bracket": ("(pricing OR procurement", "unmatched"),
    "closing bracket": ("pricing)", "unmatched"),
    "open range": ("close:[2025-01-01 TO", "unmatched"),
    "lone AND": ("AND", "needs a word on each side"),
    "lone OR": ("OR", "needs a word on each side"),
    "lone NOT": ("NOT", "needs a word on each side"),
    "trailing AND": ("pricing AND", "needs a word on each side"),
    "leading OR": ("OR pricing", "needs a word on each side"),
    "lone minus": ("-", "lone"),
    "leading wildcard": ("*ricing", "leading wildcard"),
    "inner wildcard": ("pr*cing", "inside a word"),
    "short prefix": ("p*", "at least 3 letters"),
    "10,000 characters": ("pricing " * 1250, "longer than"),
    "control characters": ("pri\x00cing\x07 \x1b[31mred", "control characters"),
    "unknown field": ("colour:blue pricing", "no field 'colour'"),
    "unknown outcome": ("outcome:maybe", "not an outcome"),
    "unknown competitor": ("competitor:nobody", "no competitor"),
    "bad date": ("close:2025-13-45", "not a real date"),
    "bad date range": ("close:[yesterday TO today]", "not a date"),
    "bad amount": ("amount:[lots TO more]", "not an amount"),
    "field without value": ("outcome: ", "needs a value"),
    "range without field": ("[a TO z]", "range needs"),
    "only stop words": ("the and of", "nothing to search for"),
}


def test_abusive_queries_get_a_message_not_an_error(users, filed, api):
    for case, (q, message) in ABUSIVE.items():
        result = search.search(users.rep, {"q": q})
        assert any(message.lower() in w.lower() for w in result.warnings), (case, result.warnings)
        response = api.get(users.rep, "/api/v1/search", query_string={"q": q})
        assert response.status_code == 200, case
        assert response.json["warnings"] == result.warnings, case


ODD = [
    "",
    "   ",
    '"',
    '""',
    '"""',
    "(((((((",
    "((pricing))",
    "(" * 300 + "pricing" + ")" * 300,
    "::::",
    ":pricing",
    "\\",
    "'; DROP TABLE debriefs; --",
    "<script>alert(1)</script>",
    "%",
    "_",
    "NOT NOT NOT",
    "pricing AND AND OR procurement",
    "a" * 5000,
    "🙂 pricing 🙂",
    "\u202epricing\u202c",
    "pricing^1000",
    "*:*",
    "close:[TO]",
    "amount:>",
    "competitor:",
    "text:",
    "pairs:foo key:debrief:1 doc_type:debrief author_id:1",
    "outcome:lost OR",
    "-pricing -procurement",
    "(pricing OR) procurement",
]


def test_odd_queries_never_raise(users, filed, api):
    for q in ODD:
        found = search.search(users.rep, {"q": q, "facets": "1"})
        response = api.get(users.rep, "/api/v1/search", query_string={"q": q})
        assert response.status_code == 200, (q, response.json)
        # The page and the API read the query the same way.
        assert response.json["total"] == found.total, q


def test_internal_fields_cannot_be_queried(users, make_debrief):
    draft = make_debrief(users.rep, status="draft")
    for q in (f"key:debrief:{draft.id}", f"author_id:{users.rep.id}", "status:draft pairs:x"):
        assert search.search(users.peer, {"q": q}).total == 0


CLAMPS = [
    ({"page": "0"}, "'page' must be between", {"page": 1}),
    ({"page": "-3"}, "'page' must be between", {"page": 1}),
    ({"page": "two"}, "whole number", {"page": 1}),
    ({"page": "99999999999999999999"}, "'page' must be between", {}),
    ({"page": "7"}, "only 1 pages", {"page": 1}),
    ({"per_page": "0"}, "'per_page' must be between", {"per_page": 1}),
    ({"per_page": "1000"}, "'per_page' must be between", {"per_page": 100}),
    ({"per_page": "1e9"}, "whole number", {"per_page": 25}),
    ({"sort": "cheapest"}, "Sort by", {"sort": "relevance"}),
    ({"date_from": "last tuesday"}, "date_from", {}),
    ({"outcome": "maybe"}, "not an outcome", {}),
    ({"segment": "Galactic"}, "There is no segment", {}),
    ({"category": "vibes"}, "no reason category", {}),
]


def test_parameters_out_of_range_are_clamped_with_a_message(users, filed, api):
    for params, message, clamped in CLAMPS:
        result = search.search(users.rep, {"q": "pricing", **params})
        assert any(message.lower() in w.lower() for w in result.warnings), (params, result)
        for key, value in clamped.items():
            assert getattr(result, key) == value, params
        response = api.get(users.rep, "/api/v1/search", query_string={"q": "pricing", **params})
        assert response.status_code == 200, params


def test_highlights_escape_the_debriefs_own_text(users, make_debrief, api):
    make_debrief(
        users.rep,
        quotes=[{"text": 'Pricing <script>alert("x")</script> & <b>bold</b> claims.'}],
    )
    hit = search.search(users.rep, {"q": "pricing"}).hits[0]
    html = next(s.html for s in hit.highlights if s.field == "quotes")
    assert isinstance(html, Markup)
    assert "<script>" not in html and "<b>" not in html
    assert "&lt;script&gt;" in html and "&amp;" in html
    assert "<mark>Pricing</mark>" in html
    body = api.get(users.rep, "/api/v1/search", query_string={"q": "alert"}).json
    served = [h["html"] for h in body["hits"][0]["highlights"]]
    assert all("<script>" not in s for s in served)
    assert any("<mark>alert</mark>" in s for s in served)
    # A query of markup is text too.
    result = search.search(users.rep, {"q": "<mark>script</mark>"})
    assert all("<mark>mark</mark>" not in s.html for h in result.hits for s in h.highlights)


def test_every_result_reports_time_and_range(users, filed):
    result = search.search(users.rep, {"q": "pricing"})
    assert result.total == 1 and result.pages == 1 and result.first == 1 and result.last == 1
    assert 0 < result.took_ms < 5000


def test_a_failing_index_is_reopened_or_answers_with_the_failure(users, filed, monkeypatch):
    from kb.search.docsets import View

    original, calls = View.top_scored, []

    def vanishing_file_once(self, *args):
        calls.append(1)
        if len(calls) == 1:
            raise FileNotFoundError("a segment file removed by a rebuild")
        return original(self, *args)

    monkeypatch.setattr(View, "top_scored", vanishing_file_once)
    assert search.search(users.rep, {"q": "pricing"}).total == 1
    monkeypatch.setattr(View, "top_scored", lambda *args: 1 / 0)
    result = search.search(users.rep, {"q": "pricing"})
    # Never an answer that looks like "nothing matches" or "everything".
    assert result.total == 0 and result.hits == [] and result.warnings == []
    assert result.error.startswith("The search failed")
