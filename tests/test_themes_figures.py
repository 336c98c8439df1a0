"""A theme's figures against direct database queries: mentions, the deals
behind win rates (deals, not debriefs), revenue, the splits, the trend and
the before/after view; on hand-made debriefs and on generated demo data.
Then the theme pages and overview that show them."""

from collections import Counter
from datetime import date, timedelta

import pytest
from sqlalchemy import func, or_, select

from kb import search
from kb.analytics.periods import Period, recent_quarters, rolling
from kb.debriefs import service as debriefs
from kb.demo.generator import generate
from kb.demo.themes import PLANTED_THEMES
from kb.extensions import db
from kb.models import Deal, Debrief, DebriefStatus, Quote, Reason, Theme
from kb.themes import engine, figures, service
from kb.themes.facts import deal_facts
from tests.conftest import debrief_payload

PHRASE = "renewal cliff"


def ago(days: int) -> str:
    return (date.today() - timedelta(days=days)).isoformat()


# ------------------------------------------------------------ direct SQL


def mentioning(phrase: str):
    """Submitted debriefs whose own text contains the phrase (any case)."""
    p = phrase.lower()
    return or_(
        *(
            func.lower(getattr(Debrief, name)).contains(p, autoescape=True)
            for name in ("decision_process", "competitive_notes", "what_worked", "lessons_learned")
        ),
        Debrief.reasons.any(func.lower(Reason.explanation).contains(p, autoescape=True)),
        Debrief.quotes.any(func.lower(Quote.text).contains(p, autoescape=True)),
    )


def sql_figures(phrase: str, period: Period) -> dict:
    in_period = (
        Debrief.status == DebriefStatus.SUBMITTED,
        Deal.close_date.between(period.start, period.end),
    )
    base = select(Debrief.id).join(Deal, Deal.id == Debrief.deal_id).where(*in_period)
    mentions = set(db.session.scalars(base.where(mentioning(phrase))))
    debriefs_in_period = set(db.session.scalars(base))
    deals = select(Deal.id, Deal.outcome, Deal.amount, Deal.currency).where(
        Deal.id.in_(select(Debrief.deal_id).where(Debrief.id.in_(mentions)))
    )
    mentioned = Counter()
    revenue = Counter()
    for _, outcome, amount, currency in db.session.execute(deals):
        mentioned[outcome.value] += 1
        if outcome.value in ("won", "lost") and amount is not None:
            revenue[(outcome.value, currency)] += float(amount)
    baseline = Counter(
        o.value
        for o in db.session.scalars(
            select(Deal.outcome).where(
                Deal.id.in_(select(Debrief.deal_id).where(Debrief.id.in_(debriefs_in_period)))
            )
        )
    )
    return {
        "mentions": len(mentions),
        "debriefs": len(debriefs_in_period),
        "mentioned": mentioned,
        "baseline": baseline,
        "revenue": revenue,
    }


def as_counter(rate) -> Counter:
    return Counter({"won": rate.won, "lost": rate.lost, "no_decision": rate.no_decision})


def revenue_counter(revenue: figures.Revenue) -> Counter:
    out = Counter()
    for outcome, bucket in (("won", revenue.won), ("lost", revenue.lost)):
        for currency, amount in bucket.items():
            out[(outcome, currency)] += amount
    return out


def assert_agree(found: figures.Figures, expected: dict) -> None:
    assert found.mentions == expected["mentions"]
    assert found.debriefs == expected["debriefs"]
    assert as_counter(found.mentioned) == expected["mentioned"] + Counter()
    assert as_counter(found.baseline) == expected["baseline"] + Counter()
    assert revenue_counter(found.revenue) == pytest.approx(dict(expected["revenue"]))


# ------------------------------------------------------------ hand-made debriefs


def rep(user, name, days, outcome, *, competitors=(), segment="SMB", amount=10000, **kw):
    winner = {"won": None, "no_decision": "no_decision"}.get(outcome)
    if outcome == "lost":
        winner = competitors[0] if competitors else "in_house"
    deal = {
        "name": name,
        "close_date": ago(days),
        "outcome": outcome,
        "competitors": list(competitors),
        "winner": winner,
        "segment": segment,
        "amount": amount,
        **kw.pop("deal", {}),
    }
    payload = debrief_payload(deal=deal, **kw)
    return debriefs.save_debrief(user, debriefs.parse(payload))


SAYS = {"competitive_notes": "They fear the renewal cliff in year three."}
QUIET = {"competitive_notes": "Nothing to add."}


@pytest.fixture
def corpus(users):
    r = users.rep
    a = rep(r, "A", 10, "lost", competitors=["Acme"], segment="Enterprise", amount=48000, **SAYS)
    rep(
        r,
        "B",
        40,
        "lost",
        competitors=["Globex"],
        amount=30000,
        deal={"currency": "EUR"},
        quotes=[{"text": "The Renewal Cliff worried our CFO.", "speaker_role": "CFO"}],
        competitive_notes="",
    )
    c = rep(r, "C", 20, "won", competitors=["Acme"], segment="Enterprise", amount=70000, **SAYS)
    rep(r, "D", 30, "won", amount=10000, **QUIET)
    rep(
        r,
        "E",
        50,
        "no_decision",
        competitors=["Acme"],
        segment="Mid-market",
        amount=5000,
        **SAYS,
    )
    rep(r, "F", 400, "lost", competitors=["Acme"], segment="Enterprise", amount=20000, **SAYS)
    rep(r, "G", 3, "won", status="draft", **SAYS)
    rep(r, "I", 5, "lost", competitors=["Salesforce"], segment="Mid-market", amount=15000, **QUIET)
    # A buyer interview on deal A that says it too: still one deal.
    buyer = {
        "source": "buyer",
        "status": "submitted",
        "deal_id": a.deal_id,
        "interviewee_role": "CFO",
        "reasons": [{"category": "price.total-cost", "direction": "hurt", "primary": True}],
        "quotes": [{"text": "That renewal cliff was a deal breaker.", "speaker_role": "CFO"}],
    }
    debriefs.save_debrief(users.marketing, debriefs.parse(buyer))
    theme = service.save_theme(
        users.manager,
        service.parse({"name": "Renewal cliff", "query": f'"{PHRASE}"', "polarity": "weakness"}),
    )
    return {"theme": theme, "a": a, "c": c}


def current(theme, period, by="quarter"):
    snap = engine.snapshot()
    return figures.figures(snap, deal_facts(), theme, period, date.today(), by)


def test_figures_as_worked_out_by_hand(corpus):
    found = current(corpus["theme"], rolling("365d", date.today()))
    assert found.total == 6  # A (rep and buyer), B, C, E, F; the draft G is not counted
    # In the last 365 days: A rep, A buyer, B, C, E of A rep, A buyer, B, C, D, E, I.
    assert (found.mentions, found.debriefs) == (5, 7)
    # Deals: A lost, B lost, C won, E no decision -> 1 of 3 decided.
    assert (found.mentioned.won, found.mentioned.lost, found.mentioned.no_decision) == (1, 2, 1)
    assert found.mentioned.rate == pytest.approx(1 / 3)
    # All debriefed deals: A, B, I lost; C, D won; E no decision.
    assert (found.baseline.won, found.baseline.lost, found.baseline.no_decision) == (2, 3, 1)
    assert found.revenue.won == {"USD": 70000.0}
    assert found.revenue.lost == {"USD": 48000.0, "EUR": 30000.0}
    acme = next(s for s in found.by_competitor if s.label == "Acme")
    assert (acme.mentions, acme.debriefs, acme.mentioned.won, acme.mentioned.lost) == (4, 4, 1, 1)
    assert [s.label for s in found.by_competitor] == ["Acme", "Globex"]
    segments = {s.label: (s.mentions, s.debriefs) for s in found.by_segment}
    assert segments == {"Enterprise": (3, 3), "SMB": (1, 2), "Mid-market": (1, 2)}
    assert found.before_after is None


def test_figures_agree_with_direct_database_queries(corpus):
    for period in (
        rolling("365d", date.today()),
        rolling("30d", date.today()),
        rolling("90d", date.today()),
    ):
        assert_agree(current(corpus["theme"], period), sql_figures(PHRASE, period))


def test_the_trend_counts_each_quarter_by_outcome(corpus):
    found = current(corpus["theme"], rolling("365d", date.today()))
    quarters = recent_quarters(date.today(), 8)
    assert [p.label for p in found.trend] == [q.label for q in quarters]
    for point, quarter in zip(found.trend, quarters, strict=True):
        expected = sql_figures(PHRASE, quarter)
        assert point.mentions == expected["mentions"]
        assert point.debriefs == expected["debriefs"]
    assert sum(p.mentions for p in found.trend) == 6
    months = current(corpus["theme"], rolling("365d", date.today()), by="month").trend
    assert len(months) == 12 and sum(p.mentions for p in months) == 5


def test_before_and_after_the_day_it_was_addressed(corpus, users):
    theme = corpus["theme"]
    addressed = date.today() - timedelta(days=25)
    data = service.parse(
        {**service.as_input(theme), "status": "addressed", "addressed_on": addressed.isoformat()}
    )
    theme = service.save_theme(users.manager, data, theme)
    found = current(theme, rolling("365d", date.today()))
    ba = found.before_after
    assert ba.days == 26
    assert (ba.after.period.start, ba.after.period.end) == (addressed, date.today())
    assert ba.before.period.end == addressed - timedelta(days=1)
    # After: A rep, A buyer, C of A rep, A buyer, C, I. Before: B, E of B, D, E.
    assert (ba.after.mentions, ba.after.debriefs) == (3, 4)
    assert (ba.before.mentions, ba.before.debriefs) == (2, 3)
    assert (ba.after.mentioned.won, ba.after.mentioned.lost) == (1, 1)
    assert (ba.before.mentioned.lost, ba.before.mentioned.no_decision) == (1, 1)
    for window in (ba.before, ba.after):
        expected = sql_figures(PHRASE, window.period)
        assert (window.mentions, window.debriefs) == (expected["mentions"], expected["debriefs"])
        assert as_counter(window.mentioned) == expected["mentioned"] + Counter()


def test_a_change_shows_at_once(corpus, users):
    theme = corpus["theme"]
    before = current(theme, rolling("365d", date.today()))
    rep(users.rep, "J", 2, "won", amount=1000, **SAYS)
    after = current(theme, rolling("365d", date.today()))
    assert after.mentions == before.mentions + 1
    assert after.mentioned.won == before.mentioned.won + 1
    # Editing a deal's outcome moves its deal between the counts.
    c = db.session.get(Debrief, corpus["c"].id)
    changed = debriefs.as_input(c)
    changed["deal"]["outcome"], changed["deal"]["winner"] = "lost", "Acme"
    debriefs.save_debrief(users.rep, debriefs.parse(changed), c)
    moved = current(theme, rolling("365d", date.today()))
    assert (moved.mentioned.won, moved.mentioned.lost) == (after.mentioned.won - 1, 3)


def test_filters_narrow_a_theme(corpus, users):
    theme = service.save_theme(
        users.manager,
        service.parse(
            {"name": "Cliff at Acme", "query": f'"{PHRASE}"', "filters": {"competitor": "Acme"}}
        ),
    )
    found = current(theme, rolling("365d", date.today()))
    assert found.mentions == 4 and found.total == 5
    only_filters = service.save_theme(
        users.manager,
        service.parse({"name": "Enterprise losses", "filters": {"segment": "Enterprise"}}),
    )
    found = current(only_filters, rolling("365d", date.today()))
    assert found.mentions == 3  # A rep, A buyer, C


# ------------------------------------------------------------ generated data


def test_planted_themes_agree_with_the_database_on_demo_data(app, users):
    generate(600, 11, None, anchor=date.today())
    search.catch_up()
    for planted in PLANTED_THEMES:
        theme = service.save_theme(
            users.manager,
            service.parse({"name": planted.phrase, "query": f'"{planted.phrase}"'}),
        )
        for period in (rolling("365d", date.today()), rolling("90d", date.today())):
            found = current(theme, period)
            assert found.mentions > 0 or period.days < 365, planted.key
            assert_agree(found, sql_figures(planted.phrase, period))


# ------------------------------------------------------------ pages


def test_the_theme_page_shows_figures_charts_evidence_and_debriefs(client, auth, users, corpus):
    theme = corpus["theme"]
    auth.login(users.rep)
    html = client.get(f"/themes/{theme.id}").get_data(as_text=True)
    for chart_id in ("mentions", "win-rate", "by-competitor", "by-segment"):
        assert f'id="{chart_id}"' in html
    assert "<script>" not in html  # chart data rides in data attributes (CSP)
    assert "33%" in html and "1 won of 3 decided deals" in html
    assert "<mark>renewal</mark>" in html.lower() or "<mark>Renewal</mark>" in html
    assert "deal breaker" in html  # the buyer's quote is evidence
    assert "/search?q=" in html  # linked debriefs open in search
    assert html.count("/debriefs/") >= 5


def test_the_overview_sorts_by_growth_volume_and_revenue(client, auth, users, corpus):
    service.save_theme(users.manager, service.parse({"name": "Quiet", "query": '"nothing to add"'}))
    auth.login(users.manager)
    for sort in ("growth", "volume", "revenue", "name"):
        response = client.get(f"/themes/?sort={sort}&period=365d")
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        assert "Renewal cliff" in html and "Quiet" in html and "<svg" in html
    by_volume = client.get("/themes/?sort=volume&period=365d").get_data(as_text=True)
    assert by_volume.index("Renewal cliff") < by_volume.index("Quiet")
    by_name = client.get("/themes/?sort=name&period=365d").get_data(as_text=True)
    assert by_name.index("Quiet") < by_name.index("Renewal cliff")


def test_overview_figures(corpus):
    snap = engine.snapshot()
    row = figures.overview(
        snap, deal_facts(), corpus["theme"], rolling("90d", date.today()), date.today()
    )
    expected = sql_figures(PHRASE, rolling("90d", date.today()))
    assert row.now == expected["mentions"]
    assert as_counter(row.mentioned) == expected["mentioned"] + Counter()
    assert sum(row.spark) == 6 and len(row.spark) == 8


def test_the_overview_trend_ends_with_the_chosen_period(client, auth, users, corpus):
    # History from older interviews: three mentions about three years ago.
    for n, days in enumerate((3 * 365, 3 * 365 + 20, 3 * 365 + 40)):
        rep(users.rep, f"Old {n}", days, "lost", **SAYS)
    search.catch_up()
    old = date.today() - timedelta(days=3 * 365)
    chosen = recent_quarters(old, 1)[0]
    snap = engine.snapshot()
    row = figures.overview(
        snap := engine.snapshot(), deal_facts(), corpus["theme"], chosen, date.today()
    )
    assert row.quarters == [q.label for q in recent_quarters(chosen.end, 8)]
    assert row.quarters[-1] == chosen.label and sum(row.spark) >= 1
    today_row = figures.overview(
        snap, deal_facts(), corpus["theme"], rolling("90d", date.today()), date.today()
    )
    assert today_row.quarters[-1] == recent_quarters(date.today(), 1)[0].label

    auth.login(users.manager)
    html = client.get(f"/themes/?period={chosen.label}").get_data(as_text=True)
    assert f"8 quarters to {chosen.label}" in html


def test_evidence_is_escaped(client, auth, users, corpus):
    rep(
        users.rep,
        "X",
        1,
        "lost",
        quotes=[{"text": "<script>alert(1)</script> the renewal cliff", "speaker_role": "CTO"}],
    )
    auth.login(users.manager)
    html = client.get(f"/themes/{corpus['theme'].id}").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)" not in html


def test_save_as_theme_keeps_a_whole_category_group(client, auth, users):
    auth.login(users.marketing)
    html = client.get("/themes/new?q=pricing&category=price").get_data(as_text=True)
    assert 'checked id="filters-category-' in html and 'value="price"' in html
    response = client.post(
        "/themes/new",
        data={
            "name": "Pricing",
            "query": "pricing",
            "filters-category": ["price"],
            "polarity": "weakness",
            "status": "emerging",
            "owner_id": "",
        },
    )
    assert response.status_code == 302
    theme = db.session.scalar(select(Theme).where(Theme.name == "Pricing"))
    assert theme.filters == {"category": ["price"]}
