"""Index files are let go of as soon as nothing reads them: after many
writes (each applied, merged when due, and searched) the process holds open
or mapped only the segments of the index its searcher reads, even with the
garbage collector off (old readers used to wait for a full collection)."""

import gc
import os
from pathlib import Path

import pytest

from kb import search
from kb.search import indexer


def index_files_held(folder: Path) -> tuple[set[str], set[str]]:
    """(files under `folder` open as descriptors, files under it memory-mapped),
    deleted ones marked " (deleted)"."""
    root = str(folder.resolve())
    opened = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(root) and not target.endswith(".lock"):
            opened.add(target)
    mapped = {
        line.split(None, 5)[-1]
        for line in Path("/proc/self/maps").read_text().splitlines()
        if root in line
    }
    return opened, mapped


@pytest.fixture
def no_garbage_collection():
    gc.collect()
    gc.disable()
    yield
    gc.enable()


def test_many_writes_leave_only_the_current_segments_open(
    app, users, make_debrief, no_garbage_collection
):
    index = app.extensions["kb_search"]
    filed = []
    for n in range(indexer.MERGE_WIDTH * 3):  # several merges
        filed.append(make_debrief(users.rep, quotes=[{"text": f"Echidna remark {n}."}]).id)
        assert search.search(users.rep, {"q": "echidna"}).total == len(filed)

    generation = index.folder.current()
    current = {str(p.resolve()) for p in generation.glob("*.seg")}
    opened, mapped = index_files_held(index.folder.root)
    assert not [f for f in opened | mapped if f.endswith(" (deleted)")]
    assert opened <= current and mapped <= current
    assert len(mapped) <= len(current)


def test_a_search_racing_a_commit_opens_the_next_commit(app, users, make_debrief, monkeypatch):
    """The indexer may remove the table of contents a search is about to
    read; the search opens the newer one instead of saying the index is
    being built."""
    make_debrief(users.rep, quotes=[{"text": "A wallaby remark."}])
    index = app.extensions["kb_search"]
    index.forget_view()
    opened = []
    real = indexer.open_generation

    def racing(path):
        opened.append(path)
        if len(opened) == 1:
            raise FileNotFoundError(2, "No such file or directory", str(path / "_MAIN_7.toc"))
        return real(path)

    monkeypatch.setattr(indexer, "open_generation", racing)
    result = search.search(users.rep, {"q": "wallaby"})
    assert result.total == 1 and result.warnings == [] and len(opened) == 2


def test_searchers_read_the_segment_files_without_copying_them(app, users, make_debrief):
    """Each thread of a worker searches with a searcher of its own; the
    segment files they read stay in the memory map that the machine's
    processes share, instead of a private copy per searcher (that was once
    a third of the index for every thread)."""
    import tracemalloc

    for n in range(40):
        text = f"Okapi remark {n}: " + " ".join(f"w{n}x{i}" for i in range(180))
        make_debrief(users.rep, quotes=[{"text": text}])
    assert search.reindex() == 40  # one compound segment file, as a rebuild writes it
    index = app.extensions["kb_search"]
    index_bytes = sum(p.stat().st_size for p in index.folder.current().glob("*.seg"))
    assert index_bytes > 100_000

    tracemalloc.start()
    try:
        for _ in range(4):  # as four threads would, each opening its searcher
            index.forget_view()
            assert search.search(users.rep, {"q": "okapi", "sort": "newest"}).total == 40
        snapshot = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    copied = sum(
        stat.size
        for stat in snapshot.statistics("filename")
        if stat.traceback[0].filename.endswith("structfile.py")
    )
    assert copied < index_bytes / 10
