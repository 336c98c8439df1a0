"""The machine's indexer, not the request, writes the index: writes are
acknowledged when the database has them, the indexer (a thread or `kb
indexer`) makes them searchable, and killing it or starting two loses
nothing."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from select import select as readable

import pytest
from sqlalchemy import select

from kb import create_app, search
from kb.extensions import db
from kb.models import Debrief, User
from kb.search import indexer
from kb.search.index import INDEXER_LOCK, REBUILD_LOCK, WRITER_LOCK

PROJECT = Path(__file__).resolve().parent.parent


@pytest.fixture
def app_config(app_config):
    return {**app_config, "KB_SEARCH_INDEXER": "external"}


def finds(user, q: str) -> set[int]:
    return {h.id for h in search.search(user, {"q": q, "per_page": 100}).hits}


def folder_of(app):
    return app.extensions["kb_search"].folder


def environment(app_config) -> dict:
    return {
        "PYTHONPATH": str(PROJECT),
        "PATH": "/usr/bin:/bin",
        "KB_DATABASE_URL": app_config["SQLALCHEMY_DATABASE_URI"],
        "KB_INDEX_DIR": app_config["KB_INDEX_DIR"],
        "KB_SECRET_KEY": "test-secret",
    }


def start_indexer(app_config) -> subprocess.Popen:
    return subprocess.Popen(  # noqa: S603  (the product's own command)
        [sys.executable, "-c", "from kb.cli import main; main()", "indexer"],
        cwd=PROJECT,
        env=environment(app_config),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def read_line(process: subprocess.Popen, timeout: float) -> str:
    """The command's next line, read a byte at a time from the pipe: a
    buffered readline() could take the following line too, where select()
    would no longer see it."""
    deadline = time.monotonic() + timeout
    line = b""
    while not line.endswith(b"\n"):
        ready, _, _ = readable([process.stdout], [], [], max(0.0, deadline - time.monotonic()))
        assert ready, f"the command printed no whole line (got {line!r})"
        byte = os.read(process.stdout.fileno(), 1)
        assert byte, f"the command ended (got {line!r})"
        line += byte
    return line.decode().rstrip("\n")


def stop(process: subprocess.Popen) -> str:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=60)
    return output


def file_debriefs(user, count: int, word: str) -> list[int]:
    from kb.debriefs import service
    from tests.conftest import debrief_payload

    return [
        service.save_debrief(
            user, service.parse(debrief_payload(quotes=[{"text": f"A {word} story, take {i}."}]))
        ).id
        for i in range(count)
    ]


def processes_in_group(group: int) -> list[int]:
    """Live processes of a process group (a killed command and its children)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def test_writes_acknowledged_while_no_indexer_runs_become_searchable_when_it_starts(
    app, app_config, users
):
    filed = file_debriefs(users.rep, 3, "wombat")
    assert db.session.scalar(select(Debrief.id).where(Debrief.id == filed[0]))
    assert search.wait_until_current(0.5) is False
    assert finds(users.rep, "wombat") == set()  # no index yet: no request built one

    process = start_indexer(app_config)
    try:
        assert search.wait_until_current(60), "the indexer did not catch up"
        assert finds(users.rep, "wombat") == set(filed)
        status = search.index_status()
        assert (status["outbox_lag"], status["lag_seconds"], status["ok"]) == (0, 0.0, True)
        assert status["indexer_running"] is True
        # A write while it runs is searchable within a second.
        later = file_debriefs(users.rep, 1, "numbat")
        started = time.monotonic()
        assert search.wait_until_current(5)
        assert time.monotonic() - started < 1.0
        assert finds(users.rep, "numbat") == set(later)
    finally:
        output = stop(process)
    assert "Indexer stopped." in output
    assert search.index_status()["indexer_running"] is False


def test_killing_the_indexer_mid_commit_loses_nothing(app, app_config, users):
    file_debriefs(users.rep, 1, "first")
    search.catch_up()  # an index to apply to
    filed = file_debriefs(users.rep, 90, "quokka")  # one page of results
    folder = folder_of(app)
    process = start_indexer(app_config)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            holder = folder.hold(WRITER_LOCK)
            if holder is None:
                break  # the indexer is applying the batch now
            holder.close()
            time.sleep(0.002)
        else:
            pytest.fail("the indexer never started applying")
        process.send_signal(signal.SIGKILL)
        process.wait(30)
    finally:
        process.kill()
        process.communicate()

    # What it left is a readable index, and its locks went with it.
    indexer.open_generation(folder.current()).close()
    for name in (INDEXER_LOCK, WRITER_LOCK, REBUILD_LOCK):
        held = folder.hold(name)
        assert held is not None, name
        held.close()
    restarted = start_indexer(app_config)
    try:
        assert search.wait_until_current(60)
    finally:
        stop(restarted)
    assert finds(users.rep, "quokka") == set(filed)
    assert search.index_status()["outbox_lag"] == 0


def test_a_second_indexer_on_the_same_folder_waits_and_takes_over(app, app_config, users):
    first = start_indexer(app_config)
    second = None
    try:
        filed = file_debriefs(users.rep, 2, "kiwi")
        assert search.wait_until_current(60)
        second = start_indexer(app_config)
        assert (
            read_line(second, 60)
            == "Indexing into " + app_config["KB_INDEX_DIR"] + "; stop with Ctrl-C or SIGTERM."
        )
        assert read_line(second, 60) == "Another indexer holds this index folder; waiting for it."
        filed += file_debriefs(users.rep, 20, "kiwi")
        assert search.wait_until_current(30)
        assert finds(users.rep, "kiwi") == set(filed)
        first_output = stop(first)
        # The second, which waited, now follows the outbox alone.
        filed += file_debriefs(users.rep, 2, "kiwi")
        assert search.wait_until_current(30)
        assert finds(users.rep, "kiwi") == set(filed)
    finally:
        outputs = [stop(p) for p in (first, second) if p is not None]
    assert "waiting" not in first_output + outputs[-1]
    indexer.open_generation(folder_of(app).current()).close()


REINDEX = textwrap.dedent(
    """
    import json, sys, time
    from kb import create_app, search

    app = create_app(json.loads(sys.argv[1]))
    with app.app_context():
        def progress(done):
            print("building", flush=True)
            time.sleep(600)  # until killed
        search.reindex(progress)
    """
)


def test_a_killed_reindex_leaves_no_process_or_lock_and_a_later_one_works(
    app, app_config, users, tmp_path
):
    filed = file_debriefs(users.rep, 150, "ibis")
    search.catch_up()
    before = folder_of(app).current()
    script = tmp_path / "reindex.py"
    script.write_text(REINDEX)
    config = {k: v for k, v in app_config.items() if isinstance(v, str | int | bool | float)}
    config["KB_SEARCH_INDEX_PROCS"] = 2  # with its builder processes
    process = subprocess.Popen(  # noqa: S603  (this test's own script)
        [sys.executable, str(script), json.dumps(config)],
        cwd=PROJECT,
        env={"PYTHONPATH": str(PROJECT), "PATH": "/usr/bin:/bin"},
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert process.stdout.readline().strip() == "building"
        assert len(processes_in_group(process.pid)) > 1  # the builders are running
        os.kill(process.pid, signal.SIGKILL)
        process.wait(30)
        deadline = time.monotonic() + 10
        while processes_in_group(process.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert processes_in_group(process.pid) == []
    finally:
        process.kill()
        process.communicate()

    folder = folder_of(app)
    half_built = [p for p in folder.root.glob("gen-*") if p != before]
    assert half_built, "the killed rebuild had started a generation"
    assert folder.current() == before  # searches kept the old one throughout
    assert search.search(users.rep, {"q": "ibis"}).total == len(filed)
    assert search.reindex() == len(filed)
    assert not any(p.exists() for p in half_built) and not before.exists()
    assert search.search(users.rep, {"q": "ibis"}).total == len(filed)


@pytest.fixture
def threaded_app(app_config):
    app = create_app({**app_config, "KB_SEARCH_INDEXER": "thread"})
    with app.app_context():
        yield app
        app.extensions["kb_search_indexer"].stop()
        db.session.remove()
        db.engine.dispose()


def test_a_post_returns_without_waiting_for_the_index(threaded_app, users):
    from kb.auth.service import create_token
    from tests.conftest import debrief_payload

    client = threaded_app.test_client()
    rep = db.session.get(User, users.rep.id)
    headers = {"Authorization": f"Bearer {create_token(rep)}"}
    client.get("/healthz")  # a first request starts this worker's indexer
    assert search.wait_until_current(60)
    folder = folder_of(threaded_app)

    with folder.lock(WRITER_LOCK, 5) as held:  # the indexer cannot write meanwhile
        assert held
        started = time.monotonic()
        payload = debrief_payload(quotes=[{"text": "The platypus objection."}])
        response = client.post("/api/v1/debriefs", json=payload, headers=headers)
        took = time.monotonic() - started
        assert response.status_code == 201
        assert finds(rep, "platypus") == set()
    released = time.monotonic()
    while not finds(rep, "platypus") and time.monotonic() - released < 5:
        time.sleep(0.01)
    searchable_after = time.monotonic() - released
    assert finds(rep, "platypus") == {response.json["id"]}
    assert took < 2.0  # it did not wait for the writer lock (inline mode waits 2 s)
    assert searchable_after < 1.0


def test_healthz_fails_when_changes_wait_longer_than_the_limit(app_config, users):
    app = create_app({**app_config, "KB_INDEX_MAX_LAG_SECONDS": 1})
    with app.app_context():
        search.catch_up()
        file_debriefs(db.session.get(User, users.rep.id), 1, "sloth")
        client = app.test_client()
        report = client.get("/healthz").json["search_index"]
        assert report["outbox_lag"] == 1 and report["max_lag_seconds"] == 1
        time.sleep(2.1)  # SQLite's clock counts whole seconds
        response = client.get("/healthz")
        report = response.json["search_index"]
        assert response.status_code == 503 and report["ok"] is False
        assert report["lag_seconds"] >= 1 and report["indexer_running"] is False
        search.catch_up()
        response = client.get("/healthz")
        assert response.status_code == 200
        assert response.json["search_index"]["lag_seconds"] == 0.0
        db.session.remove()
        db.engine.dispose()


def test_the_indexer_not_a_request_rebuilds_a_damaged_index(app, app_config, users):
    filed = file_debriefs(users.rep, 2, "tapir")
    search.catch_up()
    folder = folder_of(app)
    damaged = folder.current()
    for toc in damaged.glob("*.toc"):
        toc.write_bytes(b"not an index")
    result = search.search(users.rep, {"q": "tapir"})
    assert result.total == 0 and "being built" in result.warnings[0]
    assert folder.current() == damaged  # the request left it to the indexer

    process = start_indexer(app_config)
    try:
        deadline = time.monotonic() + 60
        while folder.current() == damaged and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop(process)
    assert folder.current() != damaged and not damaged.exists()
    assert finds(users.rep, "tapir") == set(filed)


def test_small_segments_are_merged_when_idle_and_nothing_is_lost(app, users):
    index = app.extensions["kb_search"]
    filed = []
    for _ in range(indexer.MERGE_WIDTH + 1):
        filed += file_debriefs(users.rep, 1, "marmot")
        search.catch_up()  # one small segment each: applying never merges
    from kb.debriefs import service

    service.delete_debrief(users.rep, db.session.get(Debrief, filed.pop(0)))
    search.catch_up()

    def segments() -> int:
        ix = indexer.open_generation(index.folder.current())
        try:
            return len(ix._segments())
        finally:
            ix.close()

    before = segments()
    assert before > indexer.MERGE_WIDTH
    assert index.merge_segments() is True
    assert segments() < before
    assert index.merge_segments() is False  # nothing more due
    assert finds(users.rep, "marmot") == set(filed)


def segment_count(index) -> int:
    ix = indexer.open_generation(index.folder.current())
    try:
        return len(ix._segments())
    finally:
        ix.close()


def test_while_changes_keep_coming_only_small_tiers_are_merged(app, users):
    index = app.extensions["kb_search"]
    for _ in range(indexer.MERGE_WIDTH):
        file_debriefs(users.rep, 2, "badger")
        search.catch_up()
    before = segment_count(index)
    assert index.merge_segments(max_docs=indexer.MERGE_WIDTH) is False  # too large a step
    assert segment_count(index) == before
    assert index.merge_segments(max_docs=2 * indexer.MERGE_WIDTH) is True
    assert segment_count(index) < before
    assert len(finds(users.rep, "badger")) == 2 * indexer.MERGE_WIDTH


def test_a_reopened_reader_keeps_unchanged_segments_and_sees_edits(app, users):
    from kb.debriefs import service
    from tests.conftest import debrief_payload

    index = app.extensions["kb_search"]
    kept = file_debriefs(users.rep, 1, "otter")
    search.catch_up()
    edited = file_debriefs(users.rep, 1, "weasel")
    search.catch_up()
    assert finds(users.rep, "weasel") == set(edited)
    readers = {
        r.segment().segment_id(): r for r, _ in index.view().searcher.reader().leaf_readers()
    }

    debrief = db.session.get(Debrief, edited[0])
    payload = debrief_payload(quotes=[{"text": "A stoat story now."}])
    service.save_debrief(users.rep, service.parse(payload), debrief)
    search.catch_up()

    assert finds(users.rep, "weasel") == set()  # the old text is gone from its segment
    assert finds(users.rep, "stoat") == set(edited)
    assert finds(users.rep, "otter") == set(kept)
    after = {r.segment().segment_id(): r for r, _ in index.view().searcher.reader().leaf_readers()}
    reused = [sid for sid, reader in after.items() if readers.get(sid) is reader]
    assert reused, "the readers of segments without new deletions are taken over"
    for sid, reader in readers.items():
        if after.get(sid) is not reader:
            assert reader.is_closed


def test_a_cancelled_batch_leaves_no_trace_in_later_replacements(app, users):
    index = app.extensions["kb_search"]
    (debrief_id,) = file_debriefs(users.rep, 1, "ferret")
    search.catch_up()
    ix = indexer.open_generation(index.folder.current())
    writer = indexer.index_writer(ix)
    writer.delete_key(f"debrief:{debrief_id}")  # a batch that fails after deleting
    writer.cancel()
    ix.close()
    from kb.search.outbox import enqueue

    for _ in range(2):
        enqueue("debrief", debrief_id)
        db.session.commit()
        search.catch_up()
    searcher = index.view().searcher
    assert len(list(searcher.document_numbers(key=f"debrief:{debrief_id}"))) == 1
    assert finds(users.rep, "ferret") == {debrief_id}


@pytest.mark.postgresql  # PostgreSQL notifies; SQLite is polled
def test_on_postgresql_a_commit_elsewhere_wakes_the_indexer_at_once(app, users):
    from sqlalchemy import create_engine, text

    from kb.search.follower import Follower

    index = app.extensions["kb_search"]
    (debrief_id,) = file_debriefs(users.rep, 1, "lynx")
    index.settings.follow_seconds = 60.0  # without a notification, it would look much later
    follower = Follower(app, index)
    follower.ensure_running()
    try:
        assert index.wait_until_current(30)
        time.sleep(0.5)  # the listener is connected, the indexer waits
        index.woken.clear()
        other = create_engine(db.engine.url)  # another process's connection: no local wake
        try:
            with other.begin() as conn:
                conn.execute(
                    text("INSERT INTO index_changes (doc_type, doc_id) VALUES ('debrief', :id)"),
                    {"id": debrief_id},
                )
                latest = conn.scalar(text("SELECT max(id) FROM index_changes"))
        finally:
            other.dispose()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            cursor = index.folder.read_cursor(index.folder.current())
            if cursor.applied_id >= latest:
                break
            time.sleep(0.02)
        assert cursor.applied_id >= latest
    finally:
        follower.stop()


def test_a_merge_reads_documents_afresh_and_keeps_one_per_key(app, users):
    from kb.debriefs import service

    index = app.extensions["kb_search"]
    filed = []
    for _ in range(indexer.MERGE_WIDTH):
        filed += file_debriefs(users.rep, 1, "heron")
        search.catch_up()
    # Deleted, its outbox row not applied yet: the merge leaves it out, as
    # applying the row would.
    service.delete_debrief(users.rep, db.session.get(Debrief, filed[0]))
    assert index.merge_segments() is True
    assert finds(users.rep, "heron") == set(filed[1:])
    search.catch_up()
    searcher = index.view().searcher
    for debrief_id in filed[1:]:
        assert len(list(searcher.document_numbers(key=f"debrief:{debrief_id}"))) == 1
    assert finds(users.rep, "heron") == set(filed[1:])
