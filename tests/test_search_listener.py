"""The indexer's PostgreSQL listener (kb.search.follower) ends with the
follower, however that ends, and closes its connection: a web worker starts
the follower again before each request, so one left behind each time would
use up the server's connections."""

import threading
import time

import psycopg
import pytest
from sqlalchemy import text

from kb.extensions import db
from kb.search import follower as follower_module
from kb.search.follower import LISTENER, Follower

pytestmark = pytest.mark.postgresql  # SQLite is polled: there is no listener


def listeners() -> tuple[int, int]:
    """Listener threads alive in this process, and their connections to the
    test's database (listening or not yet), once the server has seen the
    closed ones go."""
    threads = sum(t.name == LISTENER and t.is_alive() for t in threading.enumerate())
    count = text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND application_name = :name"
    ).bindparams(name=LISTENER)
    deadline = time.monotonic() + 5
    while True:
        connections = db.session.scalar(count)
        db.session.rollback()
        if connections <= threads or time.monotonic() > deadline:
            return threads, connections
        time.sleep(0.05)


def started(follower: Follower) -> threading.Thread:
    follower.ensure_running()
    return follower._thread


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_follower_that_fails_while_starting_leaves_no_listener(app, monkeypatch):
    def fail(self):
        raise OSError("No space left on device")

    monkeypatch.setattr(Follower, "_remove_abandoned_builds", fail)
    follower = Follower(app, app.extensions["kb_search"])
    assert listeners() == (0, 0)
    for _ in range(3):  # a request each, each starting it again
        run = started(follower)
        run.join(30)
        assert not run.is_alive()
        assert listeners() == (0, 0)
    follower.stop()


def test_stop_while_the_listener_connects_ends_it(app, monkeypatch):
    connect, connecting = psycopg.connect, threading.Event()

    def slow_connect(*args, **kwargs):
        """A server slow to answer: the attempt ends well after stop()."""
        connecting.set()
        time.sleep(follower_module.LISTEN_TIMEOUT + 2)
        return connect(*args, **kwargs)

    monkeypatch.setattr(psycopg, "connect", slow_connect)
    follower = Follower(app, app.extensions["kb_search"])
    for _ in range(2):  # and again once started anew
        started(follower)
        assert connecting.wait(30)
        connecting.clear()
        follower.stop()
        assert not follower._thread.is_alive()
        assert listeners() == (0, 0)


def test_stop_ends_a_connected_listener(app):
    follower = Follower(app, app.extensions["kb_search"])
    started(follower)
    deadline = time.monotonic() + 30
    while listeners() != (1, 1) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert listeners() == (1, 1)
    follower.stop()
    assert listeners() == (0, 0)
