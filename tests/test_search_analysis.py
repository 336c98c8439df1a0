"""Text analysis for real feedback: contractions, emoji, numbers with units,
URLs, handles, retweet markers and hyphenated words, read the same way by the
analyser, the search page and discovery; and an index written by an older
analysis rebuilt on its own."""

import pytest
from flask import current_app

from kb import search
from kb.search import indexer, schema
from kb.search.analysis import analyse
from kb.themes import discovery, engine
from kb.themes.terms import term_cache

# ------------------------------------------------------------ the analyser

ANALYSED = {
    "negations are one term": ("We can't, won't and don't", ["can't", "won't", "don't"]),
    "curly apostrophes": ("We can’t, won’t and don’t", ["can't", "won't", "don't"]),
    "negations written without apostrophe": ("cannot dont", ["can't", "don't"]),
    "possessives are their word": ("customer's customers’ CFO", ["custom", "custom", "cfo"]),
    "other contractions are their word": ("they’ve it's we're they", ["thei", "thei"]),
    "names keep their apostrophe": ("O'Brien signed", ["o'brien", "sign"]),
    "emoji": ("slow 😡 👍🏽 ❤️ 🇩🇪", ["slow", "😡", "👍", "❤", "🇩🇪"]),
    "percent": ("up 30% now", ["up", "30%", "now"]),
    "money with a multiplier": ("$50K deal", ["$50k", "deal"]),
    "money with thousands separators": ("€20,000 and 20,000", ["€20000", "20000"]),
    "single digits are kept": ("took 6 weeks", ["took", "6", "week"]),
    "a number joined to letters is a word": ("2fa and 50kg", ["2fa", "50kg"]),
    "a URL is one term": (
        "see https://Acme.com/pricing?plan=pro). Or www.acme.com.",
        ["see", "https://acme.com/pricing?plan=pro", "www.acme.com"],
    ),
    "handles are one term": ("RT @Globex_Cares: fast", ["@globex_cares", "fast"]),
    "an email address is no handle": ("bob@acme.com", ["bob", "acme.com"]),
    "a retweet marker in the middle": ("so true RT @acme hi", ["so", "true", "@acme", "hi"]),
    "a word RT elsewhere stays": ("the RT team", ["rt", "team"]),
    "html entities are not words": ("R&amp;D &#39;fast&#39;", ["fast"]),
    "hyphenated words are joined": ("e-mail follow‑up email", ["email", "followup", "email"]),
    "stemming": ("pricing prices priced", ["price", "price", "price"]),
}


@pytest.mark.parametrize("case", ANALYSED)
def test_the_analyser_reads_real_feedback(case):
    text, terms = ANALYSED[case]
    assert analyse(text) == terms


# ------------------------------------------------------------ through search

FEEDBACK = {
    "cant": "We can’t migrate the data ourselves.",
    "can": "We can migrate later, they said.",
    "wont": "They won't renew without SSO.",
    "won": "We won the bake-off on support.",
    "dont": "Buyers don’t trust the roadmap.",
    "possessive": "The customer’s CFO blocked it.",
    "angry": "Onboarding was painful 😡",
    "units": "Price rose 30% to $50k, about €20,000 a year.",
    "thirty": "They had 30 seats and a 50k budget.",
    "weeks": "Implementation took 6 weeks in the end.",
    "apart": "We had 6 people on it for weeks.",
    "url": "Their page https://globex.example/pricing?plan=pro says it all.",
    "retweet": "RT @globex_cares: onboarding in one day",
    "hyphen": "Their e-mail integration failed.",
    "joined": "Email reminders helped adoption.",
}


@pytest.fixture
def feedback(users, make_debrief):
    return {
        name: make_debrief(users.rep, competitive_notes=text, deal={"name": f"Deal {name}"}).id
        for name, text in FEEDBACK.items()
    }


def found(users, q: str) -> set[int]:
    result = search.search(users.admin, {"q": q, "per_page": 100})
    return {hit.id for hit in result.hits}


SEARCHES = [
    # query, debriefs it finds (among those above), in words
    ("can't", {"cant"}),
    ("can’t", {"cant"}),
    ("cannot", {"cant"}),
    ("won't", {"wont"}),
    ("won", {"won"}),
    ("don't", {"dont"}),
    ("customer", {"possessive"}),
    ("customer's", {"possessive"}),
    ("😡", {"angry"}),
    ("30%", {"units"}),
    ("$50k", {"units"}),
    ("€20,000", {"units"}),
    ("€20000", {"units"}),
    ('"6 weeks"', {"weeks"}),
    ("https://globex.example/pricing?plan=pro", {"url"}),
    ("https", set()),
    ("@globex_cares", {"retweet"}),
    ("rt", set()),  # the marker is not indexed
    ("email", {"hyphen", "joined"}),
    ("e-mail", {"hyphen", "joined"}),
]


def test_each_kind_of_token_is_searched_as_written(users, feedback):
    names = {debrief_id: name for name, debrief_id in feedback.items()}
    for q, expected in SEARCHES:
        result = search.search(users.admin, {"q": q, "per_page": 100})
        assert not result.warnings, (q, result.warnings)
        mine = {names[hit.id] for hit in result.hits if hit.id in names}
        assert mine == expected, q


def test_stemming_still_finds_other_forms(users, feedback):
    # Every debrief's default quote says "pricing".
    assert set(feedback.values()) <= found(users, "price")
    assert feedback["units"] in found(users, "prices")


def test_a_matched_emoji_and_contraction_are_marked_in_the_snippet(users, feedback):
    result = search.search(users.admin, {"q": "won't 😡"})
    assert result.total == 0
    [hit] = search.search(users.admin, {"q": "won't"}).hits
    assert any("<mark>won&#39;t</mark>" in str(s.html) for s in hit.highlights)
    [hit] = search.search(users.admin, {"q": "😡"}).hits
    assert any("<mark>😡</mark>" in str(s.html) for s in hit.highlights)


# ------------------------------------------------------------ through discovery


@pytest.fixture
def complaints(users, make_debrief):
    """3 lost debriefs share a negation, an emoji, a unit phrase and a price;
    9 won ones share none of them."""
    for i, text in enumerate(
        (
            "Legal won't budge 😡 and rollout took 6 weeks at a 30% premium.",
            "The CFO won't sign 😡 after 6 weeks; a 30% uplift.",
            "Sales won't call back 😡 even 6 weeks later. 30% more.",
        )
    ):
        make_debrief(users.rep, deal={"name": f"Lost {i}"}, competitive_notes=text)
    for i in range(9):
        make_debrief(
            users.rep,
            deal={"name": f"Won {i}", "outcome": "won", "winner": None},
            competitive_notes="Procurement liked the roadmap.",
        )


def test_discovery_finds_contractions_emoji_and_units_as_written(app, complaints):
    result = discovery.discover(engine.snapshot(), term_cache(), "", {"outcome": "lost"}, "all", 2)
    phrases = {f.phrase: f for f in result.findings}
    for phrase in ("won't", "😡", "6 weeks", "30%"):
        assert phrase in phrases, (phrase, sorted(phrases))
        finding = phrases[phrase]
        assert (finding.subset, finding.rest) == (3, 0)
    # No fragments of them.
    for fragment in ("won", "t", "6", "30", "week"):
        assert fragment not in phrases


# ------------------------------------------------------------ migrating indexes


def test_an_index_written_by_an_older_analysis_is_rebuilt(users, feedback, monkeypatch):
    older = schema.build_schema()
    for name in ("text", "pairs"):
        del older[name].analyzer.version  # indexes from before versions were stored
    monkeypatch.setattr(indexer, "SCHEMA", older)
    assert search.reindex() == len(feedback)  # debriefs written
    monkeypatch.undo()
    current = current_app.extensions["kb_search"].folder.current()
    with pytest.raises(indexer.RebuildNeeded, match="text analysis"):
        indexer.open_generation(current)
    search.catch_up()
    assert schema.same_analysis(
        indexer.open_generation(current_app.extensions["kb_search"].folder.current()).schema
    )
    assert found(users, "won't") == {feedback["wont"]}
