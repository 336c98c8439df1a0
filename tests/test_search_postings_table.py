"""The per-segment postings tables (a term table turned around) discovery
reads its pairs' documents from: each term's documents are those of the
rows holding it; a table is written once (by one thread, however many ask
at once), mapped as it is by a new process, written again when damaged,
and removed with its segment when merged away; and bitmaps made from it
equal those made from the term table, deleted debriefs left out."""

import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from kb import search
from kb.search import indexer, postings_table, segment_tables, termtable
from kb.themes import engine, tallies
from kb.themes.tallies import PAIRS, TEXT, Tally, make_own


def forward(tmp_path, seed: int, size: int, terms: int, density: float) -> termtable.Table:
    """A term table of random rows (some empty, some terms in no row)."""
    rng = np.random.default_rng(seed)
    held = rng.random((terms, size)) < density * rng.random((terms, 1))
    term_ids, docs = np.nonzero(held)  # by term, then document
    names = [f"term{n:05d}".encode() for n in range(terms)]
    path = termtable.path_of(tmp_path, f"MAIN_s{seed}", "pairs")
    termtable.write(path, size, names, term_ids, docs)
    return termtable.Table(path)


@pytest.mark.parametrize(
    ("seed", "size", "terms", "density", "chunk"),
    [(1, 1, 1, 1.0, 8192), (2, 300, 50, 0.3, 7), (3, 5000, 400, 0.05, 1000), (4, 40, 30, 0.0, 8)],
)
def test_each_terms_documents_are_the_rows_holding_it(
    tmp_path, monkeypatch, seed, size, terms, density, chunk
):
    monkeypatch.setattr(postings_table, "CHUNK", chunk)
    table = forward(tmp_path, seed, size, terms, density)
    path = postings_table.path_of(tmp_path, f"MAIN_s{seed}", "pairs")
    postings_table.write(path, table)
    found = postings_table.Table(path)
    assert (found.size, found.terms, found.total) == (size, terms, table.entries.size)
    docs_of = np.repeat(np.arange(size), np.diff(table.offsets))
    for term in range(terms):
        expected = np.sort(docs_of[table.entries == term])
        assert (
            found.docs[found.offsets[term] : found.offsets[term + 1]].tolist() == expected.tolist()
        )
    # Asked for some terms (none, repeated, or missing: -1): each one's
    # documents ascending, in the order asked.
    rng = np.random.default_rng(seed)
    numbers = rng.integers(-1, terms, 25)
    slots, docs = found.postings(numbers)
    expected_slots, expected_docs = [], []
    for slot, term in enumerate(numbers.tolist()):
        if term >= 0:
            held = np.sort(docs_of[table.entries == term])
            expected_slots += [slot] * held.size
            expected_docs += held.tolist()
    assert slots.tolist() == expected_slots and docs.tolist() == expected_docs
    assert found.lengths(numbers).tolist() == [
        int((table.entries == t).sum()) if t >= 0 else 0 for t in numbers.tolist()
    ]
    # As a term table's own postings of every document (distinct terms).
    distinct = np.unique(numbers)
    by_rows = table.postings(np.arange(size), distinct)
    order = np.lexsort((by_rows[1], by_rows[0]))
    slots, docs = found.postings(distinct)
    assert by_rows[0][order].tolist() == slots.tolist()
    assert by_rows[1][order].tolist() == docs.tolist()


def test_written_once_by_one_of_the_threads_asking_at_once(tmp_path, monkeypatch):
    table = forward(tmp_path, 5, 2000, 100, 0.1)
    writes = []
    write = postings_table.write

    def counted(path, terms):
        writes.append(path)
        write(path, terms)

    monkeypatch.setattr(postings_table, "write", counted)
    monkeypatch.setattr(postings_table._kept, "_tables", {})
    found = []
    threads = [
        threading.Thread(
            target=lambda: found.append(postings_table.table(tmp_path, "MAIN_s5", "pairs", table))
        )
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(writes) == 1 and len({id(t) for t in found}) == 1 and found[0] is not None
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(segment_tables.PARTIAL)]
    assert postings_table.table(None, "MAIN_s5", "pairs", table) is None


NEW_PROCESS = """
import sys
from pathlib import Path
from kb.search import postings_table, termtable

def fail(*args):
    raise AssertionError("written again")

postings_table.write = fail
folder = Path(sys.argv[1])
terms = termtable.Table(termtable.path_of(folder, "MAIN_s6", "pairs"))
found = postings_table.table(folder, "MAIN_s6", "pairs", terms)
print(found.docs.sum(), found.offsets[-1])
"""


def test_a_new_process_maps_the_table_written_and_a_damaged_one_is_written_again(
    tmp_path, monkeypatch
):
    table = forward(tmp_path, 6, 3000, 80, 0.2)
    monkeypatch.setattr(postings_table._kept, "_tables", {})
    found = postings_table.table(tmp_path, "MAIN_s6", "pairs", table)
    path = postings_table.path_of(tmp_path, "MAIN_s6", "pairs")
    written = path.stat().st_mtime_ns, path.stat().st_ino
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    out = subprocess.run(  # noqa: S603  (this very program)
        [sys.executable, "-c", NEW_PROCESS, str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert out.stdout.split() == [str(found.docs.sum()), str(found.offsets[-1])]
    assert (path.stat().st_mtime_ns, path.stat().st_ino) == written

    expected = found.docs.copy(), found.offsets.copy()
    del found
    path.write_bytes(path.read_bytes()[:-8])  # cut short
    monkeypatch.setattr(postings_table._kept, "_tables", {})
    again = postings_table.table(tmp_path, "MAIN_s6", "pairs", table)
    assert np.array_equal(again.docs, expected[0]) and np.array_equal(again.offsets, expected[1])


def _bitmaps(tally: Tally, field: str, terms: list[str]) -> np.ndarray:
    make_own([tally], terms, field)
    return tally._own_bitmaps(terms, field)


def _debriefs(users, make_debrief, n: int, text: str) -> None:
    for i in range(n):
        make_debrief(
            users.rep,
            deal={"name": f"Deal {text[:5]} {i}", "competitors": [], "winner": None},
            competitive_notes=f"{text} {i % 4}",
        )


def test_bitmaps_from_the_postings_equal_those_from_the_rows(app, users, make_debrief, monkeypatch):
    """Sets large and small, after a debrief is deleted: a set's bitmaps
    made from the postings tables are those made from the term tables, and
    count phrases as a search does."""
    _debriefs(users, make_debrief, 14, "Onboarding was slow; the sandbox pilot stalled")
    search.reindex()
    _debriefs(users, make_debrief, 5, "Legal review of the sandbox pilot stalled")
    from kb.debriefs import service
    from kb.extensions import db
    from kb.models import Debrief

    victim = db.session.scalars(db.select(Debrief).limit(1)).one()
    service.delete_debrief(users.admin, victim)
    search.catch_up()
    snap = engine.snapshot()
    assert any(reader.has_deletions() for _, reader, _ in snap.view.leaves)
    one = snap.population & -snap.population
    sets = [snap.population, one, snap.population & ~one, snap.population & 0x5555_5555_5555]
    for field in (TEXT, PAIRS):
        terms = sorted(snap.view.lexicon(field))
        for bits in sets:
            with monkeypatch.context() as patched:
                patched.setattr(tallies, "BY_TERM", float("inf"))  # every set from the postings
                read = _bitmaps(Tally(snap.view, bits), field, terms)
            with monkeypatch.context() as patched:
                patched.setattr(postings_table, "table", lambda *args: None)
                rows = _bitmaps(Tally(snap.view, bits), field, terms)
            assert np.array_equal(read, rows), (field, bits)
    phrases = [("sandbox", "pilot", "stall"), ("legal", "review"), ("slow", "sandbox", "pilot")]
    for bits in sets:
        with monkeypatch.context() as patched:
            patched.setattr(tallies, "BY_TERM", float("inf"))
            counts = Tally(snap.view, bits).phrase_counts(phrases).tolist()
        assert counts == [(snap.phrase_bits(g) & bits).bit_count() for g in phrases]
    folder = engine.index_folder()
    assert list(folder.rglob("*.kb_postings_pairs")) and list(folder.rglob("*.kb_postings_text"))


def test_the_tables_of_a_merged_segment_go_with_it(app, users, make_debrief):
    """Small segments are merged as debriefs come (each its own segment
    first): the merged segments' tables are removed with them, and counts
    read from the merged segment's new tables."""
    index = app.extensions["kb_search"]
    phrase = ("sandbox", "pilot", "stall")
    seen = set()
    for n in range(indexer.MERGE_WIDTH + 2):
        _debriefs(users, make_debrief, 1, f"The sandbox pilot stalled again {n}")
        search.catch_up()
        snap = engine.snapshot()
        assert Tally(snap.view, snap.population).phrase_counts([phrase]).tolist() == [n + 1]
        seen |= {p.name.split(".")[0] for p in index.folder.current().glob("*.kb_postings_*")}
    index.merge_segments()
    snap = engine.snapshot()
    tally = Tally(snap.view, snap.population)
    assert tally.phrase_counts([phrase]).tolist() == [indexer.MERGE_WIDTH + 2]
    segments = {data.segment_id for data, _, _ in snap.view.leaves}
    left = {p.name.split(".")[0] for p in index.folder.current().glob("*.kb_postings_*")}
    assert left <= segments and seen - segments  # merged away, their tables with them
    # This process no longer maps the tables of the segments merged away.
    assert {p.name.split(".")[0] for p in postings_table._kept.paths()} <= segments
    assert tallies.postings_table is postings_table
