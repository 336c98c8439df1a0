"""`kb bench`'s sections: exports (a generated corpus in every format, with
rows, time and memory growth), imports, and reindex (`kb reindex` in its
own process, with time, memory and disk)."""

from kb.bench import run


def test_the_exports_section_exports_every_debrief_in_every_format(app):
    lines: list[str] = []
    results = run(count=120, seed=3, queries_per_type=1, only=("exports",), echo=lines.append)

    assert set(results) >= {"debriefs", "exports"} and "search" not in results
    exports = results["exports"]
    exported = exports["debriefs"]
    assert 0 < exported <= 120
    assert exports["csv"]["rows"] == exported
    assert exports["json"]["rows"] == exported
    assert exports["xlsx"]["rows"] > exported  # debriefs, reasons and quotes
    for fmt in ("csv", "xlsx", "json"):
        assert exports[fmt]["file_mb"] >= 0 and exports[fmt]["peak_growth_mb"] >= 0
        assert exports["targets_met"][fmt] is True
    assert any(line.startswith("Exports of") for line in lines)


def test_the_imports_section_reports_rows_per_second_for_each_size(app):
    lines: list[str] = []
    results = run(
        count=1,
        seed=3,
        queries_per_type=1,
        only=("imports",),
        echo=lines.append,
        import_sizes=(150, 300),
    )
    sizes = results["imports"]["sizes"]
    assert set(sizes) == {"150", "300"}
    for rows, figures in sizes.items():
        # A quarter of the generated deals are still open and skipped.
        assert 0.6 * int(rows) < figures["deals"] < int(rows)
        assert figures["rows_per_second"] > 0
    assert any(line.startswith("Imports of Salesforce reports (150, 300 rows)") for line in lines)


def test_import_time_grows_linearly_with_rows(app):
    """Sixteen times the rows take about sixteen times as long, not 256
    times: the rate may fall by a factor of 5 on a shared, noisy machine,
    where work that grew with the square of the rows would cut it by 16."""
    results = run(
        count=1,
        seed=5,
        queries_per_type=1,
        only=("imports",),
        echo=lambda _: None,
        import_sizes=(200, 3200),
    )
    small, large = (results["imports"]["sizes"][k] for k in ("200", "3200"))
    assert large["rows_per_second"] > small["rows_per_second"] / 5


def test_the_reindex_section_runs_kb_reindex_and_reports_its_time_memory_and_disk(app):
    lines: list[str] = []
    results = run(count=150, seed=3, queries_per_type=1, only=("reindex",), echo=lines.append)

    reindex = results["reindex"]
    assert reindex["documents"] == results["debriefs"]
    assert reindex["seconds"] > 0 and reindex["cpu_seconds"] > 0
    assert (
        reindex["peak_memory_mb"] > 0 and reindex["peak_resident_mb"] >= reindex["peak_memory_mb"]
    )
    # Where the peak is: the command's share, then each builder's (none at 150 debriefs).
    assert reindex["peak_memory_split_mb"][0] > 0
    assert abs(sum(reindex["peak_memory_split_mb"]) - reindex["peak_memory_mb"]) <= 2
    assert reindex["index_mb"] > 0 and reindex["peak_disk_mb"] >= 0
    assert set(reindex["targets_met"]) == {"seconds", "temp_ratio", "memory_mb"}
    # The time depends on the machine's load, which the line reports with it.
    assert len(reindex["load_average"]) == 2
    assert any(
        line.startswith("Reindex of 150 documents") and "load average" in line for line in lines
    )
