"""The index stays consistent with the database: through failures between
the commit and the index, a lost or damaged index folder, concurrent
writers, rebuilds, and ids that commit out of order."""

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from sqlalchemy import func, insert, select, update

from kb import create_app, search
from kb.extensions import db
from kb.models import Debrief, IndexChange, Quote, User
from kb.search import indexer
from kb.search.documents import parse_key
from kb.search.folder import Cursor

PROJECT = Path(__file__).resolve().parent.parent


def finds(user, q: str) -> set[int]:
    return {h.id for h in search.search(user, {"q": q, "per_page": 100}).hits}


def index_of(app):
    return app.extensions["kb_search"]


def indexed_ids(app) -> set[int]:
    view = index_of(app).view()
    return {parse_key(f["key"])[1] for f in view.searcher.reader().all_stored_fields()}


def test_a_change_whose_index_step_failed_is_applied_on_the_next_start(
    app, app_config, users, make_debrief, monkeypatch
):
    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(indexer, "apply_changes", crash)
    debrief = make_debrief(users.rep)  # the commit stands; the index step fails
    assert db.session.get(Debrief, debrief.id) is not None
    assert finds(users.rep, "pricing") == set()
    status = search.index_status()
    assert status["outbox_lag"] == 1 and status["ok"] is False and "disk full" in status["error"]
    monkeypatch.undo()

    restarted = create_app(app_config)
    with restarted.app_context():
        assert finds(db.session.get(User, users.rep.id), "pricing") == {debrief.id}
        assert search.index_status()["outbox_lag"] == 0


def test_an_index_deleted_from_disk_is_rebuilt(app, app_config, users, make_debrief):
    debrief = make_debrief(users.rep)
    shutil.rmtree(app.config["KB_INDEX_DIR"])
    meanwhile = search.search(users.rep, {"q": "pricing"})
    assert meanwhile.total == 0 and "being built" in meanwhile.warnings[0]

    restarted = create_app(app_config)
    with restarted.app_context():
        assert finds(db.session.get(User, users.rep.id), "pricing") == {debrief.id}

    shutil.rmtree(app.config["KB_INDEX_DIR"])
    search.catch_up()  # a running process rebuilds too
    assert finds(users.rep, "pricing") == {debrief.id}


def test_a_damaged_index_is_rebuilt(app, app_config, users, make_debrief):
    debrief = make_debrief(users.rep)
    generation = index_of(app).folder.current()
    for toc in generation.glob("*.toc"):
        toc.write_bytes(b"not an index")
    restarted = create_app(app_config)
    with restarted.app_context():
        assert finds(db.session.get(User, users.rep.id), "pricing") == {debrief.id}
        assert index_of(restarted).folder.current() != generation


WORKER = textwrap.dedent(
    """
    import json, sys
    from kb import create_app
    from kb.debriefs import service
    from kb.extensions import db
    from kb.models import Debrief, User
    from tests.conftest import debrief_payload

    config, user_id, tag, count = json.loads(sys.argv[1]), int(sys.argv[2]), sys.argv[3], 12
    app = create_app(config)
    with app.app_context():
        user = db.session.get(User, user_id)
        mine = []
        for i in range(count):
            payload = debrief_payload(quotes=[{"text": f"{tag} filing {i}"}])
            mine.append(service.save_debrief(user, service.parse(payload)).id)
            if i % 4 == 3:  # edit one, delete another
                edited = db.session.get(Debrief, mine[-2])
                payload = debrief_payload(quotes=[{"text": f"{tag} edited {i}"}])
                service.save_debrief(user, service.parse(payload), edited)
                service.delete_debrief(user, db.session.get(Debrief, mine.pop(0)))
    """
)


def test_two_processes_writing_at_once_lose_nothing(app, app_config, users, tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    config = {k: v for k, v in app_config.items() if isinstance(v, str | int | bool | float)}
    workers = [
        subprocess.Popen(  # noqa: S603  (this test's own script)
            [sys.executable, str(script), json.dumps(config), str(user.id), tag],
            cwd=PROJECT,
            env={"PYTHONPATH": str(PROJECT), "PATH": "/usr/bin:/bin"},
            stderr=subprocess.PIPE,
            text=True,
        )
        for user, tag in ((users.rep, "alpha"), (users.peer, "bravo"))
    ]
    for worker in workers:
        _, errors = worker.communicate(timeout=120)
        assert worker.returncode == 0, errors
    db.session.expire_all()
    in_database = set(db.session.scalars(select(Debrief.id)))
    assert len(in_database) == 2 * (12 - 3)
    # No catch-up here: what the two processes applied between them is complete.
    assert indexed_ids(app) == in_database
    for tag in ("alpha", "bravo"):
        edited = db.session.scalar(
            select(func.count())
            .select_from(Quote)
            .join(Debrief)
            .where(Quote.text.like(f"{tag} edited%"))
        )
        assert len(finds(users.admin, f'"{tag} edited"')) == edited == 2


def test_reindex_swaps_in_a_new_generation_while_searches_keep_working(app, users, make_debrief):
    for _ in range(3):
        make_debrief(users.rep)
    old = index_of(app).folder.current()
    during = []

    def progress(done):
        during.append(search.search(users.rep, {"q": "pricing"}).total)
        # A change committed mid-rebuild reaches the old generation now and the new one at the end.
        make_debrief(users.rep, quotes=[{"text": "Mid-rebuild capybara."}])

    assert search.reindex(progress) == 3
    assert during == [3]
    new = index_of(app).folder.current()
    assert new != old and not old.exists()
    assert search.search(users.rep, {"q": "pricing"}).total == 3
    assert len(finds(users.rep, "capybara")) == 1
    assert search.index_status()["outbox_lag"] == 0


def test_ids_committed_out_of_order_are_not_skipped(app, users, make_debrief):
    first = make_debrief(users.rep, quotes=[{"text": "First draft of the story."}])
    second = make_debrief(users.rep)
    latest = db.session.scalar(select(func.max(IndexChange.id)))
    # Another transaction took id latest+1 but has not committed; latest+2 commits first.
    db.session.add(IndexChange(id=latest + 2, doc_type="debrief", doc_id=second.id))
    db.session.commit()
    folder = index_of(app).folder
    cursor = folder.read_cursor(folder.current())
    assert cursor.applied_id == latest + 2 and set(cursor.gaps) == {latest + 1}
    # Now the slow one commits, with its change.
    first.quotes[0].text = "Second telling of the story."
    db.session.add(IndexChange(id=latest + 1, doc_type="debrief", doc_id=first.id))
    db.session.commit()
    assert finds(users.rep, "telling") == {first.id}
    assert folder.read_cursor(folder.current()).gaps == {}


def test_gaps_are_given_up_on_after_a_while():
    cursor = indexer.advance(Cursor(5), [6, 9], now=1000.0, gap_seconds=60)
    assert cursor == Cursor(9, {7: 1000.0, 8: 1000.0})
    cursor = indexer.advance(cursor, [7], now=1030.0, gap_seconds=60)
    assert cursor == Cursor(9, {8: 1000.0})
    assert indexer.advance(cursor, [], now=1061.0, gap_seconds=60) == Cursor(9, {})


def test_a_large_backlog_or_a_foreign_index_is_rebuilt(app, users, make_debrief):
    make_debrief(users.rep)
    index = index_of(app)
    before = index.folder.current()
    index.settings.rebuild_backlog = 2
    db.session.execute(
        insert(IndexChange), [{"doc_type": "debrief", "doc_id": 999_000 + i} for i in range(3)]
    )
    db.session.commit()  # a bulk insert: no outbox objects in the session, no catch-up yet
    search.catch_up()
    rebuilt = index.folder.current()
    assert rebuilt != before and search.index_status()["outbox_lag"] == 0
    # A folder whose cursor is ahead of the outbox belongs to another database.
    index.folder.write_cursor(rebuilt, Cursor(10**9))
    search.catch_up()
    assert index.folder.current() != rebuilt
    assert finds(users.rep, "pricing")


def test_healthz_reports_documents_and_lag(client, users, make_debrief):
    make_debrief(users.rep)
    report = client.get("/healthz").json["search_index"]
    assert report["ok"] is True
    assert (report["documents"], report["outbox_lag"]) == (1, 0)
    assert report["applied_id"] == report["latest_id"]


def test_kb_reindex_command(runner, users, make_debrief):
    make_debrief(users.rep)
    result = runner.invoke(args=["reindex"])
    assert result.exit_code == 0, result.output
    assert "Indexed 1 documents; outbox lag 0." in result.output


def test_changes_committed_by_another_machine_reach_the_next_search(app, users, make_debrief):
    debrief = make_debrief(users.rep)
    index_of(app).settings.poll_seconds = 0
    # Core statements, as another machine's process would leave them: this
    # process's commit hook sees no outbox object, only the poll can notice.
    db.session.execute(
        update(Quote).where(Quote.debrief_id == debrief.id).values(text="An okapi sighting.")
    )
    db.session.execute(insert(IndexChange).values(doc_type="debrief", doc_id=debrief.id))
    db.session.commit()
    assert finds(users.rep, "okapi") == {debrief.id}
