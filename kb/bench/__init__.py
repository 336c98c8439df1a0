"""`kb bench`: generate a corpus with the demo generator into a temporary
database and index folder, then run each section's measurements on it.

A section is a function taking the Bench and returning a JSON-able dict; it
prints its own table. Other features add theirs to SECTIONS.
"""

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import click
from flask import Flask


@dataclass
class Bench:
    app: Flask
    count: int
    seed: int
    queries_per_type: int
    workdir: Path
    echo: Callable[[str], None] = click.echo
    results: dict = field(default_factory=dict)
    import_sizes: tuple[int, ...] = ()  # rows per imported file; the section's own by default
    postgres_url: str = ""  # a PostgreSQL server the nodes section makes its database on
    filings: int = 50  # nodes: debriefs filed on one node and looked for on the other
    catch_up_filings: int = 100  # nodes: debriefs filed while the other node is down
    writes: int = 10_000  # memory: debriefs filed while memory and open files are sampled
    clients: int = 8  # writes: API clients filing at once
    seconds: float = 60.0  # writes: how long they file, per way of running the index writer
    writes_modes: tuple[str, ...] = ()  # writes: "external", "thread"; both by default

    @property
    def database_path(self) -> Path:
        return self.workdir / "bench.sqlite3"


def _search_section(bench: Bench) -> dict:
    from kb.bench.search import section

    return section(bench)


def _themes_section(bench: Bench) -> dict:
    from kb.bench.themes import section

    return section(bench)


def _exports_section(bench: Bench) -> dict:
    from kb.bench.exports import section

    return section(bench)


def _imports_section(bench: Bench) -> dict:
    from kb.bench.imports import section

    return section(bench)


def _nodes_section(bench: Bench) -> dict:
    from kb.bench.nodes import section

    return section(bench)


def _memory_section(bench: Bench) -> dict:
    from kb.bench.memory import section

    return section(bench)


def _reindex_section(bench: Bench) -> dict:
    from kb.bench.reindex import section

    return section(bench)


def _writes_section(bench: Bench) -> dict:
    from kb.bench.writes import section

    return section(bench)


SECTIONS: list[tuple[str, Callable[[Bench], dict]]] = [
    ("search", _search_section),
    ("themes", _themes_section),
    ("exports", _exports_section),
    ("imports", _imports_section),
    ("nodes", _nodes_section),
    ("memory", _memory_section),
    ("reindex", _reindex_section),
    ("writes", _writes_section),
]
SECTION_NAMES = tuple(name for name, _ in SECTIONS)
# Sections that generate their corpus into a PostgreSQL database of their
# own: run alone, they need none in the temporary SQLite database.
OWN_CORPUS = {"nodes", "writes"}


def percentile(values: list[float], share: float) -> float | None:
    """The value below which `share` of the values fall (nearest rank)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, round(share * len(ordered) + 0.5))
    return ordered[min(rank, len(ordered)) - 1]


def folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _app(workdir: Path, **overrides) -> Flask:
    from kb import create_app

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir / 'bench.sqlite3'}",
            "KB_INDEX_DIR": str(workdir / "index"),
            "SECRET_KEY": "bench",
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
            "SESSION_COOKIE_SECURE": False,
            "REMEMBER_COOKIE_SECURE": False,
            "SERVER_NAME": "localhost",
            # The corpus is indexed in bulk and timed; not at start-up.
            "KB_SEARCH_CATCH_UP_ON_START": False,
            # Sections time one worker computing; the themes section turns
            # sharing on itself where it measures it.
            "KB_THEME_FIGURES_STORED": False,
            **overrides,
        }
    )


def run(
    count: int,
    seed: int,
    queries_per_type: int,
    json_path: str | None = None,
    keep: bool = False,
    only: tuple[str, ...] = (),
    echo: Callable[[str], None] = click.echo,
    import_sizes: tuple[int, ...] = (),
    **options,
) -> dict:
    from kb.cli import init_database
    from kb.demo.generator import generate

    workdir = Path(tempfile.mkdtemp(prefix="kb-bench-"))
    echo(f"Benchmark data in {workdir} ({'kept' if keep else 'removed afterwards'}).")
    try:
        app = _app(workdir)
        bench = Bench(
            app, count, seed, queries_per_type, workdir, echo, import_sizes=import_sizes, **options
        )
        with app.app_context():
            bench.results.update(debriefs=count, seed=seed, cpus=os.cpu_count())
            if not only or not set(only) <= OWN_CORPUS:
                init_database()
                started = time.perf_counter()
                created = generate(count=count, seed=seed, echo=None)
                generated = time.perf_counter() - started
                echo(f"Generated {created} debriefs with the demo generator in {generated:.1f} s.")
                bench.results.update(debriefs=created, generate_seconds=round(generated, 1))
            for name, section in SECTIONS:
                if not only or name in only:
                    bench.results[name] = section(bench)
        if json_path:
            Path(json_path).write_text(json.dumps(bench.results, indent=2) + "\n")
            echo(f"Wrote {json_path}.")
        return bench.results
    finally:
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
