"""The memory section of `kb bench`: open files and resident memory across
many writes.

The bench's corpus is indexed, this process's index writer thread started,
and the app served from a background thread the way `kb run` serves it
(Werkzeug, a thread per request). Four clients then file --writes debriefs
through the API, every tenth followed by a search for its words (a search
after every write made 10,000 writes take hours on a shared machine; every
commit still opens a new searcher for the next search), while the process
samples its open file descriptors (/proc/self/fd), its resident memory
(VmRSS in /proc/self/status) and the index files it still maps after they
were deleted (merged segments; /proc/self/maps). Flat means the median of
the last third of the samples is about where the first third's was (single
samples swing with the searches in flight), without forcing a garbage
collection. Searches that found no usable index are counted too.
"""

import gc
import itertools
import json
import logging
import os
import statistics
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

from werkzeug.serving import make_server

from kb.bench import Bench
from kb.bench.nodes import payload, word

CLIENTS = 4
SEARCH_EVERY = 10  # writes per search
SAMPLES = 20
# Growth (see growth()) that still counts as flat.
FLAT = {"open_files": 10, "rss_mb": 50, "deleted_mapped": 5}


def open_files() -> int:
    return len(os.listdir("/proc/self/fd"))


def resident_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def deleted_mapped(folder: Path) -> int:
    """Files under `folder` this process still maps although they were deleted."""
    mapped = set()
    for line in Path("/proc/self/maps").read_text().splitlines():
        if line.endswith(" (deleted)") and str(folder) in line:
            mapped.add(line.split(None, 5)[-1])
    return len(mapped)


def segments(index_dir: Path) -> int:
    from kb.search.folder import IndexFolder

    generation = IndexFolder(index_dir).current()
    return len(list(generation.glob("*.seg"))) if generation else 0


def sample(writes: int, index_dir: Path) -> dict:
    return {
        "writes": writes,
        "open_files": open_files(),
        "rss_mb": round(resident_mb(), 1),
        "deleted_mapped": deleted_mapped(index_dir),
        "segments": segments(index_dir),
    }


def growth(samples: list[dict], key: str) -> float:
    """How much the median of `key` grew from the first third of the samples
    to the last: single samples swing with the searches in flight."""
    third = max(1, len(samples) // 3)
    return statistics.median(s[key] for s in samples[-third:]) - statistics.median(
        s[key] for s in samples[:third]
    )


def _call(base: str, token: str, method: str, path: str, body=None) -> tuple[int, bytes]:
    headers = {"Authorization": f"Bearer {token}"}
    data = None
    if body is not None:
        data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
    request = urllib.request.Request(base + path, data, headers, method=method)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310  (localhost)
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, b""


def section(bench: Bench) -> dict:
    from kb import search
    from kb.auth.service import create_token, create_user
    from kb.extensions import db
    from kb.models import Role

    app, echo, writes = bench.app, bench.echo, bench.writes
    index_dir = Path(app.config["KB_INDEX_DIR"]).resolve()
    if search.index_status()["documents"] is None:
        search.reindex()
    rep = create_user("memory-rep@example.com", None, Role.REP, "Mem Rep", "East")
    token = create_token(rep, "memory bench")
    db.session.commit()  # hold no transaction the server's requests would wait on
    follower = app.extensions.get("kb_search_indexer")
    if follower is not None:
        follower.ensure_running()

    quiet = logging.getLogger("werkzeug").level
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # not a line per request
    server = make_server("127.0.0.1", 0, app, threaded=True)
    serving = threading.Thread(target=server.serve_forever, name="bench-server", daemon=True)
    serving.start()
    base = f"http://127.0.0.1:{server.server_port}"
    numbers = itertools.count()
    done = itertools.count(1)
    filed = [0]
    failures: list[int] = []
    unavailable: list[int] = []  # searches answered "the index is being built"
    step = max(1, writes // SAMPLES)
    warm_up = min(step, writes)

    def client() -> None:
        while (n := next(numbers)) < writes:
            term = word(n, "memcheck")
            status, _ = _call(base, token, "POST", "/api/v1/debriefs", payload(term))
            if status != 201:
                failures.append(status)
            if n % SEARCH_EVERY:
                filed[0] = next(done)
                continue
            query = urlencode({"q": f"{term} price", "per_page": 25})
            status, answer = _call(base, token, "GET", f"/api/v1/search?{query}")
            if status != 200:
                failures.append(status)
            elif b"being built" in answer:
                unavailable.append(n)
            filed[0] = next(done)

    echo(
        f"Memory across {writes:,} API writes (every {SEARCH_EVERY}th followed by a search), "
        f"{CLIENTS} clients, "
        "served by Werkzeug threads with the index writer thread in the same process; "
        f"sampled after a warm-up of {warm_up:,} writes:"
    )
    started = time.perf_counter()
    clients = [threading.Thread(target=client, name=f"bench-client-{i}") for i in range(CLIENTS)]
    for thread in clients:
        thread.start()
    echo(f"{'writes':>8} {'open files':>11} {'RSS MB':>8} {'deleted, mapped':>16} {'segments':>9}")
    samples: list[dict] = []

    def take() -> None:
        s = sample(filed[0], index_dir)
        samples.append(s)
        line = f"{s['writes']:>8,} {s['open_files']:>11} {s['rss_mb']:>8.1f}"
        echo(f"{line} {s['deleted_mapped']:>16} {s['segments']:>9}")

    while any(thread.is_alive() for thread in clients):
        time.sleep(0.1)
        if filed[0] >= (samples[-1]["writes"] + step if samples else warm_up):
            take()
    for thread in clients:
        thread.join()
    seconds = time.perf_counter() - started
    search.wait_until_current(120)
    take()
    server.shutdown()
    server.server_close()
    serving.join(timeout=10)
    if follower is not None:
        follower.stop()  # before the bench removes the index folder under it
    logging.getLogger("werkzeug").setLevel(quiet)
    gc.collect()
    collected = sample(filed[0], index_dir)

    first, last = samples[0], samples[-1]
    figures = {}
    for key in (*FLAT, "segments"):
        values = [s[key] for s in samples]
        figures[key] = {"first": first[key], "last": last[key], "max": max(values)}
    flat = all(growth(samples, key) <= FLAT[key] for key in FLAT)
    echo(
        f"{filed[0]:,} writes in {seconds:.0f} s ({filed[0] / seconds:.1f}/s), "
        f"{len(failures)} failed requests, {len(unavailable)} searches found no usable "
        "index. After a full garbage collection: "
        f"{collected['open_files']} open files, {collected['rss_mb']:.1f} MB, "
        f"{collected['deleted_mapped']} deleted files mapped. "
        f"{'Flat' if flat else 'Not flat'}: from the first third of the samples to the "
        f"last, the median open files grew by {growth(samples, 'open_files'):+g}, "
        f"resident memory by {growth(samples, 'rss_mb'):+.1f} MB and deleted files "
        f"still mapped by {growth(samples, 'deleted_mapped'):+g} (allowing "
        f"+{FLAT['open_files']}, +{FLAT['rss_mb']} MB and +{FLAT['deleted_mapped']})."
    )
    return {
        "writes": filed[0],
        "clients": CLIENTS,
        "writes_per_search": SEARCH_EVERY,
        "seconds": round(seconds, 1),
        "failed_requests": len(failures),
        "searches_without_index": len(unavailable),
        "samples": samples,
        "after_gc": collected,
        **figures,
        "growth": {key: round(growth(samples, key), 1) for key in FLAT},
        "flat": flat,
    }


# A web worker's memory, step by step: `python -m kb.bench.memory FOLDER`
# on a folder kept by `kb bench --keep` starts `gunicorn -w 1 --threads 4`
# on its database and index (KB_SEARCH_INDEXER=external, so the worker holds
# no index writer) and reads the worker's memory from /proc after start-up
# and after searches, the themes overview, discovery and signed-in pages.

WORKER_QUERIES = (
    "price",
    "integration onboarding",
    '"too expensive"',
    "competitor:acme outcome:lost",
    "support",
    "security review",
    "amount:[50k TO]",
    "roadmap -price",
    "contract renewal",
)


def _worker_memory(pid: int) -> dict:
    """Resident (anonymous and file-backed) and proportional memory, in MB."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "RssAnon", "RssFile"):
            found[name] = int(value.split()[0]) / 1024
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, _, value = line.partition(":")
        if name == "Pss":
            found[name] = int(value.split()[0]) / 1024
    return found


def worker_steps(folder: Path, discovery: bool = True, echo=print) -> list[dict]:
    import http.cookiejar
    import re
    import socket
    import subprocess
    import sys

    from kb.bench.reindex import _children

    env = {
        **os.environ,
        "KB_DATABASE_URL": f"sqlite:///{folder / 'bench.sqlite3'}",
        "KB_INDEX_DIR": str(folder / "index"),
        "KB_SECRET_KEY": "bench",
        "KB_SEARCH_INDEXER": "external",
        "KB_INSECURE_COOKIES": "1",
        "KB_LOG_LEVEL": "WARNING",
    }
    email, password = "memory-admin@example.com", "memory-bench-pass-1"
    token_file = folder / "memory-token.txt"
    if not token_file.exists():
        code = (
            "from kb import create_app\n"
            "from kb.auth.service import create_token, create_user\n"
            "from kb.models import Role\n"
            "with create_app().app_context():\n"
            f"    user = create_user({email!r}, {password!r}, Role.ADMIN, 'Memory', 'East')\n"
            "    print(create_token(user, 'memory bench'))\n"
        )
        made = subprocess.run(  # noqa: S603  (the product's own code)
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        token_file.write_text(made.stdout.strip().splitlines()[-1])
    token = token_file.read_text().strip()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    gunicorn = Path(sys.executable).with_name("gunicorn")
    command = [str(gunicorn), "-w", "1", "--threads", "4", "-b", f"127.0.0.1:{port}"]
    server = subprocess.Popen(  # noqa: S603
        [*command, "--timeout", "900", "kb:create_app()"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    jar = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    rows: list[dict] = []

    def get(path: str, session: bool = False, data: bytes | None = None) -> tuple[int, bytes]:
        request = urllib.request.Request(base + path, data)  # noqa: S310  (localhost)
        if not session:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with (jar.open if session else urllib.request.urlopen)(request, timeout=900) as answer:
                return answer.status, answer.read()
        except urllib.error.HTTPError as exc:
            return exc.code, b""

    def note(step: str, status: int, seconds: float | None = None) -> None:
        found = {k: round(v, 1) for k, v in _worker_memory(worker).items()}
        rows.append({"step": step, "status": status, "seconds": seconds, **found})
        took = f"{seconds * 1000:>8,.0f}" if seconds is not None else " " * 8
        echo(
            f"{step:<30} {status:>4} {took} {found['VmRSS']:>7.1f} {found['RssAnon']:>7.1f} "
            f"{found['RssFile']:>7.1f} {found['Pss']:>7.1f}"
        )

    def timed(path: str) -> tuple[int, float]:
        started = time.perf_counter()
        status, _ = get(path)
        return status, time.perf_counter() - started

    try:
        for _ in range(3000):
            try:
                status, _ = get("/healthz")
                break
            except OSError:
                time.sleep(0.1)
        worker = _children(server.pid)[0]
        echo(
            f"{'after':<30} {'HTTP':>4} {'ms':>8} {'RSS MB':>7} {'anon':>7} {'file':>7} {'PSS':>7}"
        )
        note("start-up and /healthz", status)
        search = "/api/v1/search?" + urlencode({"q": WORKER_QUERIES[0], "per_page": 25})
        note("the first search", *timed(search))
        for q in WORKER_QUERIES:
            status, _ = get("/api/v1/search?" + urlencode({"q": q, "per_page": 25}))
        for sort in ("newest", "amount"):
            status, _ = get("/api/v1/search?" + urlencode({"q": "price", "sort": sort}))
        note(f"{len(WORKER_QUERIES) + 3} searches", status)
        note("the first themes overview", *timed("/api/v1/themes?figures=1"))
        if discovery:
            note("discovery", *timed("/api/v1/themes/discover"))
        _, page = get("/login", session=True)
        field = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page)
        form = {"email": email, "password": password}
        form["csrf_token"] = field.group(1).decode() if field else ""
        get("/login", session=True, data=urlencode(form).encode())
        for path in ("/", "/search?q=price", "/themes/", "/search?q=onboarding&page=2"):
            status, _ = get(path, session=True)
        note("signed-in pages", status)
        for n in range(30):
            query = WORKER_QUERIES[n % len(WORKER_QUERIES)] + f" word{n}"
            status, _ = get("/api/v1/search?" + urlencode({"q": query}))
        note("30 more searches", status)
        echo(f"Load average: {Path('/proc/loadavg').read_text().strip()}")
    finally:
        server.terminate()
        server.wait(60)
    return rows


if __name__ == "__main__":
    import sys

    arguments = [a for a in sys.argv[1:] if not a.startswith("--")]
    if len(arguments) != 1:
        raise SystemExit("usage: python -m kb.bench.memory FOLDER [--no-discovery]")
    worker_steps(Path(arguments[0]), discovery="--no-discovery" not in sys.argv)
