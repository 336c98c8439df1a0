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
