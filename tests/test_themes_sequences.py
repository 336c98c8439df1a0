"""The index's sequence tables tell discovery what a set of debriefs says,
section by section, and the names it is filed under, exactly as reading and
analysing every debrief of the set would."""

import random
from datetime import date

from kb import search
from kb.search.analysis import PAIR_SEPARATOR
from kb.themes import discovery, engine
from kb.themes.sequences import Said
from kb.themes.tallies import PAIRS, Tally
from kb.themes.terms import term_cache
from tests.test_themes_discovery_exact import _text


def _read(snap, bits):
    """What reading every debrief of the set gives: words said, the
    sequences of two to four words within a section, names' phrases."""
    ids = snap.debriefs_of(bits)
    analysed = term_cache().terms(ids)
    words = {t for doc in analysed.values() for terms in doc for t in terms}
    sequences = {g for g in discovery.count_grams(analysed) if len(g) > 1}
    named = discovery.count_grams(term_cache().names(ids))
    return words, sequences, named


def test_the_tables_say_what_every_debrief_says(app, users, make_debrief):
    from kb.demo.generator import generate

    generate(400, seed=8, echo=None, anchor=date(2026, 6, 30))
    search.reindex()
    # And debriefs filed after the bulk build, in segments of their own.
    rng = random.Random(4)
    for i in range(5):
        make_debrief(
            users.rep,
            deal={"name": f"Zephyr Deal {i}", "competitors": [], "winner": None},
            competitive_notes=_text(rng, "Their indemnity terms scared legal."),
        )
    snap = engine.snapshot()
    assert len(snap.view.leaves) > 1
    bits = snap.match("", {"outcome": "lost"}).bits
    words, sequences, named = _read(snap, bits)
    said = Said(snap, bits)
    assert said.available()

    assert said.words() == words
    # Every sequence whose pairs are all among those asked for, and no other.
    pairs = {p for p, count in Tally(snap.view, bits).frequent(PAIRS, 3).items()}
    frequent = {tuple(p.split(PAIR_SEPARATOR)) for p in pairs}
    expected = {g for g in sequences if all(p in frequent for p in zip(g, g[1:]))}  # noqa: B905
    assert expected and said.sequences(pairs) == expected
    assert ("indemn", "term", "scare", "legal") in said.sequences(pairs)

    grams = sorted(named)
    assert ("zephyr", "deal") in named
    assert said.in_names(grams) == [named[g] for g in grams]
    assert said.in_names([("indemn",), ("no-such-word",)]) == [0, 0]

    # A sample's sections spelt from the tables are what the database's
    # text analysed gives (sections without terms aside), segments and all.
    ids = snap.debriefs_of(bits)
    sample = discovery._sample(sorted(ids), 60) + [i for i in ids if i > max(ids) - 5]
    spelt = said.analysed(sample, snap.debrief_ids)
    read = term_cache().terms(sample)
    assert spelt.keys() == read.keys()
    assert spelt == {i: tuple(s for s in read[i] if s) for i in sample}
    # Debriefs outside the set are not spelt.
    others = snap.debriefs_of(snap.population & ~bits)[:3]
    assert others and said.analysed(others, snap.debrief_ids) == {}
