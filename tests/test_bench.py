"""`kb bench`'s exports section: it exports a generated corpus in every
format and reports rows, time and memory growth."""

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
