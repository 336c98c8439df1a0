"""Discovery: the G² statistic against values worked out by hand, on the
function and end to end on a tiny corpus; the planted phrases of the demo
data found in the top ten of their subsets; the page, one-click tracking,
and bad input."""

import math
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from kb import search
from kb.demo.generator import generate
from kb.demo.themes import PLANTED_THEMES
from kb.extensions import db
from kb.models import Theme, ThemeStatus
from kb.themes import discovery, engine
from kb.themes.discovery import log_likelihood
from kb.themes.terms import term_cache

# ------------------------------------------------------------ the statistic


def test_g2_against_values_worked_out_by_hand():
    # 3 of 3 subset documents have the phrase, 0 of 9 others: N=12, k=3,
    # expected 0.75, 2.25, 2.25, 6.75 -> 2(3 ln 4 + 9 ln 4/3) = 13.496...
    assert log_likelihood(3, 3, 0, 9) == pytest.approx(2 * (3 * math.log(4) + 9 * math.log(4 / 3)))
    assert log_likelihood(3, 3, 0, 9) == pytest.approx(13.496046, abs=1e-5)
    # 4 of 5 against 1 of 7: expected 25/12, 35/12, 35/12, 49/12.
    by_hand = 2 * (
        4 * math.log(4 / (25 / 12))
        + 1 * math.log(1 / (35 / 12))
        + 1 * math.log(1 / (35 / 12))
        + 6 * math.log(6 / (49 / 12))
    )
    assert by_hand == pytest.approx(5.554982, abs=1e-5)
    assert log_likelihood(4, 5, 1, 7) == pytest.approx(by_hand)
    # Less common in the subset: the same size, negative.
    assert log_likelihood(1, 5, 3, 7) == pytest.approx(-0.711602, abs=1e-5)
    # Nothing to compare: no documents, or a phrase in every document.
    assert log_likelihood(0, 5, 0, 7) == 0.0
    assert log_likelihood(5, 5, 7, 7) == 0.0
    assert log_likelihood(2, 5, 1, 0) == 0.0


def test_g2_grows_with_the_evidence():
    assert log_likelihood(20, 100, 10, 1000) > log_likelihood(10, 50, 5, 500) > 0
    assert log_likelihood(10, 100, 10, 1000) == pytest.approx(22.907804, abs=1e-5)


def notes(text: str) -> dict:
    return {"competitive_notes": text}


@pytest.fixture
def tiny(users, make_debrief):
    """12 submitted debriefs: 3 lost ones say "renewal cliff", no won one does;
    a draft that says it does not count."""
    for i, text in enumerate(
        ("They feared the renewal cliff.", "Worried about a renewal cliff.", "Renewal cliff!")
    ):
        make_debrief(users.rep, deal={"name": f"Lost {i}"}, **notes(text))
    for i in range(9):
        make_debrief(
            users.rep,
            deal={"name": f"Won {i}", "outcome": "won", "winner": None},
            **notes("Procurement liked the roadmap."),
        )
    make_debrief(
        users.rep,
        status="draft",
        deal={"name": "Draft", "outcome": "won", "winner": None},
        **notes("Renewal cliff again."),
    )


def test_discovery_scores_a_tiny_corpus_as_worked_out_by_hand(app, tiny):
    snap = engine.snapshot()
    result = discovery.discover(snap, term_cache(), "", {"outcome": "lost"}, "all", 2)
    assert result.subset_size == 3 and result.background_size == 12
    found = {f.phrase: f for f in result.findings}
    cliff = found["renewal cliff"]
    assert (cliff.subset, cliff.subset_size, cliff.rest, cliff.rest_size) == (3, 3, 0, 9)
    assert (cliff.background, cliff.background_size) == (3, 12)
    assert cliff.score == pytest.approx(13.496046, abs=1e-5)
    assert cliff.query == '"renewal cliff"'
    assert cliff.examples and "<mark>renewal</mark>" in str(cliff.examples[0].html)
    # The shorter words are shown once, as the phrase they are part of.
    assert "cliff" not in found and "renewal" not in found
    # Words every debrief has are not over-represented.
    assert "acme" not in found and "procurement" not in found


def test_a_phrase_the_search_engine_finds_the_same_way(app, tiny, users):
    """The subset count of a finding is what a search for it in quotes finds."""
    result = search.search(users.admin, {"q": '"renewal cliff"'})
    assert result.total == 4  # the admin also sees the draft
    submitted = search.search(users.admin, {"q": '"renewal cliff"', "status": "submitted"})
    assert submitted.total == 3
    snap = engine.snapshot()
    assert snap.match('"renewal cliff"', {}).count == 3  # themes count submitted debriefs


# ------------------------------------------------------------ planted phrases


def planted_subset(theme) -> dict:
    filters = {k: v for k, v in theme.filters.items() if k != "closed_within_days"}
    if "closed_within_days" in theme.filters:
        since = date.today() - timedelta(days=theme.filters["closed_within_days"])
        filters["date_from"] = since.isoformat()
    return filters


def normalised(phrase: str) -> str:
    return phrase.replace("-", " ").lower()


@pytest.mark.parametrize(("count", "seed"), [(400, 3), (1200, 7)])
def test_planted_phrases_rank_in_the_top_ten_of_their_subset(app, count, seed):
    generate(count, seed, None, anchor=date.today())
    search.catch_up()
    snap = engine.snapshot()
    assert snap.size > 0.9 * count  # drafts are not counted
    ranks = {}
    for theme in PLANTED_THEMES:
        result = discovery.discover(snap, term_cache(), "", planted_subset(theme), "all", 5)
        phrases = [normalised(f.phrase) for f in result.findings[:10]]
        ranks[theme.key] = (
            phrases.index(normalised(theme.phrase)) + 1
            if normalised(theme.phrase) in phrases
            else None
        )
    assert all(ranks.values()), ranks


def test_an_emerging_phrase_grows_against_the_previous_period(app):
    generate(1200, 7, None, anchor=date.today())
    search.catch_up()
    theme = next(t for t in PLANTED_THEMES if t.prior_share is not None)
    filters = planted_subset(theme)
    snap = engine.snapshot()
    result = discovery.discover(snap, term_cache(), "", filters, "previous", 5)
    top = [normalised(f.phrase) for f in result.findings[:10]]
    assert normalised(theme.phrase) in top
    emerging = [normalised(f.phrase) for f in result.emerging[:10]]
    assert normalised(theme.phrase) in emerging
    grown = next(f for f in result.emerging if normalised(f.phrase) == normalised(theme.phrase))
    assert grown.subset_share > grown.rest_share and grown.change > 10


# ------------------------------------------------------------ the page


def test_discover_and_track_a_finding_in_one_click(client, auth, users, tiny):
    auth.login(users.marketing)
    page = client.get("/themes/discover?outcome=lost&min_support=2")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "renewal cliff" in html and "13.5" in html
    assert "3 of 3" in html and "3 of 12" in html
    # The track button carries the subset's other filters, not its outcome.
    form = html.split('aria-label="Track “renewal cliff” as a theme"')[0].rsplit("<form", 1)[1]
    assert 'name="q" value="&#34;renewal cliff&#34;"' in form
    assert 'name="outcome"' not in form and 'name="polarity" value="weakness"' in form
    response = client.post(
        "/themes/track",
        data={
            "name": "Renewal cliff",
            "q": '"renewal cliff"',
            "outcome": "lost",
            "winner": "Acme",
            "segment": "Enterprise",
            "polarity": "weakness",
        },
    )
    assert response.status_code == 302
    theme = db.session.scalar(select(Theme))
    assert response.headers["Location"].endswith(f"/themes/{theme.id}")
    # Outcome and winner are what the theme's win rate is compared on: a
    # theme of lost deals only would show a win rate of 0 % by definition.
    assert (theme.query, theme.filters) == ('"renewal cliff"', {"segment": "Enterprise"})
    assert theme.status == ThemeStatus.TRACKED and theme.owner_id == users.marketing.id
    shown = client.get(f"/themes/{theme.id}").get_data(as_text=True)
    assert 'id="mentions"' in shown and "data-chart=" in shown
    # Discovery now offers to open the theme rather than track it again.
    html = client.get("/themes/discover?outcome=lost&min_support=2").get_data(as_text=True)
    assert "Tracked as “Renewal cliff”: open" in html
    assert 'aria-label="Track “renewal cliff” as a theme"' not in html
    # Tracking the same query again opens the theme; no "Renewal cliff (2)".
    again = client.post("/themes/track", data={"name": "Renewal cliff", "q": '"Renewal  cliff"'})
    assert again.status_code == 302
    assert again.headers["Location"].endswith(f"/themes/{theme.id}")
    assert list(db.session.scalars(select(Theme.name))) == ["Renewal cliff"]
    opened = client.get(again.headers["Location"]).get_data(as_text=True)
    assert "already tracks" in opened


def test_a_rep_may_discover_but_not_track(client, auth, users, tiny):
    auth.login(users.rep)
    html = client.get("/themes/discover?outcome=lost&min_support=2").get_data(as_text=True)
    assert "renewal cliff" in html and "Track as theme" not in html
    assert client.post("/themes/track", data={"name": "X", "q": "x"}).status_code == 403


BAD = [
    ("min_support=0", "min_support", "from 1 to 1000"),
    ("min_support=1001", "min_support", "from 1 to 1000"),
    ("min_support=five", "min_support", "from 1 to 1000"),
    ("min_support=-3", "min_support", "from 1 to 1000"),
    ("outcome=lost&background=previous", "background", "give the subset a period"),
    ("outcome=lost&background=everything", "background", "Choose all debriefs"),
    ("date_from=2025-06-01&date_to=2025-01-01", "date_to", "before its start"),
    ("date_from=2025-02-30", "date_from", "real date"),
    ("competitor=Nobody", "competitor", "Unknown competitor"),
    ("category=price.nothing", "category", "Unknown reason category"),
    ("q=segment:galactic", "q", "There is no segment"),
    ("q=" + "x" * 501, "q", "500 characters"),
]


@pytest.mark.parametrize(("query", "field", "message"), BAD)
def test_bad_discovery_input_is_reported_on_its_field(client, auth, users, query, field, message):
    auth.login(users.manager)
    response = client.get(f"/themes/discover?{query}")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert f'id="{field}-error"' in html, html
    assert message in html.split(f'id="{field}-error">', 1)[1].split("</p>", 1)[0]


def test_an_empty_subset_says_so(client, auth, users, tiny):
    auth.login(users.manager)
    html = client.get("/themes/discover?q=%22never+written%22").get_data(as_text=True)
    assert "No submitted debrief matches this subset." in html


def test_a_subset_that_is_the_whole_background_says_what_to_change(client, auth, users, tiny):
    # The page's defaults: every debrief, against every debrief.
    auth.login(users.manager)
    html = client.get("/themes/discover?min_support=2").get_data(as_text=True)
    assert "The subset is the whole background" in html
    assert "Narrow the subset" in html
    assert "Nothing was compared." in html
    assert "Nothing stands out" not in html


def test_discovery_results_follow_a_new_debrief_at_once(app, users, make_debrief, tiny):
    snap = engine.snapshot()
    first = discovery.discover(snap, term_cache(), "", {"outcome": "lost"}, "all", 2)
    make_debrief(users.rep, deal={"name": "Lost 4"}, **notes("Another renewal cliff."))
    snap = engine.snapshot()
    again = discovery.discover(snap, term_cache(), "", {"outcome": "lost"}, "all", 2)
    assert again is not first
    cliff = next(f for f in again.findings if f.phrase == "renewal cliff")
    assert (cliff.subset, cliff.subset_size) == (4, 4)
