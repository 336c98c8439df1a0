"""Phrases counted on the bitmaps each set keeps for a discovery: coded by
their pairs on arrays as one by one, counted once per set and then read
back, with the same counts and documents as a quoted search."""

import numpy as np

from kb import search
from kb.themes import engine
from kb.themes.tallies import PAIRS, Tally, by_pairs, count_phrases, make_own_each

REASON = {"category": "price.total-cost", "direction": "hurt", "primary": True}
PLAIN = {"reasons": [REASON], "quotes": [], "decision_process": "", "what_worked": ""}


def test_phrases_are_coded_by_their_distinct_pairs():
    grams = [("a", "b", "c"), ("b", "c"), ("c", "a", "b", "c"), ("a", "b")]
    pairs, coded = by_pairs(grams)
    assert sorted(pairs) == ["a b", "b c", "c a"]
    assert coded.shape == (4, 3)
    rows = [[pairs[n] for n in row] for row in coded.tolist()]
    assert rows == [
        ["a b", "b c", "b c"],
        ["b c", "b c", "b c"],
        ["c a", "a b", "b c"],
        ["a b", "a b", "a b"],
    ]
    assert by_pairs([])[0] == []


def test_phrases_counted_once_per_set_and_read_back(app, users, make_debrief):
    for i in range(8):
        make_debrief(
            users.rep,
            status="submitted",
            deal={"name": f"Deal {i}", "competitors": [], "winner": None},
            competitive_notes=f"Onboarding was slow; the sandbox pilot {i % 3} stalled.",
            lessons_learned="Legal review of the indemnity clause stalled.",
            **PLAIN,
        )
    search.reindex()
    snap = engine.snapshot()
    one = snap.population & -snap.population
    sets = [Tally(snap.view, snap.population & ~one), Tally(snap.view, one)]
    first = [("sandbox", "pilot", "stall"), ("indemn", "claus", "stall")]
    later = [*first, ("slow", "sandbox", "pilot", "stall"), ("review", "of", "the")]

    def expected(grams):
        return [[(snap.phrase_bits(g) & t.bits).bit_count() for g in grams] for t in sets]

    assert count_phrases(sets, first, also=["onboard slow"]) == expected(first)
    # Kept: the second round codes and reads only the phrases it adds.
    assert set(sets[0]._phrases) == set(sets[1]._phrases) == set(first)
    assert "onboard slow" in sets[0]._row[PAIRS] and "onboard slow" not in sets[1]._row[PAIRS]
    assert count_phrases(sets, later) == expected(later)
    assert count_phrases(sets, later[::-1]) == [row[::-1] for row in expected(later)]
    # New phrases asked for more than once, among phrases kept, and none at all.
    again = [("legal", "review", "of"), first[0], ("legal", "review", "of"), ("the", "indemn")]
    assert count_phrases(sets, again) == expected(again)
    assert count_phrases(sets, []) == [[], []]
    for tally in sets:
        assert tally.phrase_counts(later).tolist() == expected(later)[sets.index(tally)]
        grams = [*later, ("sandbox",), ("onboard", "slow")]
        assert tally.phrase_docs(grams) == [snap.phrase_bits(g) & tally.bits for g in grams]
        assert tally.phrase_docs(grams[:2]) == [snap.phrase_bits(g) & tally.bits for g in grams[:2]]
    # A set asked twice in one read keeps each term's bitmap once.
    make_own_each([(sets[1], ["legal review"]), (sets[1], ["legal review", "pilot 1"])], PAIRS)
    rows = sets[1]._row[PAIRS]
    assert len(set(rows.values())) == len(rows)
    bitmaps = sets[1]._own_bitmaps(["legal review"], PAIRS)
    assert (
        int(np.bitwise_count(bitmaps).sum())
        == (snap.phrase_bits(("legal", "review")) & one).bit_count()
    )
