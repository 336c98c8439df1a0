"""A theme whose query, rather than its filters, requires an outcome or a
winner ("outcome:won pricing"): its win rate when mentioned would be 100 %
or 0 % by definition too, so it is withheld with the same reason; a query
that only mentions an outcome under OR or NOT leaves the rate."""

import json

import pytest

from kb.themes import figures, service
from tests.test_themes_figures import PHRASE, QUIET, SAYS, rep
from tests.test_themes_outcome_filter import WON_ONLY, overview_row


@pytest.mark.parametrize(
    ("query", "fixed"),
    [
        ("outcome:won pricing", {"outcome": "won"}),
        ("outcome: lost", {"outcome": "lost"}),
        ("Outcome:Loss", {"outcome": "lost"}),
        ("(outcome:no_decision budget)", {"outcome": "no_decision"}),
        ("winner:us renewal", {"winner": "us"}),
        ("winner:Acme", {"winner": "acme"}),
        # Not required of every match: under OR or NOT, or quoted as words.
        ("pricing OR outcome:won", {}),
        ("outcome:won OR outcome:lost", {}),
        ("NOT outcome:won", {}),
        ("pricing -outcome:lost", {}),
        ('"outcome:won"', {}),
        ("pricing", {}),
        ("", {}),
        (None, {}),
        # Not an outcome: the search warns, and nothing is fixed.
        ("outcome:maybe", {}),
    ],
)
def test_what_a_query_requires_of_every_match(query, fixed):
    assert figures.query_fixes(query) == fixed


def test_the_reason_names_the_query_s_outcome():
    assert figures.fixed_outcome({}, "outcome:won pricing") == WON_ONLY
    assert figures.fixed_outcome(None, "winner:us") == "this theme counts deals we won only"
    assert figures.fixed_outcome({}, "pricing OR outcome:won") is None
    # A filter and the query both: the filter is what the theme shows.
    assert figures.fixed_outcome({"outcome": "lost"}, "outcome:won") == (
        "this theme counts lost deals only"
    )


@pytest.fixture
def query_themes(users):
    r = users.rep
    rep(r, "A", 10, "lost", competitors=["Acme"], amount=48000, **SAYS)
    rep(r, "C", 20, "won", competitors=["Acme"], amount=70000, **SAYS)
    rep(r, "E", 30, "won", amount=12000, **SAYS)
    rep(r, "D", 30, "won", amount=10000, **QUIET)

    def make(name, query):
        payload = {"name": name, "query": query, "filters": {}}
        return service.save_theme(users.manager, service.parse(payload))

    return {
        "won": make("Cliff said in wins", f'outcome:won "{PHRASE}"'),
        "acme": make("Cliff where Acme won", f'winner:acme "{PHRASE}"'),
        "either": make("Cliff or a win", f'"{PHRASE}" OR outcome:won'),
    }


def test_pages_exports_and_api_withhold_the_rate(client, api, auth, users, query_themes):
    auth.login(users.rep)
    html = client.get("/themes/?period=90d").get_data(as_text=True)
    won = overview_row(html, "Cliff said in wins")
    assert f"({WON_ONLY})" in won and "100%" not in won and "95% CI" not in won
    acme = overview_row(html, "Cliff where Acme won")
    assert "(this theme counts deals Acme won only)" in acme
    either = overview_row(html, "Cliff or a win")
    assert "this theme counts" not in either and "95% CI" in either

    page = client.get(f"/themes/{query_themes['won'].id}").get_data(as_text=True)
    assert f"({WON_ONLY})" in page and "Significantly" not in page
    assert "leave the outcome (and who won) out of its filters and query" in page

    auth.logout()
    auth.login(users.marketing)
    items = json.loads(client.get("/exports/themes.json?period=all").data)
    by_name = {i["name"]: i for i in items}
    assert by_name["Cliff said in wins"]["win_rate"] is None
    assert by_name["Cliff said in wins"]["win_rate_withheld"] == WON_ONLY
    assert by_name["Cliff or a win"]["win_rate_withheld"] is None

    body = api.get(users.rep, f"/api/v1/themes/{query_themes['acme'].id}").json
    deals = body["figures"]["deals_mentioning"]
    assert deals["win_rate"] is None
    assert deals["win_rate_withheld"] == "this theme counts deals Acme won only"
