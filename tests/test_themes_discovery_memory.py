"""A worker that computes a discovery does not keep what it read for it:
the pages of the index's term and sequence tables are unmapped from the
process afterwards (the page cache keeps them), the G² values kept by
counts go with the discovery, and the next discovery reads the tables
again with the same result."""

from datetime import date
from pathlib import Path

import pytest

from kb import search
from kb.analytics.cache import results
from kb.themes import discovery, engine
from kb.themes.terms import term_cache

TABLES = (".kb_terms_", ".kb_sequences_")


def _table_pages_kb() -> int:
    """Resident kB of the index's term and sequence tables in this process."""
    found, table = 0, False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        first = line.split(None, 1)[0]
        if "-" in first and not first.endswith(":"):
            table = any(kind in line for kind in TABLES)
        elif table and first == "Rss:":
            found += int(line.split()[1])
    return found


@pytest.mark.skipif(not Path("/proc/self/smaps").exists(), reason="reads /proc/self/smaps")
def test_discovery_lets_go_of_the_tables_it_read(app):
    from kb.demo.generator import generate

    today = date(2026, 6, 30)
    generate(400, seed=8, echo=None, anchor=today)
    search.reindex()
    snap = engine.snapshot()

    def discover():
        # A sample smaller than the subset: the rest is read from the tables.
        return discovery.discover(
            snap, term_cache(), "", {"outcome": "lost"}, today=today, sample=40
        )

    first = discover()
    assert first.words or first.phrases
    assert discovery.log_likelihood.cache_info().currsize == 0
    assert _table_pages_kb() == 0

    results().clear()  # computed again, reading the tables' pages back
    again = discover()
    assert again is not first

    def lists(found):
        return [
            [(f.phrase, f.subset, f.rest, f.score) for f in kind]
            for kind in (found.words, found.phrases, found.emerging)
        ]

    assert lists(again) == lists(first)
