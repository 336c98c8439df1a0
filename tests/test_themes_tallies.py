"""The per-segment term tables discovery counts on: every word's and pair's
count over a set of debriefs equals what a search for it finds there, for
segments written by the bulk builder and by the incremental writer alike,
without drafts or deleted debriefs; and tables written with a segment equal
those read back from its postings."""

import numpy as np

from kb import search
from kb.search import termtable
from kb.search.analysis import PAIR_SEPARATOR
from kb.themes import engine
from kb.themes.tallies import PAIRS, TEXT, Tally, make_own

REASON = {"category": "price.total-cost", "direction": "hurt", "primary": True}
PLAIN = {"reasons": [REASON], "quotes": [], "decision_process": "", "what_worked": ""}


def _file(users, make_debrief, n: int, status: str = "submitted", text: str = "") -> None:
    for i in range(n):
        make_debrief(
            users.rep,
            status=status,
            deal={"name": f"Deal {status} {i}", "competitors": [], "winner": None},
            competitive_notes=text or f"Onboarding was slow; the sandbox pilot {i % 3} stalled.",
            lessons_learned="Pricing felt high and support was slow.",
            **PLAIN,
        )


def _check(snap) -> None:
    # The whole population (read through a mask of the table) and one
    # debrief of it (its row gathered).
    _check_set(snap, snap.population)
    _check_set(snap, snap.population & -snap.population)


def _check_set(snap, bits: int) -> None:
    tally = Tally(snap.view, bits)
    assert tally.available()
    words = sorted(snap.view.lexicon("text"))
    pairs = sorted(snap.view.lexicon("pairs"))
    assert words and pairs
    for field, terms in ((TEXT, words), (PAIRS, pairs)):
        counts = tally.counts(field, terms)
        docs = tally.docs(field, terms)
        for term, count, found in zip(terms, counts, docs, strict=True):
            expected = snap.view.docs(field, term) & bits
            assert (count, found) == (expected.bit_count(), expected), (field, term)
    frequent = tally.frequent(PAIRS, 1)
    assert frequent == {
        p: c for p, c in zip(pairs, tally.counts(PAIRS, pairs), strict=True) if c >= 1
    }
    gram = ("sandbox", "pilot", "stall")
    (found,) = tally.phrase_docs([gram])
    assert found == snap.phrase_bits(gram) & bits
    # Counted many at once on the set's own bitmaps, as a search counts them.
    phrases = [
        gram,
        ("sandbox", "pilot"),
        ("slow", "sandbox", "pilot", "stall"),
        ("pilot", "stall", "nowhere-to-be-found"),
        ("indemn", "claus", "stall"),
    ]
    assert tally.phrase_counts(phrases).tolist() == [
        (snap.phrase_bits(g) & bits).bit_count() for g in phrases
    ]
    assert tally.counts(TEXT, ["nowhere-to-be-found"]) == [0]


def test_counts_equal_search_for_bulk_and_incremental_segments(app, users, make_debrief):
    _file(users, make_debrief, 12)
    _file(users, make_debrief, 5, status="draft")
    search.reindex()  # one bulk-built segment, its tables written with it
    folder = engine.index_folder()
    assert list(folder.rglob("*.kb_terms_text")) and list(folder.rglob("*.kb_terms_pairs"))
    _check(engine.snapshot())

    # New segments from the incremental writer: tables read from postings on first use.
    _file(users, make_debrief, 4, text="Legal review of the indemnity clause stalled.")
    _check(engine.snapshot())


def test_deleted_debriefs_are_not_counted(app, users, make_debrief):
    _file(users, make_debrief, 6)
    search.reindex()
    snap = engine.snapshot()
    before = Tally(snap.view, snap.population).count(TEXT, "onboard")
    assert before == 6
    from kb.debriefs import service
    from kb.extensions import db
    from kb.models import Debrief

    victim = db.session.scalars(db.select(Debrief).limit(1)).one()
    service.delete_debrief(users.admin, victim)
    search.catch_up()
    snap = engine.snapshot()
    # The deleted debrief's row stays in the bulk-built segment's table.
    assert any(reader.has_deletions() for _, reader, _ in snap.view.leaves)
    after = Tally(snap.view, snap.population)
    assert after.count(TEXT, "onboard") == 5
    assert after.docs(TEXT, ["onboard"]) == [snap.view.docs(TEXT, "onboard") & snap.population]


def test_a_table_written_with_the_segment_equals_one_read_from_its_postings(
    app, users, make_debrief, tmp_path
):
    _file(users, make_debrief, 9)
    _file(users, make_debrief, 3, status="draft")
    search.reindex()
    snap = engine.snapshot()
    for data, reader, _ in snap.view.leaves:
        for field in termtable.FIELDS:
            written = data.term_table(reader, field)
            terms, term_ids, docs = termtable.from_reader(reader, field, data.size)
            path = tmp_path / f"read.{field}"
            termtable.write(path, data.size, terms, term_ids, docs)
            read = termtable.Table(path)
            assert written.size == read.size and written.terms == read.terms
            assert np.array_equal(written.offsets, read.offsets)
            assert np.array_equal(written.entries, read.entries)
            assert written.terms_of(range(written.terms)) == read.terms_of(range(read.terms))
            some = read.terms_of(range(0, read.terms, 3))
            assert list(written.lookup(some)) == list(range(0, read.terms, 3))
            assert all(PAIR_SEPARATOR in t for t in some) == (field == PAIRS)


def test_sets_counted_together_count_as_a_search_does(app, users, make_debrief):
    """Two sets of one index (one of them a single debrief, the other the
    rest) have their phrases counted from one read of the tables, and each
    finding's debriefs are what a quoted search finds in that set."""
    _file(users, make_debrief, 10)
    search.reindex()
    _file(users, make_debrief, 3, text="Legal review of the indemnity clause stalled.")
    snap = engine.snapshot()
    one = snap.population & -snap.population
    sets = [Tally(snap.view, one), Tally(snap.view, snap.population & ~one)]
    pairs = sorted(snap.view.lexicon("pairs"))
    make_own(sets, pairs, PAIRS)
    phrases = [
        ("sandbox", "pilot", "stall"),
        ("indemn", "claus", "stall"),
        ("slow", "sandbox", "pilot", "stall"),
        ("sandbox", "pilot", "1"),
        ("pilot", "2", "stall"),
        ("onboard",),
        ("legal",),
    ]
    for tally, bits in zip(sets, (one, snap.population & ~one), strict=True):
        assert tally.phrase_docs(phrases) == [snap.phrase_bits(g) & bits for g in phrases]
        longer = [g for g in phrases if len(g) > 2]
        assert tally.phrase_counts(longer).tolist() == [
            (snap.phrase_bits(g) & bits).bit_count() for g in longer
        ]
    assert sets[1].phrase_counts([("indemn", "claus", "stall")]).tolist() == [3]
