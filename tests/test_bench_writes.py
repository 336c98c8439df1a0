"""`kb bench --only writes`: API clients filing at once through gunicorn
with a `kb indexer` beside it, on a PostgreSQL database of the section's own,
which it drops afterwards along with every process it started."""

import os
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from kb.bench import run
from kb.bench import writes as writes_bench
from kb.bench.nodes import _psycopg
from tests.conftest import PG_URL

pytestmark = pytest.mark.postgresql


def command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""  # it has ended


def test_the_writes_section_files_through_the_api_and_everything_filed_is_searchable(app):
    try:
        writes_bench.gunicorn()
    except RuntimeError as exc:
        pytest.skip(str(exc))
    # Processes other tests of this run started (a browser, say) are not its own.
    before = set(writes_bench._descendants(os.getpid()))
    lines: list[str] = []
    results = run(
        count=60,
        seed=3,
        queries_per_type=1,
        only=("writes",),
        echo=lines.append,
        postgres_url=PG_URL,
        clients=2,
        seconds=3,
        writes_modes=("external",),
    )

    writes = results["writes"]
    assert writes["documents"] >= 60 and writes["clients"] == 2
    measured = writes["external"]
    assert measured["client_filed"] > 0 and measured["per_second"] > 0
    assert (
        0 < measured["post"]["p50_ms"] <= measured["post"]["p95_ms"] <= measured["post"]["max_ms"]
    )
    assert measured["server_errors"] == 0 and measured["failed"] == {}
    # Every debrief filed was stored, and every one the clients filed is searchable.
    assert measured["stored"] == measured["filed"]
    assert measured["client_filed_searchable"] == measured["client_filed"]
    assert measured["probes"] >= 1 and measured["probes_missed"] == 0
    assert measured["searchable"]["p95_s"] is not None
    cpu = measured["cpu_seconds"]
    assert cpu["web"] > 0 and cpu["indexer"] > 0
    assert "thread" not in writes
    assert any("debriefs filed" in line and "POST p50" in line for line in lines)

    # Nothing is left behind: no server, no indexer, no database.
    started = set(writes_bench._descendants(os.getpid())) - before
    assert [command(pid) for pid in started if "kb" in command(pid)] == []
    engine = create_engine(_psycopg(PG_URL))
    with engine.connect() as conn:
        left = conn.scalar(
            text("SELECT count(*) FROM pg_database WHERE datname LIKE :name"),
            {"name": f"kb_bench_writes_{os.getpid()}"},
        )
    engine.dispose()
    assert left == 0
