"""Words beyond the sample at any subset size: a word found only in debriefs
that no sample read is listed even when the subset is larger than the size
up to which every debrief's text is read (EVERY), because words come from the
index's exact counts over every debrief of the subset; a word only in
debriefs' names is not taken for what they say."""

import random

import pytest

from kb.themes import discovery, engine
from kb.themes.discovery import log_likelihood
from kb.themes.terms import term_cache
from tests.test_themes_discovery_exact import _text, corpus  # noqa: F401  (a fixture)

pytestmark = pytest.mark.usefixtures("corpus")

REASON = {"category": "price.total-cost", "direction": "hurt", "primary": True}
PLAIN = {"reasons": [REASON], "quotes": [], "decision_process": "", "what_worked": ""}
PLAIN |= {"lessons_learned": ""}


def _add(users, make_debrief, n: int, extra: str, name: str = "Deal p") -> None:
    rng = random.Random(3)
    for i in range(n):
        make_debrief(
            users.rep,
            deal={"name": f"{name}{i}", "competitors": [], "winner": None},
            competitive_notes=_text(rng, extra),
            **PLAIN,
        )


def test_a_word_only_outside_the_sample_of_a_subset_larger_than_every_is_listed(
    app, users, make_debrief, monkeypatch
):
    _add(users, make_debrief, 12, "Their indemnity terms scared legal.")
    snap = engine.snapshot()
    filters = {"outcome": "lost"}
    subset = snap.match("", filters).bits
    ids = sorted(snap.debriefs_of(subset))
    assert len(ids) == 48
    # The one debrief sampled has no such word, and no debrief's text is read
    # whole (every=0: the subset is larger than EVERY).
    sampled = term_cache().terms(discovery._sample(ids, 1))
    assert not any("indemn" in terms for doc in sampled.values() for terms in doc)

    result = discovery.discover(snap, term_cache(), "", filters, "all", 3, sample=1, every=0)
    # Listed as a word, or under the phrase it is said in (one idea).
    found = {v.terms: v for f in result.words + result.phrases for v in (f, *f.variants)}
    assert ("indemn",) in found, list(found)
    word = found[("indemn",)]
    assert (word.subset, word.rest) == (12, 0)
    assert word.score == log_likelihood(12, 48, 0, 24)

    # Read from the sample alone (no term tables), it was missed.
    monkeypatch.setattr(discovery, "_tally", lambda snap, bits: None)
    engine_snap = engine.snapshot()
    from kb.analytics.cache import results

    results().clear()
    old = discovery.discover(engine_snap, term_cache(), "", filters, "all", 3, sample=1, every=0)
    assert ("indemn",) not in {f.terms for f in old.words}


def test_a_phrase_only_outside_the_sample_of_a_subset_larger_than_every_is_listed(
    app, users, make_debrief, monkeypatch
):
    """Phrases are read from every debrief of the subset (the index's
    sequence tables), whatever its size: none is missed for being outside
    the sample."""
    _add(users, make_debrief, 12, "Their indemnity terms scared legal.")
    snap = engine.snapshot()
    filters = {"outcome": "lost"}
    result = discovery.discover(snap, term_cache(), "", filters, "all", 3, sample=1, every=0)
    found = {f.terms: f for f in result.phrases}
    phrase = found.get(("indemn", "term", "scare", "legal"))
    assert phrase is not None, list(found)
    assert (phrase.subset, phrase.rest) == (12, 0)
    assert phrase.score == log_likelihood(12, 48, 0, 24)

    # From the sample alone (without the sequence tables), it was missed.
    monkeypatch.setattr(discovery.Said, "available", lambda said: False)
    from kb.analytics.cache import results

    results().clear()
    old = discovery.discover(snap, term_cache(), "", filters, "all", 3, sample=1, every=0)
    assert not {("indemn", "term", "scare", "legal")} & {f.terms for f in old.phrases}


def test_a_word_only_in_deal_names_is_not_a_finding(app, users, make_debrief):
    """Twelve lost deals named "Zephyr …": the word is in the index's text of
    each (names are searchable), but no debrief says it."""
    _add(users, make_debrief, 12, "", name="Zephyr ")
    snap = engine.snapshot()
    filters = {"outcome": "lost"}
    assert (snap.phrase_bits(("zephyr",)) & snap.match("", filters).bits).bit_count() == 12
    result = discovery.discover(snap, term_cache(), "", filters, "all", 1, sample=1, every=0)
    listed = {f.terms for f in result.words} | {v.terms for f in result.words for v in f.variants}
    assert ("zephyr",) not in listed
