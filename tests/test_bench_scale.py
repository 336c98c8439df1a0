"""`kb bench`'s memory and nodes sections."""

from kb.bench import run


def test_the_memory_section_samples_open_files_and_memory_across_api_writes(app):
    lines: list[str] = []
    results = run(
        count=30, seed=3, queries_per_type=1, only=("memory",), echo=lines.append, writes=40
    )
    memory = results["memory"]
    assert memory["writes"] == 40 and memory["failed_requests"] == 0
    assert memory["searches_without_index"] == 0
    assert [s["writes"] for s in memory["samples"]][-1] == 40
    assert len(memory["samples"]) >= 3
    for key in ("open_files", "rss_mb", "deleted_mapped", "segments"):
        figures = memory[key]
        assert figures["max"] >= max(figures["first"], figures["last"])
    assert memory["open_files"]["first"] > 3 and memory["rss_mb"]["first"] > 10
    assert memory["after_gc"]["deleted_mapped"] == 0
    assert any(line.startswith("Memory across 40 API writes") for line in lines)
    assert any("from the first third of the samples to the last" in line for line in lines)


def test_the_nodes_section_needs_a_postgresql_server(app, monkeypatch):
    monkeypatch.delenv("KB_BENCH_POSTGRES_URL", raising=False)
    lines: list[str] = []
    results = run(count=1, seed=3, queries_per_type=1, only=("nodes",), echo=lines.append)
    assert results["nodes"] == {"skipped": "no PostgreSQL server given (--postgres-url)"}
    assert "Nodes: skipped; give a PostgreSQL server with --postgres-url." in lines
