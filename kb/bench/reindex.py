"""The reindex section of `kb bench`: `kb reindex` run as an operator runs
it, in a process of its own on the bench's database and index folder.

While it runs, the section samples (every SAMPLE_SECONDS) the memory of the
command and its builder processes, read from /proc: the sum of their
proportional set sizes (shared pages counted once, split between the
processes sharing them) and of their resident sizes, with how the largest
sum splits between the command and each builder, and the disk taken by
the generation being built (its segments, temporary runs and the codec's
temporary files). The final index's size is that generation once switched to, with how
many of its segments have their sequence tables (discovery's first use
writes those that are missing).
The machine's load average is noted before and after: on a shared machine
the time depends on it, the CPU time much less.
"""

import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

from kb.bench import Bench, folder_size
from kb.search import sequences
from kb.search.indexer import open_generation

SAMPLE_SECONDS = 0.1
TARGETS = {"seconds": 60, "temp_ratio": 3.0, "memory_mb": 500}


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _load_average() -> float | None:
    """The machine's load average over the last minute."""
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _memory(pid: int) -> tuple[int, int]:
    """(proportional set size, resident set size) of a process, in bytes."""
    pss = rss = 0
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("Pss", "Rss"):
                kilobytes = int(value.split()[0]) * 1024
                pss, rss = (kilobytes, rss) if name == "Pss" else (pss, kilobytes)
    except (OSError, ValueError):
        pass
    return pss, rss


class _Sampler(threading.Thread):
    def __init__(self, pid: int, index_root: Path, keep: set[Path]):
        super().__init__(daemon=True)
        self.pid, self.index_root, self.keep = pid, index_root, keep
        self.peak_pss = self.peak_rss = self.peak_disk = self.builders = 0
        self.peak_split: list[int] = []  # the command's and each builder's share of peak_pss
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(SAMPLE_SECONDS):
            pids = [self.pid, *_children(self.pid)]
            self.builders = max(self.builders, len(pids) - 1)
            sizes = [_memory(pid) for pid in pids]
            if sum(pss for pss, _ in sizes) > self.peak_pss:
                self.peak_pss = sum(pss for pss, _ in sizes)
                self.peak_split = [pss for pss, _ in sizes]
            self.peak_rss = max(self.peak_rss, sum(rss for _, rss in sizes))
            building = [p for p in self.index_root.glob("gen-*") if p not in self.keep]
            try:
                disk = sum(folder_size(p) for p in building)
            except OSError:  # a file removed while it was measured
                continue
            self.peak_disk = max(self.peak_disk, disk)


def section(bench: Bench) -> dict:
    echo = bench.echo
    index = bench.app.extensions["kb_search"]
    root = index.folder.root
    before = set(root.glob("gen-*"))
    environment = {
        **os.environ,
        "KB_DATABASE_URL": f"sqlite:///{bench.database_path}",
        "KB_INDEX_DIR": str(root),
        "KB_SECRET_KEY": "bench",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(Path(__file__).parents[2]), *sys.path])),
    }
    echo("Reindex: running `kb reindex` in its own process…")
    log = bench.workdir / "reindex.log"
    cpu_before = _children_cpu()
    load_before = _load_average()
    started = time.perf_counter()
    with open(log, "w") as output:
        process = subprocess.Popen(  # noqa: S603  (the product's own command)
            [sys.executable, "-c", "from kb.cli import main; main()", "reindex"],
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        sampler = _Sampler(process.pid, root, before)
        sampler.start()
        process.wait()
    seconds = time.perf_counter() - started
    sampler.done.set()
    sampler.join()
    text = log.read_text()
    if process.returncode:
        raise RuntimeError(f"kb reindex failed:\n{text}")
    generation = index.folder.current()
    final = folder_size(generation)
    segments = open_generation(generation)._segments()
    with_tables = [
        segment
        for segment in segments
        if all(
            sequences.path_of(generation, segment.segment_id(), kind).exists()
            for kind in sequences.KINDS
        )
    ]
    result = {
        "documents": int(text.rsplit("Indexed ", 1)[1].split()[0]),
        "seconds": round(seconds, 1),
        # The command's and its builders' (each waited for by its parent).
        "cpu_seconds": round(_children_cpu() - cpu_before, 1),
        "builder_processes": sampler.builders,
        "peak_memory_mb": round(sampler.peak_pss / 1e6),
        "peak_memory_split_mb": [round(pss / 1e6) for pss in sampler.peak_split],
        "peak_resident_mb": round(sampler.peak_rss / 1e6),
        "peak_disk_mb": round(sampler.peak_disk / 1e6, 1),
        "index_mb": round(final / 1e6, 1),
        "temp_ratio": round(sampler.peak_disk / final, 2) if final else None,
        # Segments whose sequence tables discovery finds written, rather
        # than writing them on first use.
        "segments": len(segments),
        "segments_with_sequence_tables": len(with_tables),
        "load_average": [load_before, _load_average()],
        "targets": TARGETS,
    }
    result["targets_met"] = {
        "seconds": seconds <= TARGETS["seconds"],
        "temp_ratio": (result["temp_ratio"] or 0) <= TARGETS["temp_ratio"],
        "memory_mb": result["peak_memory_mb"] <= TARGETS["memory_mb"],
    }
    _print(echo, result)
    return result


def _print(echo, result: dict) -> None:
    marks = {True: "met", False: "MISSED"}
    met = result["targets_met"]
    echo(
        f"Reindex of {result['documents']:,} documents: {result['seconds']} s "
        f"({result['cpu_seconds']} s of CPU, {result['builder_processes']} builder processes; "
        f"≤ {TARGETS['seconds']} s {marks[met['seconds']]}), "
        f"peak memory {result['peak_memory_mb']} MB proportional "
        f"({' + '.join(map(str, result['peak_memory_split_mb'])) or 0} MB: the command, then each "
        "builder), "
        f"{result['peak_resident_mb']} MB resident (≤ {TARGETS['memory_mb']} MB "
        f"{marks[met['memory_mb']]}), peak disk while building {result['peak_disk_mb']} MB "
        f"for an index of {result['index_mb']} MB ({result['temp_ratio']}×; "
        f"≤ {TARGETS['temp_ratio']:g}× {marks[met['temp_ratio']]}); "
        f"sequence tables written for {result['segments_with_sequence_tables']} of "
        f"{result['segments']} segments; "
        f"load average {result['load_average'][0]} before, {result['load_average'][1]} after."
    )
