"""A subset set apart by how its words are ordered more than by which words
it uses: few of its words are findings (the words list stays short) while
many of its phrases are (the phrases list fills). Uncounted phrases are then
bounded by the phrases' cut-off while any word that may be a finding is
still counted, and both lists equal a brute-force exact count."""

import random

import pytest

from kb.themes import discovery, engine
from kb.themes.terms import term_cache
from tests.test_themes_discovery_exact import brute_force, rows

WORDS = ["budget", "roadmap", "latency", "sandbox", "invoice", "pilot", "audit", "connector"]
SAMPLE = 8  # far fewer than the subset's debriefs: unsampled phrases are read too


@pytest.fixture
def ordered_corpus(users, make_debrief):
    """40 lost and 40 won debriefs saying the same words as often; the lost
    ones say them in a few fixed orders, the won ones in any order. Only the
    lost debriefs say "onboarding"."""
    rng = random.Random(21)
    orders = [rng.sample(WORDS, 3) for _ in range(6)]
    reason = {"category": "price.total-cost", "direction": "hurt", "primary": True}
    plain = {"reasons": [reason], "quotes": [], "decision_process": "", "what_worked": ""}
    plain |= {"lessons_learned": ""}
    for i in range(40):
        said = [orders[i % 6], orders[(i * 5 + 1) % 6]]
        text = " ".join(f"{' '.join(words).capitalize()}." for words in said)
        make_debrief(
            users.rep,
            deal={"name": f"Deal {i}", "competitors": [], "winner": None},
            competitive_notes=f"{text} Onboarding." if i < 25 else text,
            **plain,
        )
        shuffled = [rng.sample(words, 3) for words in said]
        make_debrief(
            users.rep,
            deal={"name": f"Deal w{i}", "outcome": "won", "competitors": [], "winner": None},
            competitive_notes=" ".join(f"{' '.join(w).capitalize()}." for w in shuffled),
            **plain,
        )


@pytest.mark.parametrize("limit", [2, 3])
@pytest.mark.parametrize("every", [0, discovery.EVERY])
def test_a_short_words_list_leaves_the_phrases_bounded_by_their_own_cut_off(
    app, ordered_corpus, limit, every
):
    snap = engine.snapshot()
    filters = {"outcome": "lost"}
    expected = brute_force(snap, filters, 3, limit)
    # The words list is short, the phrases list full.
    assert 0 < len(expected["words"]) < limit, expected
    assert len(expected["phrases"]) == limit, expected

    result = discovery.discover(
        snap, term_cache(), "", filters, "all", 3, limit=limit, sample=SAMPLE, every=every
    )
    assert result.sampled == SAMPLE
    assert rows(result) == expected
    # Every candidate that may be a finding is a test, counted or not.
    assert result.correction.tested >= len(expected["words"]) + len(expected["phrases"])
    assert result.correction.passing <= result.correction.most
