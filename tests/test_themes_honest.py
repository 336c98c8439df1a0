"""Figures that say how much they can be trusted: the trend follows the
period chosen (all time from the first debrief; an old quarter ends there),
a period without mentions says so instead of charting zeros, and win rates
carry their sample, 95 % interval and a plain reading."""

from datetime import date, timedelta

import pytest

from kb.analytics.periods import EARLIEST, Period, quarter_key, recent_quarters, rolling
from kb.themes import service
from tests.test_themes_figures import QUIET, SAYS, current, rep

OLD, OLDER = 1100, 1200  # days ago: beyond the last eight quarters


@pytest.fixture
def history(users):
    r = users.rep
    rep(r, "Old loss", OLDER, "lost", competitors=["Acme"], **SAYS)
    rep(r, "Old win", OLD, "won", **SAYS)
    rep(r, "Recent", 10, "won", **QUIET)
    return service.save_theme(
        users.manager, service.parse({"name": "Renewal cliff", "query": '"renewal cliff"'})
    )


def test_all_time_charts_from_the_first_debrief(history):
    found = current(history, Period(EARLIEST, date.today(), "All time"))
    labels = [p.label for p in found.trend]
    first = quarter_key(date.today() - timedelta(days=OLDER))
    assert labels[0] == first and labels[-1] == quarter_key(date.today())
    assert labels == [q.label for q in recent_quarters(date.today(), len(labels))]
    assert sum(p.mentions for p in found.trend) == 2
    assert {p.label: p.mentions for p in found.trend}[first] >= 1


def test_an_old_quarter_charts_the_quarters_up_to_it(history):
    day = date.today() - timedelta(days=OLD)
    quarter = next(q for q in recent_quarters(day, 1))
    found = current(history, quarter)
    labels = [p.label for p in found.trend]
    assert labels[-1] == quarter.label and len(labels) == 8
    assert sum(p.mentions for p in found.trend) == 2  # both old debriefs are within 8 quarters
    # By month: the twelve months up to the quarter's end.
    months = current(history, quarter, by="month").trend
    assert len(months) == 12 and months[-1].label == quarter.end.strftime("%b %Y")


def test_the_last_eight_quarters_without_a_mention_say_so(client, auth, users, history):
    found = current(history, rolling("90d", date.today()))
    assert [p.label for p in found.trend] == [q.label for q in recent_quarters(date.today(), 8)]
    assert sum(p.mentions for p in found.trend) == 0
    auth.login(users.rep)
    html = client.get(f"/themes/{history.id}?period=90d").get_data(as_text=True)
    assert 'id="trend-empty"' in html and "nothing to chart for this period" in html
    assert 'id="mentions"' not in html
    html = client.get(f"/themes/{history.id}?period=all").get_data(as_text=True)
    assert 'id="trend-empty"' not in html and 'id="mentions"' in html


def test_win_rates_show_their_sample_interval_and_reading(client, auth, users, history):
    auth.login(users.rep)
    html = client.get(f"/themes/{history.id}?period=all").get_data(as_text=True)
    figure = html.split('id="win-rate-mentioned"', 1)[1].split("</div>", 1)[0]
    # 1 won of 2 decided deals: 95 % Wilson interval 9–91 %.
    assert "1 won of 2 decided deals (95% interval 9–91%)" in figure
    assert "Too few deals to tell (fewer than 30 decided deals with it)." in figure
    assert "95% interval" in html.split('id="win-rate"', 1)[1]
