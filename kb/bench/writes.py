"""The writes section of `kb bench`: debriefs filed through the API by
several clients at once, on PostgreSQL, as deployed.

The section creates a database of its own on the PostgreSQL server it is
given (--postgres-url or KB_BENCH_POSTGRES_URL), generates the corpus
straight into it and builds the index from it in bulk (`kb reindex`'s path).
Then, for each way of running the index writer:

- `external`: `gunicorn -w 2` (threaded workers) with
  KB_SEARCH_INDEXER=external and one `kb indexer` process beside it, the
  documented deployment;
- `thread`: the same gunicorn with the writer as a background thread of one
  worker (KB_SEARCH_INDEXER=thread, the default);

--clients threads each file debriefs through the API, one after another,
for --seconds, while one probe files a debrief with a word of its own and
searches for it until it is found (filed → searchable). Meanwhile the probe
reads the index folder's cursor every 5 ms, which tells when the indexer has
committed the debrief to the index (filed → applied; the rest is the web
workers seeing the new commit and the search request itself), and searches
every 50 ms from then on (every 0.5 s before). Afterwards every debrief the
clients filed must be stored and searchable.

It reports debriefs per second, the POSTs' p50/p95/max, failed requests,
filed → searchable, the load average, and where the CPU went: the gunicorn
processes, the index writer (the `kb indexer` process), the PostgreSQL
backends serving this database, the clients (this process) and everything
else on the machine, read from /proc before and after.
"""

import os
import subprocess
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

from sqlalchemy import create_engine, text

from kb.bench import Bench, percentile
from kb.bench.nodes import (
    Node,
    _control_socket_options,
    _create_database,
    _drop_database,
    _psycopg,
    gunicorn,
    payload,
    word,
)
from kb.config import PROJECT_ROOT

CLIENTS = 8
SECONDS = 60.0
WORKERS = 2
THREADS = 4  # per worker, as in Deployment
MODES = ("external", "thread")
TARGETS = {"per_second": 100.0, "post_p95_ms": 150.0, "searchable_p95_s": 1.0}
PROBE_POLL_SECONDS = 0.05
PROBE_CURSOR_SECONDS = 0.005  # how often the probe reads the index folder's cursor
PROBE_EARLY_SECONDS = 0.5  # how often it searches before the indexer has applied it
PROBE_TIMEOUT = 30.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _kb_command() -> list[str]:
    import shutil
    import sys

    found = shutil.which("kb", path=os.path.dirname(sys.executable))
    if found is None:
        return [sys.executable, "-c", "from kb.cli import main; main()"]
    return [found]


class Server(Node):
    """`gunicorn -w WORKERS --threads THREADS` serving the app, with its index
    writer either a thread of one worker or a `kb indexer` process."""

    def __init__(self, database_url: str, folder: Path, mode: str):
        super().__init__(mode, database_url, folder)
        self.mode = mode
        self.indexer: subprocess.Popen | None = None

    def _env(self) -> dict:
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PYTHONPATH": str(PROJECT_ROOT),
            "KB_DATABASE_URL": self.database_url,
            "KB_INDEX_DIR": str(self.index_dir),
            "KB_SECRET_KEY": "bench-writes",
            "KB_SEARCH_INDEXER": self.mode,
            "KB_INSECURE_COOKIES": "1",
        }

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        log = open(self.folder / f"server-{self.mode}.log", "ab")  # noqa: SIM115  (closed in stop())
        self._log = log
        self.process = subprocess.Popen(  # noqa: S603  (the product's own server, fixed arguments)
            [gunicorn(), "--bind", f"127.0.0.1:{self.port}", "--workers", str(WORKERS)]
            + ["--threads", str(THREADS), "--chdir", str(self.folder)]
            + _control_socket_options()
            + ["kb:create_app()"],
            env=self._env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        if self.mode == "external":
            self.indexer = subprocess.Popen(  # noqa: S603  (the product's own command)
                [*_kb_command(), "indexer"],
                env=self._env(),
                cwd=self.folder,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def stop(self) -> None:
        indexer, self.indexer = self.indexer, None
        if indexer is not None:
            _terminate(indexer)
        super().stop()

    def log_tail(self, lines: int = 30) -> str:
        try:
            path = self.folder / f"server-{self.mode}.log"
            return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def _terminate(process: subprocess.Popen) -> None:
    import signal

    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(30)


# CPU accounting, from /proc


def _cpu(pid: int) -> float:
    """Seconds of CPU (user + system) the process has used; 0 when gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def _descendants(pid: int) -> list[int]:
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    found, wanted = [], {pid}
    while True:
        more = [p for p, parent in parents.items() if parent in wanted and p not in found]
        if not more:
            return found
        found += more
        wanted = set(more)


def _machine_busy() -> float:
    """Seconds of CPU all cores have spent busy since boot."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / CLOCK_TICKS


def _backends(engine, database: str) -> list[int]:
    with engine.connect() as conn:
        return list(
            conn.scalars(
                text("SELECT pid FROM pg_stat_activity WHERE datname = :name"), {"name": database}
            )
        )


class _CpuSnapshot:
    def __init__(self, server: Server, engine, database: str):
        web = [server.process.pid, *_descendants(server.process.pid)]
        indexer = []
        if server.indexer is not None:
            indexer = [server.indexer.pid, *_descendants(server.indexer.pid)]
        self.pids = {"web": web, "indexer": indexer, "postgres": _backends(engine, database)}
        self.cpu = {group: {p: _cpu(p) for p in pids} for group, pids in self.pids.items()}
        self.clients = time.process_time()
        self.machine = _machine_busy()

    def since(self, before: "_CpuSnapshot") -> dict:
        """CPU seconds per group between two snapshots. A process seen only
        at the end counts from zero (it started in between); one gone by the
        end counts what it had used when last seen."""
        used = {}
        for group in self.cpu:
            pids = set(self.cpu[group]) | set(before.cpu[group])
            used[group] = sum(
                max(self.cpu[group].get(p, before.cpu[group].get(p, 0.0)), 0.0)
                - before.cpu[group].get(p, 0.0)
                for p in pids
            )
        used["clients"] = self.clients - before.clients
        used["machine"] = self.machine - before.machine
        used["other"] = used["machine"] - sum(used[g] for g in (*self.cpu, "clients"))
        return {group: round(seconds, 1) for group, seconds in used.items()}


# The run


class _Run:
    """Client threads and a probe filing through one server for `seconds`."""

    def __init__(
        self, server: Server, token: str, clients: int, seconds: float, term: str, engine=None
    ):
        self.server, self.token, self.engine = server, token, engine
        self.clients, self.seconds, self.term = clients, seconds, term
        self.lock = threading.Lock()
        self.latencies: list[float] = []
        self.statuses: dict[int, int] = {}
        self.searchable: list[float] = []
        self.finding_search: list[float] = []  # the search request that found it
        # Filed → in the index folder's cursor (the indexer committed it).
        self.indexed: list[float] = []
        self.probe_missed = 0
        self.probe_filed = 0
        self.stop_at = 0.0

    def client(self) -> None:
        body = payload(self.term)
        while time.monotonic() < self.stop_at:
            started = time.perf_counter()
            status, _ = self.server.request("POST", "/api/v1/debriefs", self.token, body)
            elapsed = time.perf_counter() - started
            with self.lock:
                self.statuses[status] = self.statuses.get(status, 0) + 1
                if status == 201:
                    self.latencies.append(elapsed)

    def probe(self, first: int) -> None:
        n = first
        while time.monotonic() < self.stop_at:
            term = word(n, "writesprobe")
            n += 1
            status, body = self.server.request(
                "POST", "/api/v1/debriefs", self.token, payload(term)
            )
            if status != 201:
                with self.lock:
                    self.statuses[status] = self.statuses.get(status, 0) + 1
                continue
            filed = time.monotonic()
            self.probe_filed += 1
            change = self._outbox_id(body["id"])
            indexed = None
            query = urlencode({"q": term, "per_page": 10, "facets": 0, "highlight": 0})
            while True:
                asked = time.monotonic()
                if indexed is None and self._applied(change):
                    indexed = asked
                status, found = self.server.request("GET", f"/api/v1/search?{query}", self.token)
                if status == 200 and body["id"] in {hit["id"] for hit in found["hits"]}:
                    done = time.monotonic()
                    self.searchable.append(done - filed)
                    self.finding_search.append(done - asked)
                    # Applied at the latest when the search found it.
                    self.indexed.append((indexed or asked) - filed)
                    break
                if time.monotonic() - filed > PROBE_TIMEOUT:
                    self.probe_missed += 1
                    break
                # Look at the cursor often; search every PROBE_POLL_SECONDS
                # once it is applied, and every PROBE_EARLY_SECONDS before
                # (a search for a word no document has yet also works out a
                # spelling suggestion: searching at full pace for nothing
                # would load the server under test).
                pace = PROBE_POLL_SECONDS if indexed is not None else PROBE_EARLY_SECONDS
                while time.monotonic() - asked < pace:
                    if indexed is None and self._applied(change):
                        indexed = time.monotonic()
                        break
                    time.sleep(PROBE_CURSOR_SECONDS)

    def _outbox_id(self, debrief_id: int) -> int | None:
        """The outbox row the filing committed for the debrief."""
        with self.engine.connect() as conn:
            return conn.scalar(
                text(
                    "SELECT min(id) FROM index_changes WHERE doc_type = 'debrief' AND doc_id = :id"
                ),
                {"id": debrief_id},
            )

    def _applied(self, change: int | None) -> bool:
        """Whether the index folder's cursor is past the outbox row: the
        indexer has committed it to the index (searches may not see it yet)."""
        from kb.search.folder import IndexFolder

        if change is None:
            return False
        folder = IndexFolder(self.server.index_dir)
        generation = folder.current()
        cursor = folder.read_cursor(generation) if generation else None
        return cursor is not None and cursor.applied_id >= change and change not in cursor.gaps

    def run(self, probe_first: int) -> float:
        threads = [threading.Thread(target=self.client, daemon=True) for _ in range(self.clients)]
        threads.append(threading.Thread(target=self.probe, args=(probe_first,), daemon=True))
        started = time.monotonic()
        self.stop_at = started + self.seconds
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(self.seconds + PROBE_TIMEOUT + 120)
        return time.monotonic() - started


def _prepare(database_url: str, bench: Bench, index_dir: Path) -> tuple[str, dict]:
    """Schema, the corpus, the index built in bulk and a rep with a token."""
    from kb import create_app, search
    from kb.auth.service import create_token, create_user
    from kb.cli import init_database
    from kb.demo.generator import generate
    from kb.extensions import db
    from kb.models import Role

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "KB_INDEX_DIR": str(index_dir),
            "SECRET_KEY": "bench",
            "KB_SEARCH_INDEXER": "external",
        }
    )
    timings = {}
    with app.app_context():
        init_database()
        started = time.perf_counter()
        generate(count=bench.count, seed=bench.seed, echo=None)
        timings["generate_seconds"] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        documents = search.reindex()
        timings["index_seconds"] = round(time.perf_counter() - started, 1)
        timings["documents"] = documents
        rep = create_user("writes-rep@example.com", None, Role.REP, "Wren Writes", "East")
        token = create_token(rep, "writes bench")
        db.session.remove()
        db.engine.dispose()
    bench.echo(
        f"Generated {bench.count:,} debriefs into PostgreSQL in {timings['generate_seconds']} s; "
        f"indexed {documents:,} documents in bulk in {timings['index_seconds']} s."
    )
    return token, timings


def section(bench: Bench) -> dict:
    server_url = bench.postgres_url or os.environ.get("KB_BENCH_POSTGRES_URL", "")
    if not server_url:
        bench.echo("Writes: skipped; give a PostgreSQL server with --postgres-url.")
        return {"skipped": "no PostgreSQL server given (--postgres-url)"}
    name = f"kb_bench_writes_{os.getpid()}"
    database_url = _create_database(server_url, name)
    folder = bench.workdir / "writes"
    servers: list[Server] = []
    engine = create_engine(_psycopg(database_url))
    try:
        token, timings = _prepare(database_url, bench, folder / "index")
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
        results: dict = {**timings, "clients": bench.clients, "seconds": bench.seconds}
        probe_first = 0
        for mode in bench.writes_modes or MODES:
            server = Server(database_url, folder, mode)
            servers.append(server)
            results[mode] = _measure(bench, server, token, engine, name, mode, probe_first)
            probe_first += 10_000
            server.stop()
        return results
    finally:
        for server in servers:
            server.stop()
        engine.dispose()
        _drop_database(server_url, name)


def _count(engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(text("SELECT count(*) FROM debriefs"))


def _measure(
    bench: Bench, server: Server, token: str, engine, database: str, mode: str, probe_first: int
) -> dict:
    echo = bench.echo
    server.start()
    server.wait_until_healthy(600)
    # Warm up: each worker imports and connects; the writer thread starts.
    term = f"writesload{mode}"
    for _ in range(2 * WORKERS * THREADS):
        server.file(token, term)
    server.wait_until_healthy(120)
    stored_before = _count(engine)
    searchable_before = server.found(token, term)[0]

    run = _Run(server, token, bench.clients, bench.seconds, term, engine)
    load_before = Path("/proc/loadavg").read_text().split()[:3]
    cpu_before = _CpuSnapshot(server, engine, database)
    elapsed = run.run(probe_first)
    cpu = _CpuSnapshot(server, engine, database).since(cpu_before)
    load = Path("/proc/loadavg").read_text().split()[:3]

    drained_started = time.monotonic()
    server.wait_until_healthy(600)
    drained = time.monotonic() - drained_started
    filed = len(run.latencies)
    stored = _count(engine) - stored_before
    searchable = server.found(token, term)[0] - searchable_before
    server.stop()

    failed = {str(s): n for s, n in sorted(run.statuses.items()) if s != 201}
    server_errors = sum(n for s, n in run.statuses.items() if s >= 500 or s == 0)
    ms = sorted(1000 * s for s in run.latencies)
    per_second = (filed + run.probe_filed) / elapsed
    post = {
        "p50_ms": _round(percentile(ms, 0.5)),
        "p95_ms": _round(percentile(ms, 0.95)),
        "max_ms": _round(max(ms) if ms else None),
    }
    found = {
        "p50_s": _round(percentile(run.searchable, 0.5), 3),
        "p95_s": _round(percentile(run.searchable, 0.95), 3),
        "max_s": _round(max(run.searchable) if run.searchable else None, 3),
        "indexed_p50_s": _round(percentile(run.indexed, 0.5), 3),
        "indexed_p95_s": _round(percentile(run.indexed, 0.95), 3),
        "finding_search_p50_s": _round(percentile(run.finding_search, 0.5), 3),
        "finding_search_p95_s": _round(percentile(run.finding_search, 0.95), 3),
    }
    echo(
        f"Writes, index writer {mode} ({'`kb indexer` process' if mode == 'external' else 'thread'}"
        f"), gunicorn -w {WORKERS} --threads {THREADS}, {bench.clients} clients for "
        f"{elapsed:.0f} s:"
    )
    echo(
        f"  {filed + run.probe_filed:,} debriefs filed, {per_second:.1f}/s; POST p50 "
        f"{post['p50_ms']} ms, p95 {post['p95_ms']} ms, max {post['max_ms']} ms; "
        f"failed {sum(failed.values())} {failed or ''} (5xx or no answer: {server_errors})"
    )
    echo(
        f"  filed → searchable ({len(run.searchable)} probes, {run.probe_missed} missed): "
        f"p50 {found['p50_s']} s, p95 {found['p95_s']} s, max {found['max_s']} s; "
        f"filed → applied by the indexer p50 {found['indexed_p50_s']} s, p95 "
        f"{found['indexed_p95_s']} s; the search request that found it p50 "
        f"{found['finding_search_p50_s']} s, p95 {found['finding_search_p95_s']} s; "
        f"index caught up {drained:.1f} s after the run"
    )
    echo(
        f"  stored {stored:,} of {filed + run.probe_filed:,}; the clients' {filed:,} searchable: "
        f"{searchable:,}; load average {' '.join(load_before)} → {' '.join(load)}"
    )
    echo(
        "  CPU seconds: "
        + ", ".join(f"{group} {seconds}" for group, seconds in cpu.items())
        + f" (of {2 * elapsed:.0f} on 2 cores)" * (os.cpu_count() == 2)
    )
    return {
        "elapsed_seconds": round(elapsed, 1),
        "filed": filed + run.probe_filed,
        "client_filed": filed,
        "per_second": round(per_second, 1),
        "post": post,
        "failed": failed,
        "server_errors": server_errors,
        "searchable": found,
        "probes": len(run.searchable),
        "probes_missed": run.probe_missed,
        "caught_up_seconds": round(drained, 1),
        "stored": stored,
        "client_filed_searchable": searchable,
        "load_average": {"before": load_before, "after": load},
        "cpu_seconds": cpu,
        "targets_met": {
            "per_second": per_second >= TARGETS["per_second"],
            "post_p95": post["p95_ms"] is not None and post["p95_ms"] <= TARGETS["post_p95_ms"],
            "searchable_p95": found["p95_s"] is not None
            and found["p95_s"] <= TARGETS["searchable_p95_s"]
            and run.probe_missed == 0,
        },
    }


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)
