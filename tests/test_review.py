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


def month() -> pack.Month:
    """The pack's default month, from today's (possibly pinned) date."""
    return pack.default_month(date.today())


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
    debrief(make_debrief, users.rep, "Alpha", month(), 3, "won", 90000, says)
    debrief(make_debrief, users.rep, "Bravo", month(), 5, "lost", 50000, says)
    debrief(make_debrief, users.peer, "Charlie", month(), 7, "lost", 20000)
    debrief(make_debrief, users.rep, "Delta", month(), 9, "no_decision", 5000, says)
    debrief(make_debrief, users.west_rep, "Foxtrot", month(), 11, "won", 10000)
    # A draft: its deal is closed but waits for its debrief, and counts nowhere else.
    debrief(make_debrief, users.rep, "Echo", month(), 12, "won", 999999, says, status="draft")
    debrief(make_debrief, users.rep, "Golf", month().previous(), 4, "won", 30000, says)
    debrief(
        make_debrief,
        users.rep,
        "Hotel",
        month().previous(),
        6,
        "lost",
        40000,
        "Legal redlines dragged on.",
    )
    debrief(
        make_debrief,
        users.peer,
        "India",
        month().previous(),
        8,
        "lost",
        40000,
        "Legal redlines dragged on.",
    )
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
    found = pack.build(users.admin, month(), date.today())
    assert (found.coverage.closed, found.coverage.debriefed) == sql_coverage(month())
    assert (found.coverage.closed, found.coverage.debriefed) == (6, 5)
    for rate, period in ((found.win_rate, month()), (found.prev_win_rate, month().previous())):
        expected = sql_outcomes(period)
        assert rate.won == expected.get("won", 0)
        assert rate.lost == expected.get("lost", 0)
        assert rate.no_decision == expected.get("no_decision", 0)
    assert found.win_rate.rate == pytest.approx(2 / 4)
    assert found.prev_win_rate.rate == pytest.approx(1 / 3)
    assert found.win_rate_change == pytest.approx(100 * (2 / 4 - 1 / 3))

    moves = {t.name: (t.now, t.before) for t in found.themes}
    assert moves == {
        "Renewal cliff": (sql_mentions(CLIFF, month()), sql_mentions(CLIFF, month().previous())),
        "Legal redlines": (
            sql_mentions("legal redlines", month()),
            sql_mentions("legal redlines", month().previous()),
        ),
    }
    assert moves == {"Renewal cliff": (3, 1), "Legal redlines": (0, 2)}
    assert [t.name for t in found.themes] == ["Renewal cliff", "Legal redlines"]  # by growth

    # The draft Echo is not debriefed; every amount here is in dollars.
    assert {c: [n.name for n in deals] for c, deals in found.won.items()} == {
        "USD": ["Alpha", "Foxtrot"]
    }
    assert {c: [n.name for n in deals] for c, deals in found.lost.items()} == {
        "USD": ["Bravo", "Charlie"]
    }
    alpha = db.session.scalar(select(Deal).where(Deal.name == "Alpha"))
    assert found.won["USD"][0].debrief_id == alpha.debriefs[0].id


def test_amounts_in_different_currencies_are_ranked_apart(dataset, users, make_debrief):
    # 95,000 yen is far less than 10,000 dollars: ranked together it would lead.
    for name, amount, currency in (
        ("Kilo", 95000, "JPY"),
        ("Lima", 60000, "EUR"),
        ("Mike", 20000, "EUR"),
        ("November", 30000, "EUR"),
        ("Oscar", 40000, "EUR"),
    ):
        deal = {
            "name": name,
            "account": f"{name} GmbH",
            "close_date": day(month(), 14),
            "outcome": "won",
            "winner": None,
            "amount": amount,
            "currency": currency,
        }
        make_debrief(users.rep, deal=deal)
    found = pack.build(users.admin, month(), date.today())
    ranked = {c: [n.name for n in deals] for c, deals in found.won.items()}
    # Each currency ranked on its own, the one with most deals first; at most three each.
    assert ranked == {
        "EUR": ["Lima", "Oscar", "November"],
        "USD": ["Alpha", "Foxtrot"],
        "JPY": ["Kilo"],
    }
    assert list(ranked) == ["EUR", "USD", "JPY"]

    page = pack_page(users.admin)
    assert "<caption>In EUR</caption>" in page and "<caption>In JPY</caption>" in page
    assert page.index("Lima") < page.index("Oscar") < page.index("November")


def pack_page(user) -> str:
    from flask import current_app

    client = current_app.test_client()
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302
    return client.get(f"/review?month={month().key}").text


def test_the_pack_says_which_counts_are_team_wide_and_which_company_wide(dataset, users):
    page = pack_page(users.manager)
    assert "Coverage counts your team's deals; win rates, themes and notable" in page
    sections = {
        title: page[page.index(f'id="{title}"') : page.index("</section>", page.index(title))]
        for title in ("coverage-title", "win-rate-title", "themes-title", "notable-title")
    }
    assert "<strong>Team-wide</strong>" in sections["coverage-title"]
    for title in ("win-rate-title", "themes-title", "notable-title"):
        assert "<strong>Company-wide</strong>" in sections[title], title

    page = pack_page(users.marketing)  # no team: every figure is the company's
    assert "Every figure counts the whole company." in page and "Team-wide" not in page


def test_a_manager_sees_the_coverage_of_their_team(dataset, users):
    found = pack.build(users.manager, month(), date.today())
    assert (found.coverage.closed, found.coverage.debriefed) == sql_coverage(month(), "East")
    assert (found.coverage.closed, found.coverage.debriefed) == (5, 4)  # not Wes's Foxtrot


def test_the_page_shows_the_figures_and_links(client, auth, dataset, users):
    sign_in(auth, users.manager)
    response = client.get(f"/review?month={month().key}")
    assert response.status_code == 200
    page = response.text
    assert f"Review pack: {month().label}" in page
    assert '<dd id="coverage-percent">80%</dd>' in page
    assert '<td data-label="Win rate" class="num">50%</td>' in page
    assert '<td data-label="Win rate" class="num">33%</td>' in page
    assert '<strong id="win-rate-change">+16.7 pts</strong>' in page
    assert "Renewal cliff" in page and "+2" in page and "-2" in page
    alpha = db.session.scalar(select(Deal).where(Deal.name == "Alpha"))
    assert f'href="/debriefs/{alpha.debriefs[0].id}">Alpha</a>' in page
    assert "data-print" in page and "Print or save as PDF" in page
    assert "onclick" not in page and "<script>" not in page


def test_the_default_month_is_the_last_complete_one(client, auth, users):
    sign_in(auth, users.admin)
    page = client.get("/review").text
    assert f"Review pack: {month().label}" in page
    assert month().end < date.today().replace(day=1) <= month().end + timedelta(days=1)


@pytest.mark.parametrize("bad", ["2026-13", "2026-Q1", "March", "1999-01", "2026-3"])
def test_a_bad_month_shows_a_message_and_the_default(client, auth, users, bad):
    sign_in(auth, users.marketing)
    response = client.get("/review", query_string={"month": bad})
    assert response.status_code == 200
    assert "is not a month" in response.text
    assert f"Review pack: {month().label}" in response.text


def test_another_month_can_be_chosen(client, auth, dataset, users):
    sign_in(auth, users.admin)
    page = client.get(f"/review?month={month().previous().key}").text
    assert f"Review pack: {month().previous().label}" in page and "is not a month" not in page
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
    expect(page.get_by_role("heading", name=f"Review pack: {month().label}")).to_be_visible()
    page.evaluate("() => { window.printed = 0; window.print = () => { window.printed += 1; }; }")
    page.get_by_role("button", name="Print or save as PDF").click()
    assert page.evaluate("window.printed") == 1
    page.emulate_media(media="print")
    expect(page.get_by_role("button", name="Print or save as PDF")).to_be_hidden()
    expect(page.get_by_role("navigation", name="Main")).to_be_hidden()


@pytest.mark.browser
def test_the_printed_pack_is_short_with_no_blank_page(dataset, users, live_server, browser_page):
    from io import BytesIO

    from pypdf import PdfReader

    page = browser_page
    page.goto(f"{live_server}/login")
    page.get_by_label("E-mail").fill(users.manager.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Review pack").click()
    expect(page.get_by_role("heading", name=f"Review pack: {month().label}")).to_be_visible()

    pdf = PdfReader(BytesIO(page.pdf(format="A4")))
    texts = [p.extract_text() for p in pdf.pages]
    # Five short sections: no longer one A4 page each.
    assert len(texts) <= 2, [len(t) for t in texts]
    assert all(len(t.strip()) > 200 for t in texts), [t[:80] for t in texts]
    whole = " ".join(texts)
    for title in ("Debrief coverage", "Win rate", "Themes that moved most", "Notable debriefs"):
        assert title in whole
    assert "Featured practices" in whole and "Print or save as PDF" not in whole
