"""Discovery's findings as an analyst reads them: words and phrases in lists
of their own, the forms of one idea in one row with its variants, what is
left out (competitors' names and aliases, the words of the outcome, URLs,
@handles, retweet markers, HTML entities, admins' own list), and which
findings pass a Benjamini–Hochberg correction."""

import math
import random
import string

import pytest
from flask import current_app
from markupsafe import escape

from kb.extensions import db
from kb.models import Competitor, CompetitorAlias
from kb.search import EXTENSION
from kb.search.analysis import analyse
from kb.themes import discovery, engine, exclusions
from kb.themes.significance import Q, correct, p_value, rejected
from kb.themes.terms import term_cache

PLAIN = {
    "reasons": [{"category": "price.total-cost", "direction": "hurt", "primary": True}],
    "quotes": [],
    "decision_process": "",
    "what_worked": "",
    "lessons_learned": "",
}


def lost(users, make_debrief, i: int, text: str) -> None:
    make_debrief(
        users.rep,
        deal={"name": f"Lost {i}", "competitors": ["Acme"], "winner": "Acme"},
        competitive_notes=text,
        **PLAIN,
    )


def won(users, make_debrief, i: int, text: str) -> None:
    make_debrief(
        users.rep,
        deal={"name": f"Won {i}", "outcome": "won", "competitors": ["Acme"], "winner": None},
        competitive_notes=text,
        **PLAIN,
    )


def every_term(result) -> set[str]:
    shown = result.words + result.phrases + result.emerging
    return {t for f in shown for form in (f, *f.variants) for t in form.terms}


@pytest.fixture
def sentence(users, make_debrief):
    """Eight losses say "a discount that came too late to matter" (which
    reads as three phrases of three words: "discount that came", "came too
    late", "late to matter") and name Acme by its alias; twelve wins do not."""
    acme = db.session.scalar(db.select(Competitor).filter_by(name="Acme"))
    acme.aliases.append(CompetitorAlias(alias="@acmehq", key="@acmehq"))
    db.session.commit()
    current_app.extensions[EXTENSION].forget_vocabulary()
    for i in range(8):
        lost(
            users,
            make_debrief,
            i,
            "We lost: a discount that came too late to matter. "
            "RT @acmehq: Acme Corp wins again https://acme.example/pricing &amp; &quot;more&quot;",
        )
    for i in range(12):
        won(users, make_debrief, i, "Procurement liked the roadmap.")


def test_one_sentence_is_one_row_with_its_variants(app, sentence):
    snap = engine.snapshot()
    result = discovery.discover(snap, term_cache(), "", {"outcome": "lost"}, "all", 3)
    rows = [f for f in result.phrases if {"discount", "late", "matter"} & set(f.terms)]
    assert len(rows) == 1, [f.phrase for f in result.phrases]
    row = rows[0]
    # The longest form that keeps the support, with the others under it.
    assert row.words == 4 and row.subset == 8
    assert row.phrase in ("discount that came too late", "came too late to matter")
    variants = {v.phrase for v in row.variants}
    assert {"late to matter", "discount that came", "came too late"} <= variants
    # Its words are variants too, not rows of the words list.
    assert {"discount", "late", "matter"} <= variants
    assert not {"discount", "late", "matter"} & {f.phrase for f in result.words}
    # Each variant keeps its own counts.
    assert all(v.subset == 8 for v in row.variants)


def test_a_strong_phrase_has_its_own_list(app, users, make_debrief):
    """Twenty-five words stronger than any phrase fill a shared list of
    twenty; the phrase still shows, in the list of phrases."""
    rng = random.Random(5)
    strong = ["".join(rng.choice(string.ascii_lowercase) for _ in range(8)) for _ in range(25)]
    for i in range(10):
        rng.shuffle(strong)  # each in every loss, but seldom next to the same other
        text = " ".join(strong) + "."
        if i < 6:
            text += " Security questionnaire stalled."
        lost(users, make_debrief, i, text)
    for i in range(20):
        won(users, make_debrief, i, "Procurement liked the roadmap.")
    snap = engine.snapshot()
    result = discovery.discover(snap, term_cache(), "", {"outcome": "lost"}, "all", 3)
    assert len(result.words) == discovery.RESULTS
    phrase = next(f for f in result.phrases if "questionnair" in f.terms)
    assert phrase.score < min(f.score for f in result.words)
    assert phrase.subset == 6


def test_names_outcome_words_and_web_debris_are_left_out(app, sentence):
    snap = engine.snapshot()
    result = discovery.discover(snap, term_cache(), "", {"outcome": "lost"}, "all", 3)
    terms = every_term(result)
    assert terms, "the sentence is found"
    # Acme and its aliases ("ACME Corp", "@acmehq"), though every loss says them.
    assert not {"acm", "corp", "@acmehq"} & terms
    # The outcome the subset is chosen by ("lost"), and its other words ("wins").
    assert not {"lost", "win"} & terms
    # A URL, a retweet marker, HTML entities.
    assert not any("://" in t or t.startswith("@") for t in terms)
    assert not {"rt", "amp", "quot"} & terms
    # Without an outcome filter, "lost" is a word like any other.
    assert "lost" not in exclusions.outcome_words({})
    assert "lost" in exclusions.outcome_words({"outcome": "lost"})
    assert "lost" in exclusions.outcome_words({"winner": "Acme"})


@pytest.mark.parametrize(
    "text, kept",
    [
        ("missed payment", True),
        ("6 weeks", True),
        ("section 611", True),
        ("section 611 (a)(1)", False),  # ends with a clause number
        ("inquiry from XX/XX/XXXX", False),  # a redacted date
        ("XXXX", False),  # a redacted name
        ("XXXX bank", False),
        ("xerox copier", True),
    ],
)
def test_redaction_marks_and_trailing_clause_numbers_are_no_findings(text, kept):
    assert exclusions.Exclusions().keeps(tuple(analyse(text))) is kept


def test_redacted_complaints_yield_findings_without_redaction_marks(app, users, make_debrief):
    for i in range(8):
        lost(
            users,
            make_debrief,
            i,
            f"On XX/XX/XXXX I disputed the late fee with XXXX under section 611 (a)(1), case {i}.",
        )
    for i in range(12):
        won(users, make_debrief, i, "Procurement liked the roadmap.")
    snap = engine.snapshot()
    result = discovery.discover(snap, term_cache(), "", {"outcome": "lost"}, "all", 3)
    terms = every_term(result)
    assert {"disput", "fee"} <= terms, "the complaint's own words are found"
    assert not any(t.strip("x") == "" for t in terms)
    shown = result.words + result.phrases + result.emerging
    assert all(len(f.terms) == 1 or len(f.terms[-1]) > 1 for f in shown)


def test_an_alias_added_later_is_left_out_at_once(app, users, make_debrief, client, auth):
    for i in range(6):
        lost(users, make_debrief, i, "Their reps kept quoting zorblatt benchmarks.")
    for i in range(10):
        won(users, make_debrief, i, "Procurement liked the roadmap.")
    snap = engine.snapshot()
    first = discovery.discover(snap, term_cache(), "", {"outcome": "lost"}, "all", 3)
    assert "zorblatt" in every_term(first)
    auth.login(users.admin)
    acme = db.session.scalar(db.select(Competitor).filter_by(name="Acme"))
    response = client.post(f"/admin/competitors/{acme.id}/aliases", data={"alias": "Zorblatt"})
    assert response.status_code == 302
    page = client.get("/themes/discover?outcome=lost&min_support=3").get_data(as_text=True)
    assert '<td class="phrase">zorblatt' not in page and "reps kept" in page
    again = discovery.discover(engine.snapshot(), term_cache(), "", {"outcome": "lost"}, "all", 3)
    assert "zorblatt" not in every_term(again)


# ------------------------------------------------------------ admins' list


def test_the_admin_page_shows_the_built_in_lists(client, auth, users):
    auth.login(users.admin)
    html = client.get("/admin/wordlists").get_data(as_text=True)
    assert "Discovery words" in html
    for word in ("however", "really", "amp", "vendor", "chose"):
        assert word in html
    auth.logout()
    auth.login(users.manager)
    assert client.get("/admin/wordlists").status_code == 403
    assert client.post("/admin/wordlists", data={"phrases": "x"}).status_code == 403


def test_an_admin_leaves_out_a_phrase_and_discovery_follows(app, client, auth, users, make_debrief):
    for i in range(6):
        lost(users, make_debrief, i, "Sent from my phablet. The onboarding checklist was vague.")
    for i in range(10):
        won(users, make_debrief, i, "Procurement liked the roadmap.")
    auth.login(users.admin)
    url = "/themes/discover?outcome=lost&min_support=3"
    before = client.get(url).get_data(as_text=True)
    assert "onboarding checklist" in before and "phablet" in before

    response = client.post(
        "/admin/wordlists", data={"phrases": "onboarding checklist\n  Phablet \n\nphablet"}
    )
    assert response.status_code == 302
    assert exclusions.extra_phrases() == ("onboarding checklist", "Phablet")
    page = client.get("/admin/wordlists").get_data(as_text=True)
    assert "onboarding checklist\nPhablet" in page

    after = client.get(url).get_data(as_text=True)
    assert '<td class="phrase">onboarding checklist' not in after
    assert '<td class="phrase">sent from my phablet' not in after
    assert '<td class="phrase">checklist was vague' in after
    # The change is audited, with the list before and after.
    audit = client.get("/admin/audit").get_data(as_text=True)
    assert "Words left out of discovery: added onboarding checklist, Phablet" in audit

    # Emptying the list brings the findings back.
    assert client.post("/admin/wordlists", data={"phrases": ""}).status_code == 302
    assert exclusions.extra_phrases() == ()
    assert "onboarding checklist" in client.get(url).get_data(as_text=True)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("fine\n" + "x" * 121, "Line 2: keep each entry to 120 characters or fewer."),
        ("fine\nthe of\n", "Line 2: “the of” has no word discovery could find"),
        ("&&&", "Line 1: “&amp;&amp;&amp;” has no word discovery could find"),
        ("\n".join(f"word{i}" for i in range(501)), "500 entries or fewer"),
    ],
)
def test_a_bad_list_is_refused_and_nothing_is_saved(client, auth, users, text, message):
    auth.login(users.admin)
    assert client.post("/admin/wordlists", data={"phrases": "kept"}).status_code == 302
    response = client.post("/admin/wordlists", data={"phrases": text})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html and 'id="phrases-error"' in html
    assert "Nothing was saved" in html
    assert exclusions.extra_phrases() == ("kept",)
    # What was typed is shown again to correct.
    assert escape(text.splitlines()[0][:50]) in html


# ------------------------------------------------------------ Benjamini–Hochberg


def test_p_values_of_g2_match_the_chi_squared_table():
    # Critical values of chi² with one degree of freedom.
    assert p_value(3.841459) == pytest.approx(0.05, rel=1e-5)
    assert p_value(6.634897) == pytest.approx(0.01, rel=1e-5)
    assert p_value(10.827566) == pytest.approx(0.001, rel=1e-4)
    assert p_value(0) == 1.0 and p_value(-5) == 1.0


def test_benjamini_hochberg_by_hand():
    # m = 10, q = 0.05: thresholds 0.005, 0.010, 0.015, …; the first two pass.
    ps = [0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205, 0.212, 0.216]
    assert rejected(ps, 10) == 2
    # Step-up: 0.02 misses its own threshold (0.0125) but passes with the
    # larger ones after it (0.022 <= 0.0375).
    assert rejected([0.02, 0.021, 0.022, 0.5], 4) == 3
    # Hypotheses with p = 1 need not be listed, but count in m.
    assert rejected([0.02, 0.021, 0.022], 40) == 0
    # Candidates left uncounted: sure with p = 1, at most with their bound.
    c = correct([40.0, 12.0], [30.0], 1000)
    assert (c.tested, c.passing, c.most, c.exact) == (1000, 1, 2, False)
    assert c.cutoff == pytest.approx(Q / 1000)


@pytest.fixture
def crowded(users, make_debrief):
    """Ten losses say "renewal cliff" (G² 45 against thirty wins), four say
    "pilot budget" (G² 12.6, p ≈ 0.0004: significant alone), and each loss
    has thirty words of its own, so that about a thousand candidates are
    tested and the weaker phrase does not pass the correction."""
    rng = random.Random(3)
    for i in range(10):
        own = " ".join(
            "".join(rng.choice(string.ascii_lowercase) for _ in range(9)) for _ in range(30)
        )
        text = f"Renewal cliff. {own}."
        if i < 4:
            text += " Pilot budget."
        lost(users, make_debrief, i, text)
    for i in range(30):
        won(users, make_debrief, i, "Procurement liked the roadmap.")


def test_findings_that_fail_the_correction_are_exploratory(app, crowded, client, auth, users, api):
    snap = engine.snapshot()
    result = discovery.discover(snap, term_cache(), "", {"outcome": "lost"}, "all", 3)
    rows = {f.phrase: f for f in result.phrases}
    cliff, budget = rows["renewal cliff"], rows["pilot budget"]
    assert budget.score == pytest.approx(12.55, abs=0.01) and budget.score > 10.83
    bh = result.correction
    assert bh.tested > 1000 and bh.exact
    # By hand: p ≤ q·k/m passes.
    assert cliff.p_value <= Q * bh.passing / bh.tested < budget.p_value
    assert not cliff.exploratory and budget.exploratory
    assert math.isclose(budget.p_value, p_value(budget.score))

    auth.login(users.marketing)
    html = client.get("/themes/discover?outcome=lost&min_support=3").get_data(as_text=True)
    assert f"{bh.tested:,} words and phrases were tested; {bh.passing:,} pass" in html
    row = html.split("pilot budget", 1)[1].split("</td>", 1)[0]
    assert "Exploratory" in row
    assert "Exploratory" not in html.split("renewal cliff", 1)[1].split("</td>", 1)[0]

    body = api.get(users.marketing, "/api/v1/themes/discover?outcome=lost&min_support=3").json
    assert body["multiple_comparisons"] == {
        "method": "Benjamini-Hochberg",
        "false_discovery_rate": 0.05,
        "candidates_tested": bh.tested,
        "passing": bh.passing,
        "exact": True,
        "p_cutoff": pytest.approx(bh.cutoff),
    }
    phrases = {p["phrase"]: p for p in body["phrases"]}
    assert phrases["pilot budget"]["exploratory"] is True
    assert phrases["renewal cliff"]["exploratory"] is False
    assert phrases["renewal cliff"]["p_value"] == pytest.approx(cliff.p_value)
    assert {v["phrase"] for v in phrases["renewal cliff"]["variants"]} == {"renewal", "cliff"}
