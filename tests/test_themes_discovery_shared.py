"""The emerging pass of a subset with a period, compared with the previous
period, starts its bounds from the main pass's numbering of the same
candidates (the same two sets, the same counts): bounds started so behave
exactly as bounds numbered afresh, and the discovery finds the same."""

import random
from datetime import date, timedelta
from types import SimpleNamespace

import numpy as np

from kb.themes import discovery

WORDS = ["a", "ab", "b", "ba", "c", "deal", "late", "price", "z"]
ANCHOR = date(2026, 6, 30)


def random_grams(rng: random.Random, count: int) -> list[tuple[str, ...]]:
    return [tuple(rng.choice(WORDS) for _ in range(rng.randint(1, 4))) for _ in range(count)]


def fake_tally(size: int, salt: int):
    def counts(kind, terms):
        return [(sum(map(ord, term)) * 7 + salt + len(kind)) % size for term in terms]

    return SimpleNamespace(size=size, counts=counts)


def bounds_for(monkeypatch, candidates, numbered=None) -> discovery._Bounds:
    frequencies = SimpleNamespace(phrase=lambda gram: 50)
    monkeypatch.setattr(discovery.postings, "frequencies", lambda snap: frequencies)
    snap = SimpleNamespace(view=SimpleNamespace(size=1000))
    subset = SimpleNamespace(size=100, whole=True, tally=fake_tally(100, 3))
    rest = fake_tally(500, 11)
    return discovery._Bounds(snap, subset, 500, 1, 3.84, list(candidates), rest, numbered)


def state(bounds: discovery._Bounds) -> dict:
    n = bounds._size
    found = {name: getattr(bounds, name)[:n].tolist() for name in bounds._ARRAYS}
    found.update(
        ids=dict(bounds.ids),
        grams=list(bounds.grams),
        word_ids=dict(bounds._word_ids),
        keys={k: (a.tolist(), b.tolist()) for k, (a, b) in bounds._keys.items()},
        size=n,
        done=bounds._done,
    )
    return found


def test_bounds_started_from_a_numbering_behave_as_bounds_numbered_afresh(monkeypatch):
    rng = random.Random(3)
    candidates = list(dict.fromkeys(random_grams(rng, 400)))
    first = bounds_for(monkeypatch, candidates)
    numbered = first.numbering()
    # The first bounds go on (learning counts) without touching the copy.
    first.learn_all(candidates[:50], [1] * 50)
    first.prepare(random_grams(rng, 100))
    fresh = bounds_for(monkeypatch, candidates)
    started = bounds_for(monkeypatch, candidates, numbered)
    assert state(started) == state(fresh)
    for _ in range(5):
        grams = random_grams(rng, rng.randint(0, 150))
        counts = [rng.randint(0, 100) for _ in grams[:20]]
        for bounds in (fresh, started):
            bounds.prepare(grams)
            bounds.learn_all(grams[:20], counts)
        assert np.array_equal(fresh.numbers(grams), started.numbers(grams))
        assert fresh.scores(grams) == started.scores(grams)
        assert (
            fresh.reaching_mask(grams, 3, 3.84).tolist()
            == started.reaching_mask(grams, 3, 3.84).tolist()
        )
        assert state(started) == state(fresh)


def test_no_numbering_once_a_count_is_learnt_or_without_tables(monkeypatch):
    rng = random.Random(4)
    candidates = list(dict.fromkeys(random_grams(rng, 100)))
    bounds = bounds_for(monkeypatch, candidates)
    bounds.learn_all(candidates[:1], [1])
    assert bounds.numbering() is None
    assert bounds_for(monkeypatch, candidates).numbering() is not None
    plain = discovery._Bounds(
        SimpleNamespace(view=SimpleNamespace(size=1000)),
        SimpleNamespace(size=100, whole=False, tally=None),
        500,
        1,
        3.84,
        candidates,
    )
    assert plain.numbering() is None


def _rows(found) -> dict:
    def row(f):
        return (
            f.terms,
            f.phrase,
            round(f.score, 9),
            f.subset,
            f.background,
            f.rest,
            [v.phrase for v in f.variants or []],
            [e.debrief_id for e in f.examples or []],
            f.exploratory,
        )

    return {
        "words": [row(f) for f in found.words],
        "phrases": [row(f) for f in found.phrases],
        "emerging": [row(f) for f in found.emerging],
        "correction": repr(found.correction),
        "emerging_correction": repr(found.emerging_correction),
    }


def test_the_emerging_pass_sharing_the_numbering_finds_what_it_finds_alone(app, monkeypatch):
    from kb import search
    from kb.demo.generator import generate
    from kb.extensions import db
    from kb.themes import engine
    from kb.themes.terms import TermCache

    generate(600, seed=7, echo=None, anchor=ANCHOR)
    search.reindex()
    db.session.commit()
    app.config["KB_THEME_CACHE"] = False
    snap = engine.snapshot()
    filters = {"date_from": (ANCHOR - timedelta(days=200)).isoformat()}

    def discover():
        return discovery.discover(
            snap, TermCache(), "", filters, "previous", 1, today=ANCHOR, sample=60
        )

    adopted = []
    adopt = discovery._Bounds._adopt

    def spy(self, numbered):
        adopted.append(numbered["size"])
        adopt(self, numbered)

    monkeypatch.setattr(discovery._Bounds, "_adopt", spy)
    shared = discover()
    assert len(adopted) == 1 and adopted[0] > 0
    monkeypatch.setattr(discovery._Bounds, "numbering", lambda self: None)
    alone = discover()
    assert len(adopted) == 1
    assert shared.emerging and shared.phrases
    assert _rows(shared) == _rows(alone)


def test_the_emerging_guesses_from_the_counts_the_bounds_read_are_those_read_again(monkeypatch):
    rng = random.Random(6)
    candidates = list(dict.fromkeys(random_grams(rng, 300)))
    bounds = bounds_for(monkeypatch, candidates)
    now = SimpleNamespace(
        tally=bounds.tally,
        size=bounds.subset.size,
        counts={g: rng.randint(0, 9) for g in candidates if rng.random() < 0.5},
        scale=1.5,
    )
    at = bounds.numbers(candidates)
    read = discovery._changes(now, bounds.rest, 500, candidates, at, bounds)
    # Another tally with the same counts: read from it again.
    again = SimpleNamespace(size=bounds.rest.size, counts=bounds.rest.counts)
    asked = discovery._changes(now, again, 500, candidates, at, bounds)
    assert read.tolist() == asked.tolist()
