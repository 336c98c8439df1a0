"""A segment's sequences of wanted pairs, read from its sequence table in
arrays (kb.themes.sequences._segment), are exactly those found by walking
every section: whatever the size of the term numbers and of the codes
(32 or 64 bits, a dense or a hashed lookup of pairs), however many values
share a slot of the hash tables that make them distinct, and in one thread
or several."""

import random

import numpy as np
import pytest

from kb.search import sequences
from kb.themes import sequences as said_sequences
from kb.themes.sequences import _distinct, _Gathered, _segment


def _table(tmp_path, rows):
    path = tmp_path / "MAIN_test.kb_sequences_sections"
    sequences.write(path, len(rows), rows)
    return sequences.Table(path)


def _walked(rows, local, wanted, place_of):
    """Every sequence of two to four words within a section whose adjacent
    pairs are all wanted, as places."""
    found = set()
    for doc in local.tolist():
        for section in rows[doc]:
            for n in (2, 3, 4):
                for i in range(len(section) - n + 1):
                    gram = section[i : i + n]
                    if all(pair in wanted for pair in zip(gram, gram[1:])):  # noqa: B905
                        found.add(tuple(place_of[t] for t in gram))
    return found


def _case(rng, count, words, docs, pairs):
    """Documents of sections drawn from `words` of `count` terms (with a
    few terms the segment lacks), and the wanted pairs among them."""
    vocabulary = rng.sample(range(count), words)
    rows = []
    for _ in range(docs):
        sections = []
        for _ in range(rng.randint(0, 4)):
            section = [rng.choice(vocabulary) for _ in range(rng.randint(0, 12))]
            if section and rng.random() < 0.1:
                section[rng.randrange(len(section))] = sequences.MISSING
            sections.append(section)
        rows.append(sections)
    said = {p for doc in rows for s in doc for p in zip(s, s[1:]) if min(p) >= 0}  # noqa: B905
    wanted = set(rng.sample(sorted(said), min(pairs, len(said))))
    # Wanted pairs of words the segment lacks, too.
    wanted |= {(count + 5, vocabulary[0]), (vocabulary[1], count + 7)}
    return rows, wanted


def _ask(wanted, count):
    """_segment's arguments for these wanted pairs: the pairs' words in an
    order of their own, each word's term number in the segment (-1 when it
    lacks it), the pairs as places of words."""
    words = sorted({t for pair in wanted for t in pair}, key=lambda t: (t * 7919) % 104729)
    place = {t: i for i, t in enumerate(words)}
    numbers = np.array([t if t < count else -1 for t in words], np.int64)
    places = np.array([(place[a], place[b]) for a, b in sorted(wanted)], np.int64)
    return numbers, places, place


@pytest.mark.parametrize(
    "count, words, docs, pairs",
    [
        (60, 25, 120, 150),  # dense lookup, 32-bit codes
        (5_000, 40, 150, 300),  # hashed lookup of pairs
        (50_000, 40, 150, 300),  # 64-bit pair codes
    ],
)
@pytest.mark.parametrize("threads", [1, 3])
@pytest.mark.parametrize("bits", [2, 18])
def test_segment_finds_every_sequence_of_wanted_pairs(
    tmp_path, monkeypatch, count, words, docs, pairs, threads, bits
):
    rng = random.Random(count + threads + bits)
    rows, wanted = _case(rng, count, words, docs, pairs)
    table = _table(tmp_path, rows)
    numbers, places, place = _ask(wanted, count)
    # Small chunks, so that the documents are read in several, and by
    # several threads; small hash tables, so that many values share a slot.
    monkeypatch.setattr(sequences, "CHUNK", 16)
    monkeypatch.setattr(_Gathered, "BITS", bits)
    local = np.array(sorted(rng.sample(range(docs), docs * 3 // 4)), np.int64)
    found = _segment(table, local, count, numbers, places, threads)
    expected = _walked(rows, local, wanted, place)
    got = [tuple(r) for part in found for r in part.tolist()]
    assert len(got) == len(set(got))
    assert set(got) == expected
    assert {len(g) for g in expected} == {2, 3, 4}
    assert [part.shape[1] for part in found] == [2, 3, 4]


def test_segment_of_wide_codes(tmp_path, monkeypatch):
    """More wanted pairs than a 32-bit code of two of them holds."""
    rng = random.Random(3)
    count = 400
    rows = [
        [[rng.randrange(count) for _ in range(rng.randint(2, 30))] for _ in range(3)]
        for _ in range(300)
    ]
    said = {p for doc in rows for s in doc for p in zip(s, s[1:])}  # noqa: B905
    # Every pair of the words said is wanted: 160,000 of them.
    wanted = {(a, b) for a in range(count) for b in range(count)}
    assert len(wanted) ** 2 >= 1 << 31 and said <= wanted
    table = _table(tmp_path, rows)
    numbers, places, place = _ask(wanted, count)
    monkeypatch.setattr(sequences, "CHUNK", 64)
    local = np.arange(len(rows), dtype=np.int64)
    found = _segment(table, local, count, numbers, places, 2)
    expected = _walked(rows, local, wanted, place)
    got = [tuple(r) for part in found for r in part.tolist()]
    assert len(got) == len(set(got)) and set(got) == expected


def test_segment_of_no_documents_or_no_known_pair(tmp_path):
    table = _table(tmp_path, [[[1, 2, 3]], [[3, 2, 1]]])
    numbers = np.array([1, 2, -1], np.int64)
    places = np.array([[0, 1], [1, 2]], np.int64)
    none = _segment(table, np.zeros(0, np.int64), 4, numbers, places, 2)
    assert [p.shape for p in none] == [(0, 2), (0, 3), (0, 4)]
    found = _segment(table, np.array([0, 1]), 4, numbers, places, 2)
    assert [p.tolist() for p in found] == [[[0, 1]], [], []]
    lacking = _segment(table, np.array([0, 1]), 4, np.array([-1, -1, -1]), places, 2)
    assert [p.shape for p in lacking] == [(0, 2), (0, 3), (0, 4)]


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
@pytest.mark.parametrize("bits", [1, 3, 18])
def test_gathered_values_are_the_distinct_values(dtype, bits, monkeypatch):
    monkeypatch.setattr(_Gathered, "BITS", bits)
    rng = np.random.default_rng(bits)
    top = np.iinfo(dtype).max
    parts = [
        rng.integers(0, 50, 1000),
        rng.integers(0, top, 300, dtype=np.int64),
        np.zeros(0, np.int64),
        rng.integers(0, 5000, 20000),
        np.array([0, top, top, 0]),
    ]
    gathered = _Gathered(10**6, dtype)
    for part in parts:
        gathered.add(part.astype(dtype))
    values = gathered.values()
    assert values.dtype == dtype
    assert np.array_equal(np.sort(values), _distinct(np.concatenate(parts)))


def test_threads_are_at_most_the_cpus():
    import os

    assert 1 <= said_sequences.THREADS <= (os.cpu_count() or 1)


@pytest.mark.parametrize("bits", [2, 18])
def test_counted_values_are_the_distinct_values_with_their_counts(bits, monkeypatch):
    monkeypatch.setattr(_Gathered, "BITS", bits)
    rng = np.random.default_rng(bits)
    for values in (
        rng.integers(0, 300, 20000),
        rng.integers(0, 1 << 60, 500),
        np.zeros(0, np.int64),
        np.array([7]),
    ):
        distinct, counts = said_sequences._counted(values)
        expected, times = np.unique(values, return_counts=True)
        assert np.array_equal(distinct, expected) and np.array_equal(counts, times)


class _Terms:
    def __init__(self, numbers):
        self.numbers = numbers

    def lookup(self, words, hashed=None):
        return np.array([self.numbers.get(w, -1) for w in words], np.int64)


def test_in_names_codes_grams_as_a_word_by_word_count_would():
    """Grams of one to four words named; longer ones, and ones with a word
    no name has, are in none."""
    rng = random.Random(5)
    vocabulary = np.array([3, 8, 9, 20, 41], np.int64)
    base = vocabulary.size + 1
    names = ["a", "b", "c", "d", "e"]
    numbers = dict(zip(names, vocabulary.tolist(), strict=True))
    numbers["f"] = 50  # a term of the segment that no name has
    named = {}
    for _ in range(300):
        gram = tuple(rng.choice(names) for _ in range(rng.randint(1, 4)))
        code = 0
        for t in gram:
            code = code * base + names.index(t) + 1
        named[code] = rng.randint(1, 9)
    codes = np.array(sorted(named), np.int64)
    counts = np.array([named[c] for c in codes.tolist()], np.int64)
    said = said_sequences.Said.__new__(said_sequences.Said)
    said._parts = [(None, None, _Terms(numbers), None)] * 2
    said._named = [(vocabulary, codes, counts)] * 2
    grams = [
        tuple(rng.choice([*names, "f", "g"]) for _ in range(rng.randint(1, 6))) for _ in range(2000)
    ]
    grams += [("a", "b", "c", "d", "e"), ()]

    def expected(gram):
        if len(gram) > 4 or not gram or any(t not in names for t in gram):
            return 0
        code = 0
        for t in gram:
            code = code * base + names.index(t) + 1
        return 2 * named.get(code, 0)

    found = said.in_names(grams)
    assert found == [expected(g) for g in grams]
    assert sum(found) > 0
