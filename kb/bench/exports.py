"""The exports section of `kb bench`: every debrief of the corpus exported as
CSV, XLSX and JSON (as an admin, newest first, what `kb export debriefs`
does), each written to a file while a thread samples the process's memory.

Streaming means memory does not grow with the rows written: for each format
the section reports the growth of the resident set over its size just
before the export, at its highest while the first tenth of the rows was
written and at its highest over the whole export. Flat: the whole export's
peak stays within FLAT_MARGIN_MB of the first tenth's.
"""

import gc
import os
import threading
import time
import tracemalloc
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path

from kb import search
from kb.bench import Bench
from kb.exports import debrief_rows, formats, rows
from kb.extensions import db
from kb.search import SearchParams

FORMATS = ("csv", "xlsx", "json")
FLAT_MARGIN_MB = 32
SAMPLE_SECONDS = 0.02
MB = 1024 * 1024


def _resident_bytes() -> int | None:
    """The process's resident set, from /proc (Linux); None elsewhere."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


class Sampler:
    """Samples (rows written so far, memory) until stopped. Memory is the
    resident set where /proc has it, else what tracemalloc traces."""

    def __init__(self):
        self.rows = 0
        self.samples: list[tuple[int, int]] = []
        self._stop = threading.Event()
        self.traced = _resident_bytes() is None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def memory(self) -> int:
        if self.traced:
            return tracemalloc.get_traced_memory()[0]
        return _resident_bytes() or 0

    def counted(self, items: Iterable) -> Iterator:
        for item in items:
            self.rows += 1
            yield item

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((self.rows, self.memory()))
            time.sleep(SAMPLE_SECONDS)

    def __enter__(self) -> "Sampler":
        if self.traced:
            tracemalloc.start()
        gc.collect()
        self.baseline = self.memory()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.samples.append((self.rows, self.memory()))
        if self.traced:
            tracemalloc.stop()

    def peak_growth(self, up_to_rows: int | None = None) -> float:
        """The highest memory over the baseline, in MB, while at most
        `up_to_rows` rows had been written (all samples when None)."""
        kept = [m for r, m in self.samples if up_to_rows is None or r <= up_to_rows]
        return round(max(0, max(kept, default=self.baseline) - self.baseline) / MB, 1)


def _chunks(fmt: str, sampler: Sampler, params: SearchParams) -> Iterator:
    user = rows.export_viewer()
    if fmt == "json":
        return formats.json_chunks(sampler.counted(debrief_rows.debrief_documents(user, params)))
    book = debrief_rows.debrief_book(user, params)
    if fmt == "xlsx":
        items = book.items
        return formats.xlsx_chunks(replace(book, items=lambda: sampler.counted(items())))
    sheet = book.sheet(0)
    return formats.csv_chunks(replace(sheet, rows=sampler.counted(sheet.rows)))


def export_once(fmt: str, path: Path) -> dict:
    params = SearchParams(sort="newest")
    with Sampler() as sampler:
        started = time.perf_counter()
        with open(path, "wb") as out:
            for chunk in _chunks(fmt, sampler, params):
                out.write(chunk.encode("utf-8") if isinstance(chunk, str) else chunk)
        seconds = time.perf_counter() - started
    first_tenth = max(1, sampler.rows // 10)
    result = {
        "rows": sampler.rows,
        "seconds": round(seconds, 1),
        "rows_per_second": round(sampler.rows / seconds) if seconds else None,
        "file_mb": round(path.stat().st_size / MB, 1),
        "baseline_mb": round(sampler.baseline / MB, 1),
        "peak_growth_first_tenth_mb": sampler.peak_growth(first_tenth),
        "peak_growth_mb": sampler.peak_growth(),
        "memory": "traced" if sampler.traced else "resident",
    }
    result["flat"] = (
        result["peak_growth_mb"] <= result["peak_growth_first_tenth_mb"] + FLAT_MARGIN_MB
    )
    path.unlink()
    db.session.rollback()
    return result


def section(bench: Bench) -> dict:
    echo = bench.echo
    if search.index_status().get("documents") is None:
        echo("Exports: building the index…")
        search.reindex()
    search.catch_up()
    debriefs = search.all_matches(rows.export_viewer(), SearchParams()).total
    result: dict = {"debriefs": debriefs, "flat_margin_mb": FLAT_MARGIN_MB}
    for fmt in FORMATS:
        echo(f"Exports: all {debriefs:,} debriefs as {fmt.upper()}…")
        result[fmt] = export_once(fmt, bench.workdir / f"export.{fmt}")
    result["targets_met"] = {fmt: result[fmt]["flat"] for fmt in FORMATS}
    _print(echo, result)
    return result


def _print(echo, result: dict) -> None:
    echo("")
    echo(
        f"Exports of {result['debriefs']:,} debriefs (memory growth over the start, MB; "
        "XLSX rows count all three sheets)"
    )
    header = (
        f"{'format':8}{'rows':>10}{'seconds':>9}{'rows/s':>9}{'file MB':>9}"
        f"{'first 10%':>11}{'whole':>8}  flat"
    )
    echo(header)
    echo("-" * len(header))
    for fmt in FORMATS:
        r = result[fmt]
        echo(
            f"{fmt:8}{r['rows']:>10,}{r['seconds']:>9}{r['rows_per_second'] or '-':>9}"
            f"{r['file_mb']:>9}{r['peak_growth_first_tenth_mb']:>11}{r['peak_growth_mb']:>8}"
            f"  {'yes' if r['flat'] else 'NO'}"
        )
    echo(
        f"Flat: the whole export's peak within {result['flat_margin_mb']} MB of the first "
        "tenth's, whatever the number of rows."
    )
