"""The nodes section of `kb bench`: two app nodes on one PostgreSQL database.

Each node is a real gunicorn server with its own index folder and its own
index writer thread, as on two machines. The section creates a database of
its own on the PostgreSQL server it is given (--postgres-url or
KB_BENCH_POSTGRES_URL), fills it with the demo generator, starts both nodes
(each builds its index from the database), then:

- files debriefs one at a time through node A's API and times how long each
  takes to be found through node B's search API (and A's own);
- stops node B, files more debriefs on A, starts B again and times how long
  B takes to catch up and find every one of them.

`Node` and the helpers below are also what tests/test_two_nodes.py uses.
"""

import contextlib
import functools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

from sqlalchemy import create_engine, make_url, text

from kb.bench import Bench, percentile
from kb.config import PROJECT_ROOT

FILINGS = 50
CATCH_UP_FILINGS = 100
TARGET_SECONDS = 2.0  # filed on one node → searchable on the other, p95
# A date every node accepts whatever its clock says: closed, and after 2000.
CLOSE_DATE = "2025-06-30"
POLL_SECONDS = 0.02


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gunicorn() -> str:
    found = shutil.which("gunicorn", path=os.path.dirname(sys.executable))
    if found is None:
        raise RuntimeError("gunicorn is not installed: pip install '.[deploy]'")
    return found


@functools.cache
def _control_socket_options() -> list[str]:
    """gunicorn 25 and later open a control socket at one fixed path per
    user; two servers of one user would share it. Older ones have none."""
    shown = subprocess.run(  # noqa: S603  (gunicorn's own help)
        [gunicorn(), "--help"], capture_output=True, text=True, check=False
    ).stdout
    return ["--no-control-socket"] if "--no-control-socket" in shown else []


class Node:
    """One app node: gunicorn (one worker, four threads) serving the app on a
    free localhost port, with its own index folder and instance folder; its
    index writer is a background thread of the worker, started by the first
    request."""

    def __init__(self, name: str, database_url: str, folder: Path):
        self.name = name
        self.database_url = database_url
        self.folder = Path(folder)
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def index_dir(self) -> Path:
        return self.folder / "index"

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PYTHONPATH": str(PROJECT_ROOT),
            "KB_DATABASE_URL": self.database_url,
            "KB_INDEX_DIR": str(self.index_dir),
            "KB_SECRET_KEY": "bench-nodes",
            "KB_SEARCH_INDEXER": "thread",
            "KB_INSECURE_COOKIES": "1",
        }
        log = open(self.folder / "server.log", "ab")  # noqa: SIM115  (closed in stop())
        self.process = subprocess.Popen(  # noqa: S603  (the product's own server, fixed arguments)
            [gunicorn(), "--bind", f"127.0.0.1:{self.port}", "--workers", "1"]
            + ["--threads", "4", "--chdir", str(self.folder)]
            + _control_socket_options()
            + ["kb:create_app()"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._log = log

    def stop(self) -> None:
        """Stop the server as its service manager would (SIGTERM), and wait."""
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(30)
        self._log.close()

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(
                (self.folder / "server.log").read_text(errors="replace").splitlines()[-lines:]
            )
        except OSError:
            return ""

    def request(self, method: str, path: str, token: str | None = None, body=None) -> tuple:
        """(status, JSON body) of one request; status 0 when nothing answers."""
        headers = {"Accept": "application/json"}
        data = None
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self.url + path, data, headers, method=method)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310  (localhost)
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            with contextlib.suppress(ValueError):
                return exc.code, json.loads(exc.read() or b"null")
            return exc.code, None
        except OSError:  # not listening (yet, or any more)
            return 0, None

    def health(self) -> tuple[int, dict]:
        status, body = self.request("GET", "/healthz")
        return status, body or {}

    def healthy(self) -> bool:
        """Whether /healthz answers "ok" with every change applied. The first
        request to a node also starts its index writer."""
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"node {self.name} exited:\n{self.log_tail()}")
        status, body = self.health()
        return status == 200 and body.get("search_index", {}).get("outbox_lag") == 0

    def wait_until_healthy(self, timeout: float) -> float:
        return wait_until_healthy([self], timeout)[0]

    def file(self, token: str, word: str) -> int:
        status, body = self.request("POST", "/api/v1/debriefs", token, payload(word))
        if status != 201:
            raise RuntimeError(f"filing on node {self.name} answered {status}: {body}")
        return body["id"]

    def found(self, token: str, word: str) -> tuple[int, set[int]]:
        """(total, ids on the first page) of a search for `word`."""
        query = urlencode({"q": word, "per_page": 100, "facets": 0, "highlight": 0})
        status, body = self.request("GET", f"/api/v1/search?{query}", token)
        if status != 200:
            return 0, set()
        return body["total"], {hit["id"] for hit in body["hits"]}


def word(n: int, prefix: str = "nodecheck") -> str:
    """A made-up word per filing, letters only, so it is one search term."""
    letters = ""
    while True:
        n, digit = divmod(n, 26)
        letters = chr(ord("a") + digit) + letters
        if n == 0:
            return prefix + letters


def payload(term: str) -> dict:
    """A submitted debrief whose quote holds `term`, on a deal of its own."""
    return {
        "source": "rep",
        "status": "submitted",
        "deal": {
            "name": f"Node check {term}",
            "account": f"Account {term}",
            "amount": 12000,
            "currency": "USD",
            "close_date": CLOSE_DATE,
            "outcome": "lost",
        },
        "reasons": [
            {
                "category": "price.total-cost",
                "direction": "hurt",
                "primary": True,
                "explanation": "Their bundle cost less.",
            }
        ],
        "quotes": [{"text": f"The {term} question decided it."}],
    }


def wait_until_healthy(nodes: list[Node], timeout: float) -> list[float]:
    """Seconds until each node is healthy, asking each in turn, so that every
    node's index writer starts at once."""
    started = time.monotonic()
    seconds: list[float | None] = [None] * len(nodes)
    while None in seconds:
        for i, node in enumerate(nodes):
            if seconds[i] is None and node.healthy():
                seconds[i] = time.monotonic() - started
        if time.monotonic() - started > timeout:
            late = [n.name for n, s in zip(nodes, seconds, strict=True) if s is None]
            raise TimeoutError(f"node(s) {', '.join(late)} not healthy after {timeout} s")
        time.sleep(0.05)
    return seconds


def searchable_after(nodes: list[Node], token: str, term: str, debrief_id: int, timeout: float):
    """Seconds until each node's search finds the debrief (None: not within
    `timeout`), searching each node in turn every POLL_SECONDS."""
    started = time.monotonic()
    seconds: list[float | None] = [None] * len(nodes)
    while None in seconds and time.monotonic() - started < timeout:
        for i, node in enumerate(nodes):
            if seconds[i] is None and debrief_id in node.found(token, term)[1]:
                seconds[i] = time.monotonic() - started
        time.sleep(POLL_SECONDS)
    return seconds


def wait_until_found(node: Node, token: str, term: str, count: int, timeout: float) -> float:
    """Seconds until a search for `term` on `node` finds `count` debriefs."""
    started = time.monotonic()
    total = 0
    while time.monotonic() - started < timeout:
        total = node.found(token, term)[0]
        if total >= count:
            return time.monotonic() - started
        time.sleep(0.05)
    raise TimeoutError(f"node {node.name} found {total} of {count} after {timeout} s")


# The section


def _create_database(server_url: str, name: str) -> str:
    engine = create_engine(_psycopg(server_url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    engine.dispose()
    return make_url(_psycopg(server_url)).set(database=name).render_as_string(hide_password=False)


def _drop_database(server_url: str, name: str) -> None:
    engine = create_engine(_psycopg(server_url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    engine.dispose()


def _psycopg(url: str) -> str:
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _prepare(database_url: str, bench: Bench) -> str:
    """Schema, the demo corpus and a rep with a token; returns the token."""
    from kb import create_app
    from kb.auth.service import create_token, create_user
    from kb.cli import init_database
    from kb.demo.generator import generate
    from kb.extensions import db
    from kb.models import Role

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "KB_INDEX_DIR": str(bench.workdir / "nodes-setup-index"),
            "SECRET_KEY": "bench",
            "KB_SEARCH_INDEXER": "external",  # the nodes index it, not this process
        }
    )
    with app.app_context():
        init_database()
        started = time.perf_counter()
        generate(count=bench.count, seed=bench.seed, echo=None)
        bench.echo(
            f"Generated {bench.count:,} debriefs into PostgreSQL in "
            f"{time.perf_counter() - started:.1f} s."
        )
        rep = create_user("nodes-rep@example.com", None, Role.REP, "Nora Nodes", "East")
        token = create_token(rep, "nodes bench")
        db.session.remove()
        db.engine.dispose()
    return token


def section(bench: Bench) -> dict:
    server_url = bench.postgres_url or os.environ.get("KB_BENCH_POSTGRES_URL", "")
    if not server_url:
        bench.echo("Nodes: skipped; give a PostgreSQL server with --postgres-url.")
        return {"skipped": "no PostgreSQL server given (--postgres-url)"}
    name = f"kb_bench_nodes_{os.getpid()}"
    database_url = _create_database(server_url, name)
    nodes = [Node(n, database_url, bench.workdir / f"node-{n}") for n in ("a", "b")]
    try:
        token = _prepare(database_url, bench)
        return _measure(bench, nodes, token)
    finally:
        for node in nodes:
            node.stop()
        _drop_database(server_url, name)


def _measure(bench: Bench, nodes: list[Node], token: str) -> dict:
    a, b = nodes
    echo = bench.echo
    for node in nodes:
        node.start()
    first_ready = wait_until_healthy(nodes, 1800)
    documents = b.health()[1]["search_index"]["documents"]
    echo(
        "Two nodes (gunicorn, 1 worker × 4 threads each, own index folders) on one "
        "PostgreSQL database, started at once; each built its index of "
        f"{documents:,} documents: healthy after {first_ready[0]:.1f} s and {first_ready[1]:.1f} s."
    )

    on_b: list[float] = []
    on_a: list[float] = []
    missed = 0
    for n in range(bench.filings):
        term = word(n)
        debrief_id = a.file(token, term)
        seconds_b, seconds_a = searchable_after([b, a], token, term, debrief_id, 30)
        if seconds_b is None or seconds_a is None:
            missed += 1
        else:
            on_b.append(seconds_b)
            on_a.append(seconds_a)
    p50_b, p95_b = percentile(on_b, 0.5), percentile(on_b, 0.95)
    p50_a, p95_a = percentile(on_a, 0.5), percentile(on_a, 0.95)
    echo(f"{'filed on A, found on':<22} {'p50 s':>7} {'p95 s':>7} {'max s':>7}")
    for label, values, p50, p95 in (("B", on_b, p50_b, p95_b), ("A", on_a, p50_a, p95_a)):
        if values:
            echo(f"{label:<22} {p50:>7.2f} {p95:>7.2f} {max(values):>7.2f}")
    if missed:
        echo(f"{missed} of {bench.filings} filings were not found within 30 s.")

    b.stop()
    catch_up_term = "nodecatchup"
    filed_while_down = [a.file(token, catch_up_term) for _ in range(bench.catch_up_filings)]
    restarted = time.monotonic()
    b.start()
    healthy = b.wait_until_healthy(600)
    found = wait_until_found(b, token, catch_up_term, len(filed_while_down), 600)
    total = time.monotonic() - restarted
    echo(
        f"Node B stopped, {len(filed_while_down)} debriefs filed on A, B restarted: "
        f"healthy with no lag after {healthy:.1f} s, all found after {total:.1f} s."
    )
    return {
        "documents": documents,
        "first_healthy_seconds": [round(s, 2) for s in first_ready],
        "filings": bench.filings,
        "missed": missed,
        "found_on_b": _figures(on_b),
        "found_on_a": _figures(on_a),
        "catch_up": {
            "filed_while_down": len(filed_while_down),
            "healthy_seconds": round(healthy, 2),
            "all_found_seconds": round(total, 2),
            "found_after_healthy_seconds": round(found, 2),
        },
        "target_met": missed == 0 and p95_b is not None and p95_b <= TARGET_SECONDS,
    }


def _figures(values: list[float]) -> dict:
    if not values:
        return {}
    return {
        "p50_s": round(percentile(values, 0.5), 3),
        "p95_s": round(percentile(values, 0.95), 3),
        "max_s": round(max(values), 3),
    }
