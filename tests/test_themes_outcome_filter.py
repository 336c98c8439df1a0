"""A theme whose own filters fix the outcome (won deals only, deals Acme
won): its win rate when mentioned would be 100 % or 0 % by definition, so
the overview, its page, its charts, the exports and the API show no rate but
say why, while its mentions and revenue stay; a theme without such a filter
still shows its rate; the theme form says so while an outcome is chosen; and
the demo's mutual-action-plan theme shows a real figure."""

import json
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from kb import search
from kb.analytics.periods import rolling
from kb.demo.generator import generate_with_showcase
from kb.demo.stories import THEMES
from kb.extensions import db
from kb.models import Theme
from kb.themes import engine, figures, service
from kb.themes.facts import deal_facts
from tests.browser import expect
from tests.conftest import PASSWORD
from tests.test_exports import read_csv, read_xlsx
from tests.test_themes_figures import PHRASE, QUIET, SAYS, rep

WON_ONLY = "this theme counts won deals only"


@pytest.fixture
def themes(users):
    """Deals mentioning the phrase: A lost to Acme, C and E won; D won and
    I lost without it. Themes of the phrase: won deals only (addressed 15
    days ago, for its before/after view), lost deals only, deals Acme won,
    and the phrase alone (2 won of 3 decided)."""
    r = users.rep
    rep(r, "A", 10, "lost", competitors=["Acme"], segment="Enterprise", amount=48000, **SAYS)
    rep(r, "C", 20, "won", competitors=["Acme"], segment="Enterprise", amount=70000, **SAYS)
    rep(r, "E", 30, "won", amount=12000, **SAYS)
    rep(r, "D", 30, "won", amount=10000, **QUIET)
    rep(r, "I", 5, "lost", competitors=["Globex"], amount=15000, **QUIET)

    def make(name, filters, **extra):
        payload = {"name": name, "query": f'"{PHRASE}"', "filters": filters, **extra}
        return service.save_theme(users.manager, service.parse(payload))

    addressed = (date.today() - timedelta(days=15)).isoformat()
    return {
        "won": make(
            "Cliff in wins", {"outcome": "won"}, status="addressed", addressed_on=addressed
        ),
        "lost": make("Cliff in losses", {"outcome": "lost"}),
        "acme": make("Cliff where Acme won", {"winner": "acme"}),
        "all": make("Cliff anywhere", {}),
    }


def overview_row(html: str, name: str) -> str:
    """The overview table's row of a theme."""
    rows = re.findall(r'<tr class="polarity-.*?</tr>', html, re.S)
    (row,) = [r for r in rows if f">{name}</a>" in r]
    return row


def win_rate_figure(html: str) -> str:
    found = re.search(r'<div class="figure[^"]*" id="win-rate-mentioned">.*?</div>', html, re.S)
    assert found, "no win-rate figure"
    return found.group(0)


def chart_spec(html: str, chart_id: str) -> dict:
    found = re.search(rf"id=\"{chart_id}\"[^>]*data-chart='([^']*)'", html)
    assert found, chart_id
    return json.loads(found.group(1).replace("&#34;", '"').replace("&#39;", "'"))


# ------------------------------------------------------------ the rule


def test_filters_that_fix_the_outcome_are_named_in_plain_words():
    assert figures.fixed_outcome({"outcome": "won"}) == WON_ONLY
    assert figures.fixed_outcome({"outcome": "lost", "segment": "SMB"}) == (
        "this theme counts lost deals only"
    )
    assert "no decision" in figures.fixed_outcome({"outcome": "no_decision"})
    assert figures.fixed_outcome({"winner": "us"}) == "this theme counts deals we won only"
    assert figures.fixed_outcome({"winner": "Acme"}) == "this theme counts deals Acme won only"
    assert "in-house" in figures.fixed_outcome({"winner": "in_house"})
    assert figures.fixed_outcome({"outcome": ["won"]}) == WON_ONLY
    # Filters that leave the outcome open keep the rate.
    for open_ in ({}, None, {"competitor": "Acme", "segment": "SMB"}, {"category": ["price"]}):
        assert figures.fixed_outcome(open_) is None


# ------------------------------------------------------------ pages


def test_the_overview_says_why_instead_of_a_rate(client, auth, users, themes):
    auth.login(users.rep)
    html = client.get("/themes/?period=90d").get_data(as_text=True)
    won = overview_row(html, "Cliff in wins")
    assert f"({WON_ONLY})" in won
    assert "100%" not in won and "95% CI" not in won
    # Mentions and revenue stay.
    assert "$82,000 won" in won or "82,000" in won
    lost = overview_row(html, "Cliff in losses")
    assert "(this theme counts lost deals only)" in lost and "95% CI" not in lost
    acme = overview_row(html, "Cliff where Acme won")
    assert "(this theme counts deals Acme won only)" in acme and "95% CI" not in acme
    # The unfiltered theme still shows its rate, sample and interval.
    anywhere = overview_row(html, "Cliff anywhere")
    assert "67%" in anywhere and "2 of 3 deals; 95% CI" in anywhere
    assert "this theme counts" not in anywhere


def test_the_theme_page_says_why_in_its_figure_charts_and_before_after(client, auth, users, themes):
    auth.login(users.rep)
    html = client.get(f"/themes/{themes['won'].id}").get_data(as_text=True)
    figure = win_rate_figure(html)
    assert f"({WON_ONLY})" in figure and "<dd>—</dd>" in figure
    assert "100%" not in figure
    # No significance reading and no comparison with the other deals.
    assert "Too few deals to tell" not in html and "Other deals:" not in html
    assert "Significantly" not in html and "No clear difference" not in html
    # Mentions stay.
    assert "2 won, 0 lost, 0 no decision" in figure
    # The win-rate chart draws the baseline only, and its table says why.
    spec = chart_spec(html, "win-rate")
    assert spec["series"][0]["values"][0] is None and spec["series"][0]["values"][1] is not None
    assert html.count(f"No win rate when mentioned: {WON_ONLY}.") >= 2
    # Before and after it was addressed: the share stays, the rate does not.
    ba = html[html.index('id="ba-head"') :]
    assert f"({WON_ONLY})" in ba
    spec = chart_spec(html, "before-after")
    assert [s["label"] for s in spec["series"]] == ["Share of debriefs mentioning"]


def test_an_unfiltered_theme_still_shows_its_rate(client, auth, users, themes):
    auth.login(users.rep)
    html = client.get(f"/themes/{themes['all'].id}").get_data(as_text=True)
    figure = win_rate_figure(html)
    assert "67%" in figure and "2 won of 3 decided deals" in figure
    assert "this theme counts" not in html
    assert chart_spec(html, "win-rate")["series"][0]["values"][0] == pytest.approx(66.7, abs=0.1)


# ------------------------------------------------------------ exports and API


def test_exports_give_null_with_the_reason(client, auth, users, themes):
    auth.login(users.marketing)
    items = json.loads(client.get("/exports/themes.json?period=all").data)
    by_name = {i["name"]: i for i in items}
    won = by_name["Cliff in wins"]
    assert won["win_rate"] is None and won["win_rate_withheld"] == WON_ONLY
    assert (won["mentions"], won["won"], won["lost"]) == (2, 2, 0)
    assert by_name["Cliff in losses"]["win_rate"] is None
    anywhere = by_name["Cliff anywhere"]
    assert anywhere["win_rate"] == pytest.approx(2 / 3)
    assert anywhere["win_rate_withheld"] is None

    rows = {r["Theme"]: r for r in read_csv(client.get("/exports/themes.csv?period=all").data)}
    assert rows["Cliff in wins"]["Win rate when mentioned"] == ""
    assert rows["Cliff in wins"]["Why no win rate"] == WON_ONLY
    assert rows["Cliff anywhere"]["Win rate when mentioned"] != ""
    assert rows["Cliff anywhere"]["Why no win rate"] == ""

    sheet = read_xlsx(client.get("/exports/themes.xlsx?period=all").data)["Themes"]
    head = [c.value for c in sheet[1]]
    rate, why = head.index("Win rate when mentioned"), head.index("Why no win rate")
    cells = {row[1]: row for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert cells["Cliff in wins"][rate] is None and cells["Cliff in wins"][why] == WON_ONLY
    assert cells["Cliff anywhere"][rate] is not None and cells["Cliff anywhere"][why] is None


def test_the_api_gives_null_with_the_reason(api, users, themes):
    body = api.get(users.rep, f"/api/v1/themes/{themes['won'].id}?period=365d").json
    f = body["figures"]
    assert f["deals_mentioning"] == {
        "won": 2,
        "lost": 0,
        "no_decision": 0,
        "win_rate": None,
        "win_rate_withheld": WON_ONLY,
    }
    assert f["baseline"]["win_rate"] is not None  # all deals' rate is a finding
    assert f["mentions"] == 2 and f["revenue"]["USD"]["won"] == 82000.0
    assert all(s["deals_mentioning"]["win_rate"] is None for s in f["by_competitor"])
    for window in (f["before_after"]["before"], f["before_after"]["after"]):
        assert window["deals_mentioning"]["win_rate_withheld"] == WON_ONLY

    acme = api.get(users.rep, f"/api/v1/themes/{themes['acme'].id}").json["figures"]
    assert acme["deals_mentioning"]["win_rate"] is None
    assert acme["deals_mentioning"]["win_rate_withheld"] == "this theme counts deals Acme won only"

    anywhere = api.get(users.rep, f"/api/v1/themes/{themes['all'].id}").json["figures"]
    assert anywhere["deals_mentioning"]["win_rate"] == pytest.approx(2 / 3)
    assert anywhere["deals_mentioning"]["win_rate_withheld"] is None

    listed = api.get(users.rep, "/api/v1/themes?figures=1&period=90d").json["items"]
    by_name = {t["name"]: t["figures"]["deals_mentioning"] for t in listed}
    assert by_name["Cliff in wins"]["win_rate"] is None
    assert by_name["Cliff in losses"]["win_rate_withheld"] == "this theme counts lost deals only"
    assert by_name["Cliff anywhere"]["win_rate"] == pytest.approx(2 / 3)


def test_the_openapi_document_describes_the_withheld_rate(client):
    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    deals = schemas["ThemeDeals"]
    assert "win_rate_withheld" in deals["required"]
    assert deals["properties"]["win_rate"]["type"] == ["number", "null"]
    assert schemas["ThemeOut"]["properties"]["figures"]["properties"]["deals_mentioning"] == {
        "$ref": "#/components/schemas/ThemeDeals"
    }


# ------------------------------------------------------------ the form


def test_the_form_says_a_theme_of_one_outcome_shows_no_rate(client, auth, users, themes):
    auth.login(users.manager)
    help_line = re.compile(
        r'<p class="help fixed-outcome-help" id="fixed-outcome-help">[^<]*'
        r"win rate when mentioned cannot be shown[^<]*Leave the outcome out[^<]*</p>"
    )
    new = client.get("/themes/new").get_data(as_text=True)
    assert help_line.search(new)
    edit = client.get(f"/themes/{themes['won'].id}/edit").get_data(as_text=True)
    assert help_line.search(edit) and '<option selected value="won">' in edit
    # It is advice, not a rule: a theme of lost deals is saved.
    response = client.post(
        "/themes/new",
        data={
            "name": "Loss reasons",
            "query": "",
            "filters-outcome": "lost",
            "polarity": "weakness",
            "status": "tracked",
            "owner_id": "",
        },
    )
    assert response.status_code == 302
    saved = db.session.scalar(select(Theme).where(Theme.name == "Loss reasons"))
    assert saved.filters == {"outcome": "lost"}


@pytest.mark.browser
def test_the_form_help_shows_while_an_outcome_is_chosen(app, users, live_server, browser_page):
    page = browser_page
    page.goto(f"{live_server}/login")
    page.get_by_label("E-mail").fill(users.manager.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{live_server}/themes/new")
    note = page.locator("#fixed-outcome-help")
    expect(note).to_be_hidden()
    page.get_by_label("Outcome").select_option("won")
    expect(note).to_be_visible()
    expect(note).to_contain_text("cannot be shown")
    page.get_by_label("Outcome").select_option("")
    expect(note).to_be_hidden()
    page.get_by_label("Who won").select_option("us")
    expect(note).to_be_visible()
    # A theme prefilled from a search of won deals says so at once.
    page.goto(f"{live_server}/themes/new?q=pricing&outcome=won")
    expect(page.locator("#fixed-outcome-help")).to_be_visible()


# ------------------------------------------------------------ the demo


def test_the_demo_mutual_action_plan_theme_shows_a_real_rate(app, users):
    story = next(t for t in THEMES if t.name == "Mutual action plans win deals")
    assert figures.fixed_outcome(story.filters) is None
    assert all(figures.fixed_outcome(t.filters) is None for t in THEMES)
    generate_with_showcase(600, 11, None, anchor=date.today())
    search.catch_up()
    theme = db.session.scalar(select(Theme).where(Theme.name == story.name))
    assert figures.rate_withheld(theme) is None
    found = figures.figures(
        engine.snapshot(),
        deal_facts(),
        theme,
        rolling("365d", date.today()),
        date.today(),
        "quarter",
    )
    # Compared with all deals, not fixed by its filters: the deals that
    # mention it are won clearly more often than the period's deals.
    assert found.mentioned.decided >= 30
    assert found.mentioned.rate > found.baseline.rate + 0.2
    assert found.comparison.significant
