"""Debrief coverage: the figures against direct database queries, the
coverage page and its permissions, and the to-dos on a rep's home page."""

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import text

from kb.auth.service import create_user
from kb.deals import coverage
from kb.deals.service import upsert_deal
from kb.debriefs import service as debriefs
from kb.extensions import db
from kb.models import Role, Team
from tests.conftest import PASSWORD, debrief_payload
from tests.test_debrief_form import open_form, row

# The direct query the figures are checked against: a left join instead of EXISTS.
COVERAGE_SQL = """
    SELECT {key}, COUNT(DISTINCT d.id) AS closed, COUNT(DISTINCT b.deal_id) AS debriefed
    FROM deals d
    LEFT JOIN debriefs b ON b.deal_id = d.id AND b.source = 'rep' AND b.status = 'submitted'
    LEFT JOIN users u ON u.id = d.owner_id
    WHERE d.close_date <= :today AND d.close_date >= :start AND d.close_date < :end
      {where}
    GROUP BY {key}
"""


def add_deal(crm_id: str, owner, days_ago: int, outcome: str = "lost"):
    values = {
        "crm_id": crm_id,
        "name": f"Deal {crm_id}",
        "account": f"Account {crm_id}",
        "close_date": (date.today() - timedelta(days=days_ago)).isoformat(),
        "outcome": outcome,
        "owner_email": owner.email if owner else None,
    }
    return upsert_deal(None, values).deal


def file_debrief(author, deal, source="rep", status="submitted"):
    payload = debrief_payload(source=source, status=status)
    # With the deal's facts, as the form sends them.
    payload["deal"] = debriefs.deal_as_input(deal)
    payload["deal_id"] = deal.id
    if source == "buyer":
        payload["interviewee_role"] = "Economic buyer"
    return debriefs.save_debrief(author, debriefs.parse(payload))


@pytest.fixture
def deals(app, users):
    """Closed deals of two teams; some debriefed, some waiting, some overdue."""
    d = {
        "covered": add_deal("R1", users.rep, 40),
        "draft_only": add_deal("R2", users.rep, 20, "won"),
        "fresh": add_deal("R3", users.rep, 3),
        "buyer_only": add_deal("R4", users.rep, 100, "no_decision"),
        "peer_covered": add_deal("P1", users.peer, 10, "won"),
        "west_covered": add_deal("W1", users.west_rep, 50),
        "west_waiting": add_deal("W2", users.west_rep, 60),
        "unowned": add_deal("U1", None, 30),
        "future": add_deal("F1", users.rep, -10),
    }
    file_debrief(users.rep, d["covered"])
    file_debrief(users.rep, d["draft_only"], status="draft")
    file_debrief(users.marketing, d["buyer_only"], source="buyer")
    file_debrief(users.peer, d["peer_covered"])
    file_debrief(users.west_rep, d["west_covered"])
    return d


def direct(key: str, start=date(2000, 1, 1), end=date(2100, 1, 1), team_id=None):
    where = "AND u.team_id = :team" if team_id else ""
    rows = db.session.execute(
        text(COVERAGE_SQL.format(key=key, where=where)),
        {"today": date.today(), "start": start, "end": end, "team": team_id},
    )
    return {row[0]: (row[1], row[2]) for row in rows}


def figures(items) -> dict:
    return {c.key: (c.closed, c.debriefed) for c in items}


def test_coverage_by_rep_and_team_match_the_database(deals, users):
    everyone = coverage.Scope()
    assert figures(coverage.by_rep(everyone, date.today())) == direct("d.owner_id")
    assert figures(coverage.by_team(everyone, date.today())) == direct("u.team_id")
    total = coverage.total(everyone, date.today())
    assert (total.closed, total.debriefed) == (8, 3)  # the future deal is not closed yet
    assert total.percent == 38
    by_rep = {
        c.label: (c.closed, c.debriefed, c.percent) for c in coverage.by_rep(everyone, date.today())
    }
    assert by_rep["Rita Rep"] == (4, 1, 25)  # a draft or a buyer interview does not count
    assert by_rep["No owner"] == (1, 0, 0)


def test_a_managers_scope_is_their_team(deals, users):
    east = coverage.scope_for(users.manager)
    assert east == coverage.Scope(team_id=users.manager.team_id)
    reps = coverage.by_rep(east, date.today())
    assert [c.label for c in reps] == ["Pete Peer", "Rita Rep"]  # by name, never by results
    assert figures(reps) == direct("d.owner_id", team_id=users.manager.team_id)
    assert figures(coverage.by_team(east, date.today())) == {users.manager.team_id: (5, 2)}
    assert coverage.scope_for(users.rep) is None and coverage.scope_for(users.marketing) is None
    assert coverage.scope_for(users.admin) == coverage.Scope()


@pytest.mark.parametrize("granularity", ["month", "quarter"])
def test_coverage_by_period_matches_the_database(deals, users, granularity):
    periods = coverage.recent_periods(granularity, date.today(), 6)
    assert periods[-1].start <= date.today() < periods[-1].end
    assert all(a.end == b.start for a, b in zip(periods, periods[1:], strict=False))
    trend = coverage.by_period(coverage.Scope(), date.today(), periods, granularity)
    assert [c.key for c in trend] == [p.key for p in periods]
    for period, item in zip(periods, trend, strict=True):
        expected = direct("1", period.start, period.end).get(1, (0, 0))
        assert (item.closed, item.debriefed) == expected, period.key
    assert sum(c.closed for c in trend) == 8
    # A period's figures by rep are those of its deals only.
    this = periods[-1]
    assert figures(coverage.by_rep(coverage.Scope(), date.today(), this.start, this.end)) == direct(
        "d.owner_id", this.start, this.end
    )


def test_periods_parse_and_label():
    assert coverage.parse_period("2026-03") == coverage.Period(
        "2026-03", "Mar 2026", date(2026, 3, 1), date(2026, 4, 1)
    )
    assert coverage.parse_period("2026-Q4") == coverage.Period(
        "2026-Q4", "Q4 2026", date(2026, 10, 1), date(2027, 1, 1)
    )
    assert [coverage.parse_period(k) for k in ("2026-13", "2026-Q5", "x", "")] == [None] * 4
    assert [p.key for p in coverage.recent_periods("month", date(2026, 2, 10), 3)] == [
        "2025-12",
        "2026-01",
        "2026-02",
    ]


def test_overdue_list(app, deals, users):
    count, overdue = coverage.overdue(coverage.Scope(), date.today(), 14)
    names = [w.deal.crm_id for w in overdue]
    assert names == ["R4", "W2", "U1", "R2"]  # oldest first; R3 closed 3 days ago
    assert count == 4 and overdue[0].days_since_close == 100
    _, east = coverage.overdue(coverage.scope_for(users.manager), date.today(), 14)
    assert [w.deal.crm_id for w in east] == ["R4", "R2"]


# --- pages -------------------------------------------------------------------------


def test_reps_and_marketing_get_403_on_coverage(client, auth, users):
    for user in (users.rep, users.marketing):
        auth.login(user)
        assert client.get("/coverage").status_code == 403
        auth.logout()


def test_manager_sees_their_team_by_name_and_no_results_per_rep(client, auth, deals, users):
    auth.login(users.manager)
    response = client.get("/coverage")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    by_rep = page[page.index("<h2>By rep</h2>") : page.index("<h2>Overdue debriefs</h2>")]
    assert by_rep.index("Pete Peer") < by_rep.index("Rita Rep")
    assert "Wes West" not in page and "Deal W2" not in page
    assert "win rate" not in page.lower() and "Lost" not in by_rep and "Won" not in by_rep
    overdue = page[page.index("<h2>Overdue debriefs</h2>") :]
    assert "Deal R4" in overdue and "Deal R2" in overdue and "Deal R3" not in overdue
    assert f"/debriefs/new?source=rep&amp;deal={deals['draft_only'].id}" in overdue
    assert client.get("/coverage?by=quarter&period=all").status_code == 200


def test_admin_sees_everyone_and_filters_by_team_and_period(client, auth, deals, users):
    auth.login(users.admin)
    page = client.get("/coverage?period=all").get_data(as_text=True)
    for name in ("Rita Rep", "Pete Peer", "Wes West", "No owner", "No team", "East", "West"):
        assert name in page
    west = db.session.scalar(db.select(Team).where(Team.name == "West"))
    page = client.get(f"/coverage?team={west.id}&period=all").get_data(as_text=True)
    by_rep = page[page.index("<h2>By rep</h2>") : page.index("<h2>Overdue debriefs</h2>")]
    assert "Wes West" in by_rep and "Rita Rep" not in by_rep
    this_month = coverage.period_of(date.today(), "month")
    response = client.get(f"/coverage?by=month&period={this_month.key}")
    assert response.status_code == 200
    assert f"<h2>{this_month.label}</h2>" in response.get_data(as_text=True)


def test_a_manager_without_a_team_is_told_so(client, auth, users):
    create_user("solo@example.com", PASSWORD, Role.MANAGER, "Solo Manager")
    auth.login("solo@example.com")
    response = client.get("/coverage")
    assert response.status_code == 200 and "not on a team" in response.get_data(as_text=True)


def todo_rows(page: str) -> dict[str, str]:
    """Deal name -> the row of the to-do table."""
    start = page.index("Deals waiting for your debrief")
    section = page[start : page.index("</section>", start)]
    return {
        m.group(1): row
        for row in re.findall(r"<tr>.*?</tr>", section, re.S)
        if (m := re.search(r"<td>(Deal \w+)<", row))
    }


def test_home_lists_deals_waiting_for_the_reps_debrief(app, client, auth, deals, users):
    auth.login(users.rep)
    page = client.get("/").get_data(as_text=True)
    assert "Deals waiting for your debrief (3)" in page
    assert page.index("Deals waiting for your debrief") < page.index("Your drafts")
    rows = todo_rows(page)
    assert list(rows) == ["Deal R4", "Deal R2", "Deal R3"]  # oldest first
    assert "Overdue" in rows["Deal R4"] and "Overdue" in rows["Deal R2"]
    assert "Overdue" not in rows["Deal R3"]
    link = f'href="/debriefs/new?source=rep&amp;deal={deals["fresh"].id}">File debrief</a>'
    assert link in rows["Deal R3"]
    assert "Finish your draft" in rows["Deal R2"]  # not a second draft

    # The overdue threshold is configurable.
    app.config["KB_DEBRIEF_OVERDUE_DAYS"] = 2
    assert "Overdue" in todo_rows(client.get("/").get_data(as_text=True))["Deal R3"]

    # The link opens the form with the deal's facts filled in; submitting clears the to-do.
    url = f"/debriefs/new?source=rep&deal={deals['fresh'].id}"
    form = open_form(client, url)
    assert form["deal-name"] == "Deal R3"
    form.fill(row("reasons", 0, {"category": "price.total-cost", "direction": "hurt"}))
    assert form.press(client, url, "submit").status_code == 302
    assert "Deal R3" not in todo_rows(client.get("/").get_data(as_text=True))


def test_other_users_see_only_their_own_to_dos(client, auth, deals, users):
    auth.login(users.peer)
    assert "Deals waiting for your debrief" not in client.get("/").get_data(as_text=True)
    auth.logout()
    auth.login(users.west_rep)
    rows = todo_rows(client.get("/").get_data(as_text=True))
    assert list(rows) == ["Deal W2"]
