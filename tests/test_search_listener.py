"""The indexer's PostgreSQL listener (kb.search.follower) ends with the
follower, however that ends, and closes its connection: a web worker starts
the follower again before each request, so one left behind each time would
use up the server's connections."""

import socket
import threading
import time

import pytest
from sqlalchemy import text

from kb.extensions import db
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


def test_stop_while_the_listener_connects_abandons_the_attempt_at_once(app):
    """A server that takes the connection and never answers (a slow or hung
    one): the listener gives the attempt up as soon as it is told to end,
    not when its connect_timeout runs out, and closes its socket."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.settimeout(30)
        conninfo = f"host=127.0.0.1 port={server.getsockname()[1]} dbname=kb user=kb"
        follower = Follower(app, app.extensions["kb_search"])
        done = threading.Event()
        listener = threading.Thread(target=follower._listen, args=(conninfo, done), name=LISTENER)
        listener.start()
        attempt, _ = server.accept()
        with attempt:
            attempt.settimeout(30)
            assert attempt.recv(1024)  # it asked, and waits for the answer
            time.sleep(0.5)
            done.set()
            started = time.monotonic()
            listener.join(30)
            ended = time.monotonic() - started
            assert not listener.is_alive()
            assert ended < 0.5, f"the listener took {ended:.1f} s to end"
            assert attempt.recv(1024) == b""  # its socket closed


def test_stop_ends_a_connected_listener(app):
    follower = Follower(app, app.extensions["kb_search"])
    started(follower)
    deadline = time.monotonic() + 30
    while listeners() != (1, 1) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert listeners() == (1, 1)
    follower.stop()
    assert listeners() == (0, 0)
