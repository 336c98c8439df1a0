"""stop() ends this machine's indexer (kb.search.follower) within about a
second even while it waits for the database, and what it had not committed
is applied by the next one."""

import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import create_engine, text

from kb.extensions import db
from kb.search.follower import Follower

from .test_search_indexer import environment, file_debriefs, finds


@pytest.fixture
def app_config(app_config):
    # The test's follower is the only indexer, and the only thread reading
    # the outbox (no overview figures computed after its passes).
    return {**app_config, "KB_SEARCH_INDEXER": "external", "KB_THEME_FIGURES_STORED": False}


# Backends waiting for a lock (the text they show may still be their
# previous statement's while they wait).
WAITING = text(
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
    "AND wait_event_type = 'Lock'"
)


def start_indexer(app_config, **settings) -> subprocess.Popen:
    """`kb indexer`, as tests/test_search_indexer.py starts it."""
    return subprocess.Popen(  # noqa: S603  (the product's own command)
        [sys.executable, "-c", "from kb.cli import main; main()", "indexer"],
        env={**environment(app_config), **settings},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def wait_for_a_lock_wait(watching) -> None:
    deadline = time.monotonic() + 30
    while not watching.scalar(WAITING) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert watching.scalar(WAITING) >= 1


@pytest.mark.postgresql  # a lock PostgreSQL waits for without a timeout
def test_stop_returns_promptly_while_the_indexer_waits_for_a_lock(app, users):
    index = app.extensions["kb_search"]
    (first,) = file_debriefs(users.rep, 1, "lynx")
    follower = Follower(app, index)
    follower.ensure_running()
    assert index.wait_until_current(30)
    applied = index.folder.read_cursor(index.folder.current()).applied_id
    other = create_engine(db.engine.url)  # another process's connections
    try:
        with other.connect() as locking, other.connect() as watching:
            locking.execute(text("LOCK TABLE index_changes IN ACCESS EXCLUSIVE MODE"))
            index.wake()  # the indexer looks at the outbox, and waits for the lock
            wait_for_a_lock_wait(watching)
            started = time.monotonic()
            follower.stop()
            stopped = time.monotonic() - started
            assert not follower._thread.is_alive()
            assert stopped < 1.0, f"stop() took {stopped:.1f} s"
            assert watching.scalar(WAITING) == 0  # its statement was cancelled
            locking.rollback()
    finally:
        other.dispose()
    assert index.folder.read_cursor(index.folder.current()).applied_id == applied
    # What is filed next is applied by the next indexer, and nothing is lost.
    (second,) = file_debriefs(users.rep, 1, "lynx")
    follower = Follower(app, index)
    follower.ensure_running()
    try:
        assert index.wait_until_current(30)
        assert finds(users.rep, "lynx") == {first, second}
    finally:
        follower.stop()


@pytest.mark.postgresql
def test_kb_indexer_ends_promptly_on_sigterm_while_it_waits_for_a_lock(app, app_config, users):
    index = app.extensions["kb_search"]
    file_debriefs(users.rep, 1, "lynx")
    process = start_indexer(app_config, KB_THEME_FIGURES_STORED="0")
    try:
        assert index.wait_until_current(60)
        other = create_engine(db.engine.url)
        try:
            with other.connect() as locking, other.connect() as watching:
                locking.execute(text("LOCK TABLE index_changes IN ACCESS EXCLUSIVE MODE"))
                wait_for_a_lock_wait(watching)  # its next look at the outbox
                started = time.monotonic()
                process.send_signal(signal.SIGTERM)
                output, _ = process.communicate(timeout=60)
                ended = time.monotonic() - started
                locking.rollback()
        finally:
            other.dispose()
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert "Indexer stopped." in output
    assert "failed" not in output  # a cancelled statement is no failure to report
    assert ended < 2.0, f"the indexer took {ended:.1f} s to end"
