"""The monthly review pack: its figures agree with the database, who may
read it, the month parameter, and anonymous featured practices."""

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from kb.extensions import db
from kb.models import Deal, Debrief, DebriefSource, DebriefStatus, Outcome, User
from kb.review import pack
from kb.themes import service as themes
from tests.browser import expect
from tests.conftest import PASSWORD
from tests.test_practices import make_practice, sign_in  # noqa: F401
from tests.test_practices_anonymity import anon, assert_no_trace  # noqa: F401

CLIFF = "renewal cliff"


def this_month() -> pack.Month:
    """The pack's default month on the (pinned) day the test runs."""
    return pack.default_month(date.today())


def last_month() -> pack.Month:
    return this_month().previous()


def day(month: pack.Month, n: int) -> str:
    return (month.start + timedelta(days=n - 1)).isoformat()


def debrief(make_debrief, author, name, month, n, outcome, amount, notes="Nothing to add.", **kw):
    winner = {"won": None, "lost": "Acme", "no_decision": "no_decision"}[outcome]
    deal = {
        "name": name,
        "account": f"{name} Inc",
        "close_date": day(month, n),
        "outcome": outcome,
        "winner": winner,
        "amount": amount,
    }
    return make_debrief(author, deal=deal, competitive_notes=notes, **kw)


@pytest.fixture
def dataset(users, make_debrief):
    says = f"They fear the {CLIFF} in year three."
    month, prev = this_month(), last_month()
    debrief(make_debrief, users.rep, "Alpha", month, 3, "won", 90000, says)
    debrief(make_debrief, users.rep, "Bravo", month, 5, "lost", 50000, says)
    debrief(make_debrief, users.peer, "Charlie", month, 7, "lost", 20000)
    debrief(make_debrief, users.rep, "Delta", month, 9, "no_decision", 5000, says)
    debrief(make_debrief, users.west_rep, "Foxtrot", month, 11, "won", 10000)
    # A draft: its deal is closed but waits for its debrief, and counts nowhere else.
    debrief(make_debrief, users.rep, "Echo", month, 12, "won", 999999, says, status="draft")
    debrief(make_debrief, users.rep, "Golf", prev, 4, "won", 30000, says)
    debrief(make_debrief, users.rep, "Hotel", prev, 6, "lost", 40000, "Legal redlines dragged on.")
    debrief(make_debrief, users.peer, "India", prev, 8, "lost", 40000, "Legal redlines dragged on.")
    for name, query in (("Renewal cliff", f'"{CLIFF}"'), ("Legal redlines", '"legal redlines"')):
        themes.save_theme(users.manager, themes.parse({"name": name, "query": query}))
    db.session.commit()


# ----------------------------------------------------------- the database's answers


def in_month(month: pack.Month):
    return Deal.close_date.between(month.start, month.end)


def rep_debriefed():
    return (
        select(Debrief.deal_id)
        .where(Debrief.source == DebriefSource.REP, Debrief.status == DebriefStatus.SUBMITTED)
        .scalar_subquery()
    )


def sql_coverage(month: pack.Month, team: str | None = None) -> tuple[int, int]:
    where = [in_month(month), Deal.close_date <= date.today()]
    if team is not None:
        where.append(Deal.owner_id.in_(select(User.id).where(User.team.has(name=team))))
    closed = db.session.scalar(select(func.count(Deal.id)).where(*where))
    debriefed = db.session.scalar(
        select(func.count(Deal.id)).where(*where, Deal.id.in_(rep_debriefed()))
    )
    return closed, debriefed


def sql_outcomes(month: pack.Month) -> dict[str, int]:
    submitted = select(Debrief.deal_id).where(Debrief.status == DebriefStatus.SUBMITTED)
    rows = db.session.execute(
        select(Deal.outcome, func.count(Deal.id))
        .where(in_month(month), Deal.id.in_(submitted))
        .group_by(Deal.outcome)
    )
    return {Outcome(o).value: n for o, n in rows}


def sql_mentions(phrase: str, month: pack.Month) -> int:
    return db.session.scalar(
        select(func.count(Debrief.id))
        .join(Deal)
        .where(
            in_month(month),
            Debrief.status == DebriefStatus.SUBMITTED,
            func.lower(Debrief.competitive_notes).contains(phrase),
        )
    )


# ----------------------------------------------------------------------- figures


def test_figures_agree_with_direct_database_queries(dataset, users):
    found = pack.build(users.admin, this_month(), date.today())
    assert (found.coverage.closed, found.coverage.debriefed) == sql_coverage(this_month())
    assert (found.coverage.closed, found.coverage.debriefed) == (6, 5)
    for rate, month in ((found.win_rate, this_month()), (found.prev_win_rate, last_month())):
        expected = sql_outcomes(month)
        assert rate.won == expected.get("won", 0)
        assert rate.lost == expected.get("lost", 0)
        assert rate.no_decision == expected.get("no_decision", 0)
    assert found.win_rate.rate == pytest.approx(2 / 4)
    assert found.prev_win_rate.rate == pytest.approx(1 / 3)
    assert found.win_rate_change == pytest.approx(100 * (2 / 4 - 1 / 3))

    moves = {t.name: (t.now, t.before) for t in found.themes}
    assert moves == {
        "Renewal cliff": (sql_mentions(CLIFF, this_month()), sql_mentions(CLIFF, last_month())),
        "Legal redlines": (
            sql_mentions("legal redlines", this_month()),
            sql_mentions("legal redlines", last_month()),
        ),
    }
    assert moves == {"Renewal cliff": (3, 1), "Legal redlines": (0, 2)}
    assert [t.name for t in found.themes] == ["Renewal cliff", "Legal redlines"]  # by growth

    assert [n.name for n in found.won] == ["Alpha", "Foxtrot"]  # the draft Echo is not debriefed
    assert [n.name for n in found.lost] == ["Bravo", "Charlie"]
    alpha = db.session.scalar(select(Deal).where(Deal.name == "Alpha"))
    assert found.won[0].debrief_id == alpha.debriefs[0].id


def test_a_manager_sees_the_coverage_of_their_team(dataset, users):
    found = pack.build(users.manager, this_month(), date.today())
    assert (found.coverage.closed, found.coverage.debriefed) == sql_coverage(this_month(), "East")
    assert (found.coverage.closed, found.coverage.debriefed) == (5, 4)  # not Wes's Foxtrot


def test_the_page_shows_the_figures_and_links(client, auth, dataset, users):
    sign_in(auth, users.manager)
    response = client.get(f"/review?month={this_month().key}")
    assert response.status_code == 200
    page = response.text
    assert f"Review pack: {this_month().label}" in page
    assert '<dd id="coverage-percent">80%</dd>' in page
    assert '<td class="num">50%</td>' in page and '<td class="num">33%</td>' in page
    assert '<strong id="win-rate-change">+16.7 pts</strong>' in page
    assert "Renewal cliff" in page and "+2" in page and "-2" in page
    alpha = db.session.scalar(select(Deal).where(Deal.name == "Alpha"))
    assert f'href="/debriefs/{alpha.debriefs[0].id}">Alpha</a>' in page
    assert "data-print" in page and "Print or save as PDF" in page
    assert "onclick" not in page and "<script>" not in page


def test_the_default_month_is_the_last_complete_one(client, auth, users):
    sign_in(auth, users.admin)
    page = client.get("/review").text
    assert f"Review pack: {this_month().label}" in page
    assert this_month().end < date.today().replace(day=1) <= this_month().end + timedelta(days=1)


@pytest.mark.parametrize("bad", ["2026-13", "2026-Q1", "March", "1999-01", "2026-3"])
def test_a_bad_month_shows_a_message_and_the_default(client, auth, users, bad):
    sign_in(auth, users.marketing)
    response = client.get("/review", query_string={"month": bad})
    assert response.status_code == 200
    assert "is not a month" in response.text
    assert f"Review pack: {this_month().label}" in response.text


def test_another_month_can_be_chosen(client, auth, dataset, users):
    sign_in(auth, users.admin)
    page = client.get(f"/review?month={last_month().key}").text
    assert f"Review pack: {last_month().label}" in page and "is not a month" not in page
    assert "Hotel" in page and "Alpha" not in page


# ----------------------------------------------------------------- who may read it


@pytest.mark.parametrize(
    "role, status",
    [("rep", 403), ("peer", 403), ("manager", 200), ("marketing", 200), ("admin", 200)],
)
def test_managers_marketing_and_admins_only(client, auth, users, role, status):
    sign_in(auth, getattr(users, role))
    assert client.get("/review").status_code == status
    home = client.get("/").text
    assert ('href="/review"' in home) == (status == 200)


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get("/review")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


# ------------------------------------------------------------------------ anonymity


@pytest.mark.parametrize("role", ["manager", "marketing"])
def test_featured_anonymous_practices_stay_anonymous(client, auth, users, anon, role):  # noqa: F811
    sign_in(auth, getattr(users, role))
    # The month the lesson's deal closed in, so its debrief is in the pack.
    month = pack.month_of(anon.debrief.deal.close_date)
    page = client.get(f"/review?month={month.key}").text
    assert "Anchor on total cost before procurement" in page
    assert "by Anonymous" in page
    section = page.split('id="practices-title"')[1]
    assert_no_trace(anon, section, "the review pack's featured practices")


def test_an_admin_sees_who_wrote_it(client, auth, users, anon):  # noqa: F811
    sign_in(auth, users.admin)
    page = client.get("/review").text
    assert "Zelda Quill (published anonymously)" in page


# ---------------------------------------------------------------------- printing


@pytest.mark.browser
def test_the_print_button_opens_the_print_dialog(users, live_server, browser_page):
    page = browser_page
    page.goto(f"{live_server}/login")
    page.get_by_label("E-mail").fill(users.manager.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Review pack").click()
    expect(page.get_by_role("heading", name=f"Review pack: {this_month().label}")).to_be_visible()
    page.evaluate("() => { window.printed = 0; window.print = () => { window.printed += 1; }; }")
    page.get_by_role("button", name="Print or save as PDF").click()
    assert page.evaluate("window.printed") == 1
    page.emulate_media(media="print")
    expect(page.get_by_role("button", name="Print or save as PDF")).to_be_hidden()
    expect(page.get_by_role("navigation", name="Main")).to_be_hidden()
