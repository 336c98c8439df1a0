"""Said.phrases gives the sequences of a set's frequent pairs that the
exclusions keep, read once and filtered again for a higher cut-off."""

import random
from datetime import date

from kb import search
from kb.search.analysis import PAIR_SEPARATOR
from kb.themes import discovery, engine, exclusions
from kb.themes.sequences import Said
from kb.themes.tallies import PAIRS, Tally
from kb.themes.terms import term_cache
from tests.test_themes_discovery_exact import _text


def test_phrases_are_the_kept_sequences_of_frequent_pairs(app, users, make_debrief):
    from kb.demo.generator import generate

    generate(300, seed=5, echo=None, anchor=date(2026, 6, 30))
    search.reindex()
    rng = random.Random(2)
    for i in range(4):
        make_debrief(
            users.rep,
            deal={"name": f"Quill Deal {i}", "competitors": [], "winner": None},
            competitive_notes=_text(rng, "Their indemnity terms scared legal."),
        )
    snap = engine.snapshot()
    bits = snap.match("", {"outcome": "lost"}).bits
    tally = Tally(snap.view, bits)
    left = exclusions.for_discovery({"Acme": ["Indemnity Terms"]}, {"outcome": "lost"}, ["scare"])
    expected = {}
    for least in (3, 5, 2):
        pairs = list(tally.frequent(PAIRS, least))
        expected[least] = sorted(left.kept(sorted(Said(snap, bits).sequences(pairs))))
        assert expected[least]
    said = Said(snap, bits)
    # Read, then filtered for a higher cut-off, then read again for a lower one.
    for least in (3, 5, 2):
        found = said.phrases(tally, least, left)
        assert len(found) == len(set(found))
        assert sorted(found) == expected[least]
    assert not any(g[i : i + 2] == ("indemn", "term") for g in expected[2] for i in range(3))
    # Without exclusions but stop words, sequences agree with reading every debrief.
    ids = snap.debriefs_of(bits)
    grams = discovery.count_grams(term_cache().terms(ids))
    frequent = {tuple(p.split(PAIR_SEPARATOR)) for p in tally.frequent(PAIRS, 3)}
    every = {
        g
        for g in grams
        if len(g) > 1 and all(p in frequent for p in zip(g, g[1:]))  # noqa: B905
    }
    plain = exclusions.Exclusions()
    assert sorted(Said(snap, bits).phrases(tally, 3, plain)) == sorted(plain.kept(sorted(every)))
