"""Reason analytics, win rates and the perception gap, on a small set of
debriefs whose figures are worked out by hand below; then the pages, their
charts' tables, and bad period input."""

from datetime import date, timedelta

import pytest

from kb.analytics import perception, reasons
from kb.analytics.periods import Period, choose_period, quarter, quarter_key, rolling
from kb.debriefs import service
from kb.models import Outcome
from tests.conftest import debrief_payload


def ago(days: int) -> str:
    return (date.today() - timedelta(days=days)).isoformat()


def reason(category: str, direction: str, primary: bool = False) -> dict:
    return {"category": category, "direction": direction, "primary": primary}


def rep_debrief(user, name, days, outcome, reasons_, competitors=(), segment="SMB", **extra):
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
        "region": extra.pop("region", "EMEA"),
    }
    payload = debrief_payload(deal=deal, reasons=reasons_, **extra)
    return service.save_debrief(user, service.parse(payload))


def buyer_interview(user, deal_id, reasons_, status="submitted"):
    payload = {
        "source": "buyer",
        "status": status,
        "deal_id": deal_id,
        "interviewee_role": "Economic buyer",
        "reasons": reasons_,
    }
    return service.save_debrief(user, service.parse(payload))


@pytest.fixture
def data(users):
    """Deals closed in the last 90 days, one before them, a draft, and buyer
    interviews on two deals."""
    rep, marketing = users.rep, users.marketing
    a = rep_debrief(
        rep,
        "A",
        10,
        "lost",
        [reason("price.total-cost", "hurt", True), reason("product.integrations", "helped")],
        ["Acme"],
        "Enterprise",
    )
    b = rep_debrief(
        rep,
        "B",
        20,
        "lost",
        [reason("product.missing-capability", "hurt", True), reason("price.total-cost", "hurt")],
        ["Globex"],
        "SMB",
        region="North America",
    )
    c = rep_debrief(
        rep,
        "C",
        5,
        "won",
        [reason("product.integrations", "helped", True), reason("price.total-cost", "hurt")],
        ["Acme"],
        "Enterprise",
    )
    d = rep_debrief(
        rep, "D", 15, "no_decision", [reason("timing-budget.priorities-changed", "hurt")], ()
    )
    e = rep_debrief(rep, "E", 100, "lost", [reason("price.total-cost", "hurt", True)], ["Acme"])
    rep_debrief(rep, "F", 3, "lost", [reason("price.total-cost", "hurt")], ["Acme"], status="draft")
    # Deal A: the buyer names the pricing model (same group as total cost).
    a_buyer = buyer_interview(marketing, a.deal_id, [reason("price.pricing-model", "hurt", True)])
    # Deal C: the buyer agrees with the rep.
    c_buyer = buyer_interview(
        marketing, c.deal_id, [reason("product.integrations", "helped", True)]
    )
    # Deal B: a draft interview does not count.
    buyer_interview(marketing, b.deal_id, [reason("price.discounting", "hurt", True)], "draft")
    return {"a": a, "b": b, "c": c, "d": d, "e": e, "a_buyer": a_buyer, "c_buyer": c_buyer}


def last_90_days():
    """The default period on the (pinned) day the test runs."""
    return rolling("90d", date.today())


def rows_by_slug(table):
    return {r.category.slug: r for r in table.rows}


# ------------------------------------------------------------ reasons


def test_top_reasons_count_submitted_debriefs_citing_each_category(data):
    tables = reasons.top_reasons({}, last_90_days())
    lost = tables[Outcome.LOST]
    # A (rep), A (buyer) and B; F is a draft, E is in the previous period.
    assert (lost.debriefs, lost.prev_debriefs) == (3, 1)
    rows = rows_by_slug(lost)
    total_cost = rows["price.total-cost"]
    assert (total_cost.cited, total_cost.primary) == (2, 1)  # A rep (primary), B
    assert total_cost.cited_share == pytest.approx(2 / 3)
    assert total_cost.prev_cited == 1 and total_cost.prev_cited_share == 1.0
    assert total_cost.change == pytest.approx(100 * (2 / 3 - 1))
    assert (
        rows["product.missing-capability"].cited,
        rows["product.missing-capability"].primary,
    ) == (
        1,
        1,
    )
    assert rows["price.pricing-model"].primary == 1
    # A reason that helped in a loss does not explain the loss.
    assert "product.integrations" not in rows
    assert [r.category.slug for r in lost.rows][0] == "price.total-cost"

    won = tables[Outcome.WON]
    assert won.debriefs == 2  # C, rep and buyer
    assert set(rows_by_slug(won)) == {"product.integrations"}
    assert rows_by_slug(won)["product.integrations"].cited == 2
    assert rows_by_slug(won)["product.integrations"].primary == 2


def test_filters_narrow_the_reasons(data):
    tables = reasons.top_reasons({"competitor": "Acme", "source": "rep"}, last_90_days())
    lost = tables[Outcome.LOST]
    assert lost.debriefs == 1 and set(rows_by_slug(lost)) == {"price.total-cost"}
    tables = reasons.top_reasons({"segment": "SMB"}, last_90_days())
    assert tables[Outcome.LOST].debriefs == 1
    assert tables[Outcome.WON].debriefs == 0 and tables[Outcome.WON].rows == []


def test_reasons_by_competitor(data):
    tables = reasons.top_reasons({}, last_90_days())
    lost = next(
        b
        for b in reasons.reasons_by("competitor", {}, last_90_days(), tables)
        if b.outcome == Outcome.LOST
    )
    by_label = {r.label: r for r in lost.rows}
    assert by_label["Acme"].debriefs == 2  # A rep and A buyer
    total_cost = next(c for c in lost.columns if c.slug == "price.total-cost")
    assert by_label["Acme"].share(total_cost.id) == pytest.approx(0.5)
    assert by_label["Globex"].share(total_cost.id) == 1.0


# ------------------------------------------------------------ win rates


def test_win_rates_count_deals_not_debriefs(data):
    total = reasons.overall({}, last_90_days())
    # A lost (two debriefs, one deal), B lost, C won, D no decision; F is only a draft.
    assert (total.won, total.lost, total.no_decision) == (1, 2, 1)
    assert total.rate == pytest.approx(1 / 3)
    assert total.no_decision_share == pytest.approx(1 / 4)

    by_competitor = {r.label: r for r in reasons.win_rates("competitor", {}, last_90_days())}
    assert (by_competitor["Acme"].won, by_competitor["Acme"].lost) == (1, 1)
    assert by_competitor["Acme"].rate == 0.5
    assert by_competitor["Globex"].rate == 0.0
    assert by_competitor["No competitor"].no_decision == 1
    assert by_competitor["No competitor"].rate is None

    by_segment = {r.label: r for r in reasons.win_rates("segment", {}, last_90_days())}
    assert (by_segment["Enterprise"].won, by_segment["Enterprise"].lost) == (1, 1)
    assert (by_segment["SMB"].lost, by_segment["SMB"].no_decision) == (1, 1)

    by_region = {r.label: r for r in reasons.win_rates("region", {}, last_90_days())}
    assert by_region["North America"].lost == 1 and by_region["EMEA"].deals == 3


def test_win_rate_by_quarter(data):
    today = date.today()
    this = quarter(today.year, (today.month - 1) // 3 + 1)
    span = Period(today - timedelta(days=400), this.end)
    by_quarter = reasons.win_rates("quarter", {}, span)
    assert sum(r.deals for r in by_quarter) == 5  # E too
    keys = [r.key for r in by_quarter]
    assert keys == sorted(keys) and len(keys) >= 4
    e_quarter = quarter_key(today - timedelta(days=100))
    assert next(r for r in by_quarter if r.key == e_quarter).lost >= 1


# ------------------------------------------------------------ perception gap


def test_perception_gap_compares_primary_reasons(data):
    gap = perception.perception_gap({}, last_90_days())
    assert gap.deals == 2  # A and C; B's interview is a draft
    assert (gap.category_agree, gap.group_agree) == (1, 2)
    assert gap.category_share == 0.5 and gap.group_share == 1.0
    groups = {g.slug: g.id for g in gap.groups}
    assert gap.matrix == {
        (groups["price"], groups["price"]): 1,
        (groups["product"], groups["product"]): 1,
    }

    items, total = perception.disagreements({}, last_90_days())
    assert total == 1
    (item,) = items
    assert item.deal.id == data["a"].deal_id
    assert (item.rep_category.slug, item.buyer_category.slug) == (
        "price.total-cost",
        "price.pricing-model",
    )
    assert item.rep_debrief_id == data["a"].id and item.buyer_debrief_id == data["a_buyer"].id
    assert item.same_group
    assert perception.disagreements({}, last_90_days(), level="group") == ([], 0)


def test_the_newest_interview_stands_for_the_deal(data, users):
    buyer_interview(
        users.marketing,
        data["c"].deal_id,
        [reason("sales-experience.responsiveness", "helped", True)],
    )
    gap = perception.perception_gap({}, last_90_days())
    assert gap.deals == 2 and gap.category_agree == 0 and gap.group_agree == 1


# ------------------------------------------------------------ periods


def test_periods_and_their_previous_period():
    q = quarter(2025, 1)
    assert (q.start, q.end) == (date(2025, 1, 1), date(2025, 3, 31))
    assert q.previous() == quarter(2024, 4)
    p = Period(date(2025, 3, 1), date(2025, 3, 10))
    assert (p.previous().start, p.previous().end) == (date(2025, 2, 19), date(2025, 2, 28))


@pytest.mark.parametrize(
    ("args", "key", "errors"),
    [
        ({}, "90d", {}),
        ({"period": "2025-q2"}, "2025-Q2", {}),
        ({"period": "all"}, "all", {}),
        ({"period": "yesterday"}, "90d", {"period"}),
        ({"date_from": "2025-01-01", "date_to": "2025-02-01"}, "custom", {}),
        ({"date_from": "2025-02-30"}, "90d", {"date_from"}),
        ({"date_from": "2025-03-01", "date_to": "2025-01-01"}, "90d", {"date_to"}),
    ],
)
def test_choose_period(args, key, errors):
    period, chosen, problems = choose_period(args, date.today())
    assert chosen == key and set(problems) == set(errors)
    assert period.start <= period.end


# ------------------------------------------------------------ pages


def test_reason_analytics_page(client, auth, users, data):
    auth.login(users.rep)  # everyone signed in may read the figures
    response = client.get("/analytics/reasons")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'id="reasons-lost"' in html and 'id="win-rate-competitor"' in html
    assert "data-chart=" in html and "<script>" not in html  # no inline script under the CSP
    # The chart's table carries the same figures.
    assert (
        '<th scope="row">Price › Total cost</th><td class="num">2</td><td class="num">67%</td>'
        in html
    )
    assert "no-decision deals are shown separately" in html
    by_segment = client.get("/analytics/reasons?by=segment&competitor=Acme&period=365d")
    assert by_segment.status_code == 200 and "Top reasons by segment" in by_segment.get_data(
        as_text=True
    )


def test_perception_gap_page_lists_disagreements(client, auth, users, data):
    auth.login(users.manager)
    html = client.get("/analytics/perception").get_data(as_text=True)
    assert f'/debriefs/{data["a"].id}"' in html and f'/debriefs/{data["a_buyer"].id}"' in html
    assert "1 deal." in html
    html = client.get("/analytics/perception?level=group").get_data(as_text=True)
    assert "0 deals." in html


@pytest.mark.parametrize(
    "query",
    [
        "period=2025-Q9",
        "date_from=2025-13-01",
        "date_from=2025-06-01&date_to=2025-01-01",
        "competitor=Nobody",
        "segment=%3Cscript%3E",
        "by=nonsense&level=nonsense&rep=abc&page=-1",
    ],
)
def test_bad_choices_are_reported_not_errors(client, auth, users, query):
    auth.login(users.manager)
    for page in ("/analytics/reasons", "/analytics/perception"):
        response = client.get(f"{page}?{query}")
        assert response.status_code == 200
        assert "<script>" not in response.get_data(as_text=True)


def test_analytics_need_a_signed_in_user(client):
    assert client.get("/analytics/reasons").status_code == 302


def test_a_category_group_filter_takes_its_categories(data):
    tables = reasons.top_reasons({"category": ["price"]}, last_90_days())
    # Debriefs citing any Price category: A rep, A buyer, B (lost) and C (won).
    assert tables[Outcome.LOST].debriefs == 3 and tables[Outcome.WON].debriefs == 1
    tables = reasons.top_reasons({"category": ["price.pricing-model"]}, last_90_days())
    assert tables[Outcome.LOST].debriefs == 1


def test_win_rate_by_who_won(data):
    lost_to_acme = reasons.overall({"winner": "Acme"}, last_90_days())
    assert (lost_to_acme.won, lost_to_acme.lost) == (0, 1)
    assert reasons.overall({"winner": "us"}, last_90_days()).won == 1


def test_the_pages_show_a_new_debrief_at_once(client, auth, users, data):
    auth.login(users.manager)
    before = client.get("/analytics/reasons").get_data(as_text=True)
    assert "<dd>3 <span" in before  # lost debriefs
    rep_debrief(users.rep, "K", 1, "lost", [reason("price.total-cost", "hurt", True)], ["Acme"])
    after = client.get("/analytics/reasons").get_data(as_text=True)
    assert "<dd>4 <span" in after


def test_win_rate_by_quarter_follows_the_chosen_period(client, auth, users):
    """History loaded from old interviews charts from its first quarter under
    "All time", and a past quarter's trend ends with that quarter."""
    today = date.today()
    rep_debrief(users.rep, "Old win", 4 * 365, "won", [reason("price.total-cost", "helped")])
    rep_debrief(users.rep, "Old loss", 4 * 365, "lost", [reason("price.total-cost", "hurt")])
    rep_debrief(users.rep, "Recent", 10, "won", [reason("price.total-cost", "helped")])
    auth.login(users.manager)

    def quarter_rows(query: str) -> list[str]:
        html = client.get("/analytics/reasons" + query).get_data(as_text=True)
        figure = html.split('id="win-rate-quarter-figure"')[1].split("</figure>")[0]
        return [row.split("</th>")[0] for row in figure.split('<th scope="row">')[1:]]

    first = quarter_key(today - timedelta(days=4 * 365))
    all_time = quarter_rows("?period=all")
    assert all_time[0] == first and all_time[-1] == quarter_key(today)
    assert len(all_time) >= 16  # four years of quarters, the empty ones included
    # The default 90 days still shows a trend: the last 8 quarters, to today's.
    recent = quarter_rows("")
    assert len(recent) == 8 and recent[-1] == quarter_key(today) and first not in recent
    # A past quarter's chart ends with that quarter and shows its deals.
    old = quarter_rows("?period=" + first)
    assert old[-1] == first and len(old) == 8


def test_a_quarter_chart_with_no_deals_says_so(client, auth, users):
    auth.login(users.manager)
    html = client.get("/analytics/reasons?period=all").get_data(as_text=True)
    figure = html.split('id="win-rate-quarter-figure"')[1].split("</figure>")[0]
    assert "Nothing to show for this selection." in figure
