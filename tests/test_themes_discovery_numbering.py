"""Discovery's bookkeeping on arrays gives what the plain ways of working it
out give: phrases numbered with their parts, candidates ordered by guess,
a phrase's pairs found through its parts, the emerging pass's guesses, the
multiple-comparison correction, and ideas grouped again round after round."""

import random
from types import SimpleNamespace

import numpy as np
import pytest

from kb.themes import discovery, ideas, significance
from kb.themes.tallies import PAIRS, TEXT, by_pairs

WORDS = ["a", "ab", "b", "ba", "c", "deal", "late", "price", "z"]


def random_grams(rng: random.Random, count: int) -> list[tuple[str, ...]]:
    return [tuple(rng.choice(WORDS) for _ in range(rng.randint(1, 4))) for _ in range(count)]


def bounds_for(monkeypatch, candidates=()) -> discovery._Bounds:
    frequencies = SimpleNamespace(phrase=lambda gram: 50)
    monkeypatch.setattr(discovery.postings, "frequencies", lambda snap: frequencies)
    snap = SimpleNamespace(view=SimpleNamespace(size=1000))
    subset = SimpleNamespace(size=100, whole=False, tally=None)
    return discovery._Bounds(snap, subset, 500, 1, 3.84, list(candidates))


def test_phrases_are_numbered_with_every_part_before_them(monkeypatch):
    rng = random.Random(5)
    bounds = bounds_for(monkeypatch, random_grams(rng, 300))
    asked = []
    for _ in range(6):
        grams = random_grams(rng, rng.randint(0, 200))
        asked += grams
        bounds.prepare(grams)
    bounds.learn_all(asked[:10], [1] * 10)
    size = bounds._size
    assert len(bounds.grams) == len(bounds.ids) == size
    assert len(set(bounds.grams)) == size
    for i, gram in enumerate(bounds.grams):
        assert bounds.ids[gram] == i
        n = len(gram)
        assert bounds._length[i] == n
        assert [bounds.grams[w][0] for w in bounds._words[i, :n]] == list(gram)
        assert all(bounds._words[i, n:] == bounds._words[i, n - 1])
        if n > 1:
            assert bounds.grams[bounds._left[i]] == gram[:-1]
            assert bounds.grams[bounds._right[i]] == gram[1:]
            assert bounds._left[i] < i and bounds._right[i] < i
    for gram in asked:
        parts = {gram[i:j] for i in range(len(gram)) for j in range(i + 1, len(gram) + 1)}
        assert parts <= bounds.ids.keys()
    assert bounds.numbers(asked).tolist() == [bounds.ids[g] for g in asked]


def test_candidates_ordered_by_guess_on_arrays_as_one_by_one(monkeypatch):
    rng = random.Random(7)
    grams = list(dict.fromkeys(random_grams(rng, 400)))
    values = {g: float(rng.randint(0, 5)) for g in grams}  # many ties

    def guess(gram):
        return values[gram]

    guess.many = lambda some: [values[g] for g in some]
    guess.numbered = lambda some, at, bounds: np.array([values[g] for g in some])
    bounds = bounds_for(monkeypatch, grams)
    shuffled = grams[:]
    rng.shuffle(shuffled)
    at = bounds.numbers(shuffled)
    expected = sorted(grams, key=lambda g: (-values[g], g))
    assert discovery._by_guess(shuffled, guess) == expected
    ordered, ordered_at = discovery._by_guess_at(shuffled, at, guess, bounds)
    assert ordered == expected
    assert ordered_at.tolist() == [bounds.ids[g] for g in expected]
    keep = np.array([rng.random() < 0.5 for _ in shuffled])
    kept, _ = discovery._by_guess_at(shuffled, at, guess, bounds, keep)
    assert kept == [g for g in expected if keep[shuffled.index(g)]]


def test_a_phrases_pairs_through_its_parts_are_those_by_pairs_finds(monkeypatch):
    rng = random.Random(11)
    long = [g for g in dict.fromkeys(random_grams(rng, 400)) if len(g) > 2]
    bounds = bounds_for(monkeypatch, long)
    pairs, coded = discovery._pairs_in(bounds, bounds.numbers(long))
    plain_pairs, plain_coded = by_pairs(long)
    for i in range(len(long)):
        assert {pairs[c] for c in coded[i]} == {plain_pairs[c] for c in plain_coded[i]}


class Counts:
    def __init__(self, rng):
        self.known = {}
        self.rng = rng

    def counts(self, kind, terms):
        return [self.known.setdefault((kind, t), self.rng.randint(0, 40)) for t in terms]


def test_the_emerging_guesses_on_arrays_are_those_worked_out_one_by_one(monkeypatch):
    rng = random.Random(13)
    grams = list(dict.fromkeys(random_grams(rng, 300)))
    now_tally, before = Counts(rng), Counts(rng)
    now = SimpleNamespace(
        tally=now_tally,
        size=97,
        scale=3.7,
        counts={g: rng.randint(0, 12) for g in grams if rng.random() < 0.7},
    )
    before_size = 211

    def change(gram):  # as the emerging pass worked it out, one phrase at a time
        if len(gram) <= 2:
            kind, term = (TEXT, gram[0]) if len(gram) == 1 else (PAIRS, " ".join(gram))
            return (
                now_tally.counts(kind, [term])[0] / now.size
                - before.counts(kind, [term])[0] / before_size
            )
        pairs = [a + " " + b for a, b in zip(gram, gram[1:])]  # noqa: B905
        inside = min(now_tally.counts(PAIRS, pairs))
        estimate = min(now.counts.get(gram, 0) * now.scale, inside)
        outside = min(before.counts(PAIRS, pairs)) * (estimate / inside if inside else 0)
        return estimate / now.size - outside / before_size

    bounds = bounds_for(monkeypatch, grams)
    found = discovery._changes(now, before, before_size, grams, bounds.numbers(grams), bounds)
    assert found.tolist() == [change(g) for g in grams]


def plain_rejected(p_values, tested, q=significance.Q):
    found = 0
    for rank, p in enumerate(sorted(p_values), start=1):
        if p <= q * rank / tested:
            found = rank
    return found


@pytest.mark.parametrize("seed", range(5))
def test_the_correction_on_arrays_is_benjamini_hochberg(seed):
    rng = random.Random(seed)
    exact = [rng.choice([0.0, -3.0, 1e-40, rng.uniform(0, 40)]) for _ in range(300)]
    bounded = [rng.choice([0.0, 12.5, rng.uniform(0, 30)]) for _ in range(2000)]
    tested = 2500
    known = [p for g in exact if (p := significance.p_value(g)) < 1]
    least = [p for g in bounded if (p := significance.p_value(g)) < 1]
    sure = plain_rejected(known, tested)
    most = plain_rejected(known + least, tested)
    assert significance.correct(exact, np.array(bounded), tested) == significance.Correction(
        tested, sure, most
    )
    assert significance.rejected(known, tested) == sure
    assert significance.correct([], [], 10) == significance.Correction(10, 0, 0)


def plain_group(phrases):
    """Forms of one idea: linked when they share a word and same_idea."""
    found = list(phrases)
    parent = list(range(len(found)))

    def root(i):
        while parent[i] != i:
            i = parent[i]
        return i

    for i, a in enumerate(found):
        for j in range(i):
            b = found[j]
            if set(a.terms) & set(b.terms) and ideas.same_idea(a, b):
                parent[root(i)] = root(j)
    groups = {}
    for i, f in enumerate(found):
        groups.setdefault(root(i), []).append(f.terms)
    return sorted(sorted(g) for g in groups.values())


@pytest.mark.parametrize("seed", range(4))
def test_ideas_grouped_round_after_round_are_those_grouped_at_once(seed):
    rng = random.Random(seed)
    everyone = (1 << 60) - 1
    found = {}
    for gram in random_grams(rng, 200):
        if len(gram) < 2 or gram in found:
            continue
        bits = everyone & rng.getrandbits(60) | (1 << rng.randint(0, 59))
        if rng.random() < 0.5:
            bits = (1 << rng.randint(8, 40)) - 1
        # Documents far into the index, from a place the later ones may be below.
        bits <<= rng.choice((0, 3, 500, 2000))
        found[gram] = SimpleNamespace(
            terms=gram, subset=bits.bit_count(), bits=bits, score=float(rng.randint(0, 3))
        )
    findings = list(found.values())
    links = ideas.Links()
    shown = 0
    while shown < len(findings):
        shown = min(len(findings), shown + rng.randint(1, 40))
        some = findings[:shown]
        rng.shuffle(some)
        groups = ideas.group(some, links)
        assert sorted(sorted(f.terms for f in g) for g in groups) == plain_group(some)
        assert [[f.terms for f in g] for g in groups] == [
            [f.terms for f in g] for g in ideas.group(some)
        ]
    # Given others than those of the last call and more, it starts again.
    fewer = findings[: len(findings) // 2]
    assert sorted(sorted(f.terms for f in g) for g in ideas.group(fewer, links)) == plain_group(
        fewer
    )
