"""Phrases stay within a clause: a comma, the end of a sentence, a
semicolon, a line break, a bracket or a dash between two words means they
are not a phrase, for search and discovery alike ("we found out by e-mail,
with little explanation" says "found out by e-mail" and "little
explanation", never "e-mail little")."""

import pytest

from kb import search
from kb.search.analysis import PairAnalyzer, analyse, clauses
from kb.themes import discovery, engine
from kb.themes.terms import term_cache

CLAUSES = [
    # text, its clauses' terms
    (
        "We found out by e-mail, with little explanation.",
        [["found", "out", "email"], ["littl", "explan"]],
    ),
    ("Pricing hurt. Support won", [["price", "hurt"], ["support", "won"]]),
    ("Pricing hurt; support won", [["price", "hurt"], ["support", "won"]]),
    ("Pricing hurt: support won", [["price", "hurt"], ["support", "won"]]),
    ("Pricing hurt\nsupport won", [["price", "hurt"], ["support", "won"]]),
    ("Pricing (support) won", [["price"], ["support"], ["won"]]),
    ("Pricing hurt - support won", [["price", "hurt"], ["support", "won"]]),
    ("Pricing hurt — support won", [["price", "hurt"], ["support", "won"]]),
    ("Pricing hurt... support won", [["price", "hurt"], ["support", "won"]]),
    # Punctuation inside a token is not a boundary.
    ("A €20,000 premium", [["€20000", "premium"]]),
    ("Version 3.5 pricing", [["version", "3.5", "price"]]),
    ("Their e-mail integration", [["their", "email", "integr"]]),
    # A URL takes the comma after it into its token, not into its term.
    (
        "See https://acme.example/pricing, then call",
        [["see", "https://acme.example/pricing"], ["then", "call"]],
    ),
    # Stop words leave no boundary: "came too late" is one phrase.
    ("A discount that came too late", [["discount", "came", "too", "late"]]),
    ("", []),
    (", . ;", []),
]


@pytest.mark.parametrize(("text", "expected"), CLAUSES)
def test_text_is_read_clause_by_clause(text, expected):
    assert clauses(text) == expected
    # The clauses together are the text's terms, as the text field has them.
    assert [t for clause in clauses(text) for t in clause] == analyse(text)


def test_word_pairs_are_made_within_a_clause_only():
    pairs = [t.text for t in PairAnalyzer()("We found out by e-mail, with little explanation.")]
    assert pairs == ["found out", "out email", "littl explan"]


# ------------------------------------------------------------------ in search

NOTES = {
    "comma": "We found out by e-mail, with little explanation.",
    "sentence": "They sent an e-mail. Little changed after that.",
    "joined": "A short e-mail with little detail followed.",
}


@pytest.fixture
def notes(users, make_debrief):
    return {
        name: make_debrief(users.rep, competitive_notes=text, deal={"name": f"Deal {name}"}).id
        for name, text in NOTES.items()
    }


def found(users, notes, q: str) -> set[str]:
    result = search.search(users.admin, {"q": q, "per_page": 100})
    assert not result.warnings, (q, result.warnings)
    names = {debrief_id: name for name, debrief_id in notes.items()}
    return {names[hit.id] for hit in result.hits if hit.id in names}


def test_a_phrase_search_does_not_match_across_a_clause_boundary(users, notes):
    # Only the debrief where the two words follow each other in one clause.
    assert found(users, notes, '"e-mail little"') == {"joined"}
    assert found(users, notes, '"e-mail with little"') == {"joined"}
    assert found(users, notes, '"little explanation"') == {"comma"}
    # The words alone, anywhere: all three.
    assert found(users, notes, "e-mail little") == {"comma", "sentence", "joined"}


def test_a_phrase_pasted_with_its_punctuation_still_finds_its_text(users, notes):
    assert found(users, notes, '"found out by e-mail, with little explanation"') == {"comma"}
    assert found(users, notes, '"sent an e-mail. Little changed"') == {"sentence"}


# --------------------------------------------------------------- in discovery


@pytest.fixture
def told_by_email(users, make_debrief):
    """Six losses say the sentence with a comma in it; ten wins do not."""
    for i in range(6):
        make_debrief(
            users.rep,
            deal={"name": f"Lost {i}"},
            competitive_notes="We found out by e-mail, with little explanation.",
        )
    for i in range(10):
        make_debrief(
            users.rep,
            deal={"name": f"Won {i}", "outcome": "won", "winner": None},
            competitive_notes="Procurement liked the roadmap.",
        )


def test_discovery_finds_each_clause_and_nothing_across_them(app, users, told_by_email):
    result = discovery.discover(engine.snapshot(), term_cache(), "", {"outcome": "lost"}, "all", 3)
    forms = [form for f in result.phrases for form in (f, *f.variants)]
    for form in forms:
        joined = " ".join(form.terms)
        assert "email littl" not in joined, form.phrase
        assert "," not in form.phrase, form.phrase
    shown = {f.phrase: f for f in result.phrases}
    assert "little explanation" in shown, sorted(shown)
    assert "found out by e-mail" in shown, sorted(shown)
    finding = shown["little explanation"]
    assert (finding.subset, finding.rest) == (6, 0)
    # Its examples show it where it is said, and a search in quotes finds
    # the same debriefs discovery counted.
    assert finding.examples and all("explanation" in str(e.html) for e in finding.examples)
    hits = search.search(users.admin, {"q": '"little explanation"', "outcome": "lost"})
    assert hits.total == finding.subset
