"""Sorting and ranges read a segment's amounts and dates from a file beside
the segment, written by the first process that needs it and mapped by every
other one (the web workers of a machine share it). Another worker, starting
with nothing in memory, gets the same answers from the file; a damaged file
is written again; and the files go with their segment when it is merged
away."""

from kb import search
from kb.search import docsets, indexer
from kb.themes import engine
from kb.themes.tallies import PAIRS, TEXT, Tally


def forget_this_process():
    """What a freshly started worker has: nothing decoded in memory."""
    with docsets._segments_lock:
        docsets._segments.clear()
    with docsets._commits_lock:
        docsets._commits.clear()


def shared_files(index) -> list:
    return sorted(index.folder.current().glob("*.kb_*"))


def by_amount(user) -> list[int]:
    return [hit.debrief.deal.amount for hit in search.search(user, {"sort": "amount"}).hits]


def test_another_worker_sorts_and_filters_from_the_shared_files(app, users, make_debrief):
    index = app.extensions["kb_search"]
    for amount in (20_000, 90_000, 48_000):
        make_debrief(users.rep, deal={"name": f"Deal {amount}", "amount": amount})
    assert by_amount(users.manager) == [90_000, 48_000, 20_000]
    over = search.search(users.manager, {"q": "amount:[30k TO]", "sort": "amount"})
    assert [hit.debrief.deal.amount for hit in over.hits] == [90_000, 48_000]
    written = {path.name: path.stat().st_mtime_ns for path in shared_files(index)}
    assert {name.split(".")[1] for name in written} >= {"kb_column_amount", "kb_sorted_amount"}

    index.forget_view()
    forget_this_process()
    assert by_amount(users.manager) == [90_000, 48_000, 20_000]
    over = search.search(users.manager, {"q": "amount:[30k TO]", "sort": "amount"})
    assert [hit.debrief.deal.amount for hit in over.hits] == [90_000, 48_000]
    # Read, not written again.
    assert {path.name: path.stat().st_mtime_ns for path in shared_files(index)} == written


def test_a_damaged_shared_file_is_written_again(app, users, make_debrief):
    index = app.extensions["kb_search"]
    for amount in (5_000, 70_000):
        make_debrief(users.rep, deal={"name": f"Deal {amount}", "amount": amount})
    assert by_amount(users.manager) == [70_000, 5_000]
    assert shared_files(index)
    for path in shared_files(index):
        path.write_bytes(b"\x01\x02\x03")  # cut short

    index.forget_view()
    forget_this_process()
    assert by_amount(users.manager) == [70_000, 5_000]
    # Discovery's term tables (beside the same segments) are written again
    # when it next counts, and count what search finds.
    snap = engine.snapshot()
    tally = Tally(snap.view, snap.population)
    for field in (TEXT, PAIRS):
        term = sorted(snap.view.lexicon(field))[0]
        expected = snap.view.docs(field, term) & snap.population
        assert tally.count(field, term) == expected.bit_count() > 0
    assert shared_files(index) and all(path.stat().st_size > 3 for path in shared_files(index))


def test_the_files_of_a_merged_segment_are_removed_with_it(app, users, make_debrief):
    index = app.extensions["kb_search"]
    seen = set()
    for n in range(indexer.MERGE_WIDTH + 2):
        make_debrief(users.rep, deal={"name": f"Deal {n}", "amount": 1_000 * (n + 1)})
        assert by_amount(users.manager)[-1] == 1_000  # each segment gets its files
        seen |= {path.name.split(".")[0] for path in shared_files(index)}
    index.merge_segments()
    assert by_amount(users.manager)[0] == 1_000 * (indexer.MERGE_WIDTH + 2)

    ix = indexer.open_generation(index.folder.current())
    try:
        segments = {segment.segment_id() for segment in ix._segments()}
    finally:
        ix.close()
    left = {path.name.split(".")[0] for path in shared_files(index)}
    assert left <= segments
    assert seen - segments  # some segments were merged away, and their files with them
