"""Discovery is exact when the subset is larger than its sample: a word whose
rest-of-corpus count an estimate from document frequencies would overstate
(it is common in drafts, which the index holds but no figure counts) still
ranks where its exact G² puts it, and the list equals a brute-force exact
count over every word and phrase of the subset's text, merged into ideas
the same way."""

import random
from datetime import date
from itertools import product

import pytest

from kb.themes import discovery, engine, ideas
from kb.themes.discovery import SIGNIFICANT, log_likelihood
from kb.themes.terms import term_cache

SAMPLE = 10  # far smaller than the 36-debrief subset
WORDS = [
    "budget",
    "roadmap",
    "latency",
    "sandbox",
    "invoice",
    "pilot",
    "dashboards",
    "workflow",
    "audit",
    "migration",
    "connector",
    "licensing",
    "support",
    "rollout",
    "analytics",
    "compliance",
]


def _text(rng: random.Random, extra: str = "") -> str:
    words = rng.sample(WORDS, 4)
    return f"{extra} {' '.join(words).capitalize()}.".strip()


@pytest.fixture
def corpus(users, make_debrief):
    """36 lost debriefs (the subset), 24 won ones, and 60 drafts. "onboarding"
    is in 22 lost debriefs, 1 won one and every draft."""
    rng = random.Random(12)
    reason = {"category": "price.total-cost", "direction": "hurt", "primary": True}
    plain = {"reasons": [reason], "quotes": [], "decision_process": "", "what_worked": ""}
    plain |= {"lessons_learned": ""}
    for i in range(36):
        extra = "Onboarding." if i < 22 else ""
        if i % 3 == 0:
            extra += " Procurement stalled the sandbox pilot."
        make_debrief(
            users.rep,
            deal={"name": f"Deal {i}", "competitors": [], "winner": None},
            competitive_notes=_text(rng, extra),
            **plain,
        )
    for i in range(24):
        make_debrief(
            users.rep,
            deal={"name": f"Deal w{i}", "outcome": "won", "competitors": [], "winner": None},
            competitive_notes=_text(rng, "Onboarding went fine." if i == 0 else ""),
            **plain,
        )
    for i in range(60):
        make_debrief(
            users.rep,
            status="draft",
            deal={"name": f"Deal d{i}", "outcome": "won", "competitors": [], "winner": None},
            competitive_notes="Onboarding notes to finish.",
            **plain,
        )


def brute_force(snap, filters: dict, min_support: int, limit: int) -> dict[str, list]:
    """Every word and phrase of every subset debrief's text, counted exactly
    on the index, scored, merged into ideas and ranked: the rows of each
    list, each with its variants."""
    subset = snap.match("", filters).bits
    rest = snap.population & ~subset
    n1, n2 = subset.bit_count(), rest.bit_count()
    texts = term_cache().terms(snap.debriefs_of(subset))
    left = discovery.left_out(snap, filters)
    found = []
    for gram in discovery.count_grams(texts):
        if not discovery._keep(gram, left):
            continue
        bits = snap.phrase_bits(gram)
        a, c = (bits & subset).bit_count(), (bits & rest).bit_count()
        score = log_likelihood(a, n1, c, n2)
        if a >= min_support and score >= SIGNIFICANT:
            found.append(
                discovery.Finding(
                    gram, " ".join(gram), score, a, n1, 0, 0, c, n2, bits=bits & subset
                )
            )
    lists, _ = ideas.ranked(found, lambda f: f.score, limit, lambda f: discovery._kind(f.terms))
    return {
        kind: [(i.shown.terms, sorted(v.terms for v in i.variants)) for i in lists.get(kind, [])]
        for kind in ("words", "phrases")
    }


def rows(result) -> dict[str, list]:
    return {
        kind: [(f.terms, sorted(v.terms for v in f.variants)) for f in getattr(result, kind)]
        for kind in ("words", "phrases")
    }


def test_a_word_an_estimate_would_drop_is_found_where_its_exact_score_ranks_it(app, corpus):
    snap = engine.snapshot()
    filters = {"outcome": "lost"}
    subset = snap.match("", filters).bits
    n1 = subset.bit_count()
    n2 = (snap.population & ~subset).bit_count()
    assert (n1, n2) == (36, 24) and n1 > SAMPLE
    # Exactly: 22 of 36 lost debriefs against 1 of 24 won ones.
    exact = log_likelihood(22, n1, 1, n2)
    assert exact > 20
    # The document frequency also counts the 60 drafts, so an estimate of the
    # rest from it (times the submitted share, less the subset) says the word
    # is as common outside the subset as in it.
    frequency = snap.doc_frequency(("onboard",))
    assert frequency == 83
    estimated_rest = frequency * snap.size / snap.view.doc_count - 22
    assert log_likelihood(22, n1, round(estimated_rest), n2) < SIGNIFICANT

    # Bounds from the index's frequencies alone (every=0), and from every
    # debrief's words and word pairs read too.
    result = discovery.discover(snap, term_cache(), "", filters, "all", 3, sample=SAMPLE, every=0)
    read_all = discovery.discover(snap, term_cache(), "", filters, "all", 3, sample=SAMPLE)
    assert rows(read_all) == rows(result)
    assert result.sampled == SAMPLE
    found = {f.terms: f for f in result.findings}
    assert ("onboard",) in found, list(found)
    onboarding = found[("onboard",)]
    assert (onboarding.subset, onboarding.rest) == (22, 1)
    assert onboarding.score == pytest.approx(exact)
    assert [f.terms for f in result.words].index(("onboard",)) < 20
    assert rows(result) == brute_force(snap, filters, 3, discovery.RESULTS)

    # Shorter lists are the top of the same lists, cut-offs, merged ideas and all.
    for limit, every in product((1, 2, 3), (0, discovery.EVERY)):
        short = discovery.discover(
            snap, term_cache(), "", filters, "all", 2, limit=limit, sample=SAMPLE, every=every
        )
        expected = brute_force(snap, filters, 2, limit)
        assert expected["words"] and expected["phrases"], expected
        assert rows(short) == expected


def test_the_upper_bound_is_never_below_a_score_it_bounds():
    for n1, n2 in ((36, 24), (500, 9500), (5000, 95000)):
        for most in (1, 5, 40, 400):
            bound = discovery.upper_bound(most, n1, n2)
            for a in range(0, min(most, n1) + 1, max(1, most // 10)):
                for c in range(0, n2 + 1, max(1, n2 // 20)):
                    assert log_likelihood(a, n1, c, n2) <= bound + 1e-9


def test_a_subset_larger_than_the_sample_read_lists_what_counting_everything_lists(app):
    """More than 2,000 lost debriefs of the demo data (more than discovery
    reads for candidates): the lists equal a brute-force exact count of every
    word and phrase of every lost debrief's text."""
    from kb import search
    from kb.demo.generator import generate

    generate(5000, seed=5, echo=None, anchor=date(2026, 6, 30))
    search.reindex()
    snap = engine.snapshot()
    filters = {"outcome": "lost"}
    size = snap.match("", filters).count
    assert size > discovery.SAMPLE, size

    expected = brute_force(snap, filters, 5, discovery.RESULTS)
    for every in (0, discovery.EVERY):
        result = discovery.discover(snap, term_cache(), "", filters, "all", 5, every=every)
        assert result.sampled == discovery.SAMPLE
        assert result.words and result.phrases
        assert rows(result) == expected


def test_frequencies_kept_per_segment_follow_a_new_debrief(app, corpus, users, make_debrief):
    """The frequencies discovery bounds with are the index's, and stay so
    after a change: what was read from the old segments is reused and the
    new debrief counts."""
    from kb.themes import postings

    snap = engine.snapshot()
    pair = ("sandbox", "pilot")
    before = postings.frequencies(snap)
    assert before.phrase(("onboard",)) == snap.doc_frequency(("onboard",)) == 83
    assert before.phrase(pair) == snap.doc_frequency(pair) > 0

    reason = {"category": "price.total-cost", "direction": "hurt", "primary": True}
    make_debrief(
        users.rep,
        deal={"name": "Deal late", "competitors": [], "winner": None},
        competitive_notes="Onboarding dragged; the sandbox pilot never started.",
        reasons=[reason],
        quotes=[],
    )
    after = engine.snapshot()
    assert after is not snap
    found = postings.frequencies(after)
    assert found.phrase(("onboard",)) == after.doc_frequency(("onboard",)) == 84
    assert found.phrase(pair) == after.doc_frequency(pair) == before.phrase(pair) + 1


def test_a_phrase_only_in_debriefs_outside_the_sample_is_still_listed(
    app, corpus, users, make_debrief
):
    """Candidates are read from a sample of the subset; a strong phrase that
    the sample happens to miss is found all the same when every debrief of
    the subset was read, and the lists equal a brute-force count."""
    rng = random.Random(3)
    reason = {"category": "price.total-cost", "direction": "hurt", "primary": True}
    plain = {"reasons": [reason], "quotes": [], "decision_process": "", "what_worked": ""}
    plain |= {"lessons_learned": ""}
    for i in range(12):
        make_debrief(
            users.rep,
            deal={"name": f"Deal p{i}", "competitors": [], "winner": None},
            competitive_notes=_text(rng, "Their indemnity clause scared legal."),
            **plain,
        )
    snap = engine.snapshot()
    filters = {"outcome": "lost"}
    subset = snap.debriefs_of(snap.match("", filters).bits)
    # The sample (the first of the evenly spaced debriefs) has none of them.
    sampled = term_cache().terms(discovery._sample(sorted(subset), 1))
    assert not any("indemn" in terms for doc in sampled.values() for terms in doc)

    result = discovery.discover(snap, term_cache(), "", filters, "all", 3, sample=1)
    assert result.sampled == 1
    listed = {f.terms for f in result.phrases} | {
        v.terms for f in result.phrases for v in f.variants
    }
    assert any("indemn" in terms for terms in listed), listed
    assert ("indemn",) in {f.terms for f in result.words} | {
        v.terms for f in result.phrases for v in f.variants
    }
    assert rows(result) == brute_force(snap, filters, 3, discovery.RESULTS)
