"""Two worker processes give the same discovery for the same data: the
words and phrases listed, their counts and scores, how many candidates
were tested and how many pass the Benjamini–Hochberg correction, and so
which findings are flagged exploratory. Python orders sets of strings
differently in each process (PYTHONHASHSEED), and candidates come out of
sets; the order in which they are counted must not depend on it.

2,000 demo debriefs, and a sample of 100 debriefs per side for candidates
(the rest found through the index's tables, as on a large corpus): the
smallest corpus found on which the order of sets changed the counts."""

import json
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

ANCHOR = date(2026, 6, 30)
SEEDS = ("0", "1", "2", "3")

# Run in a fresh interpreter: discovery over the test's database and index.
SCRIPT = """
import json, sys
from datetime import date
from kb import create_app
from kb.themes import discovery, engine
from kb.themes.terms import term_cache

config, today, cases = json.loads(sys.argv[1])
today = date.fromisoformat(today)


def finding(f):
    return {
        "terms": f.terms, "phrase": f.phrase, "score": repr(f.score), "subset": f.subset,
        "background": f.background, "rest": f.rest, "exploratory": f.exploratory,
        "variants": [finding(v) for v in f.variants],
        "examples": [e.debrief_id for e in f.examples],
    }


def correction(c):
    return None if c is None else [c.tested, c.passing, c.most]


out = {}
with create_app(config).app_context():
    snap = engine.snapshot()
    for name, (filters, background, support) in cases.items():
        d = discovery.discover(
            snap, term_cache(), "", filters, background, support, today=today, sample=100
        )
        out[name] = {
            "subset": d.subset_size,
            "background": d.background_size,
            "words": [finding(f) for f in d.words],
            "phrases": [finding(f) for f in d.phrases],
            "emerging": [finding(f) for f in d.emerging],
            "correction": correction(d.correction),
            "emerging_correction": correction(d.emerging_correction),
            "warnings": d.warnings,
        }
print(json.dumps(out))
"""


def _discover(config: dict, cases: dict, seed: str) -> dict:
    root = str(Path(__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": root}
    args = json.dumps([config, ANCHOR.isoformat(), cases])
    done = subprocess.run(  # noqa: S603  (this interpreter, a fixed script)
        [sys.executable, "-c", SCRIPT, args],
        env=env,
        cwd=root,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    return json.loads(done.stdout)


def test_discovery_is_the_same_in_every_process_whatever_the_order_of_its_sets(app):
    from kb import search
    from kb.demo.generator import generate
    from kb.extensions import db

    generate(2000, seed=7, echo=None, anchor=ANCHOR)
    search.reindex()
    db.session.commit()
    config = {
        key: app.config[key]
        for key in (
            "TESTING",
            "SECRET_KEY",
            "SQLALCHEMY_DATABASE_URI",
            "KB_INDEX_DIR",
            "SERVER_NAME",
        )
    }
    config["KB_SEARCH_CATCH_UP_ON_START"] = False
    since = (ANCHOR - timedelta(days=200)).isoformat()
    cases = {
        "losses": ({"outcome": "lost"}, "all", 1),
        "recent losses": ({"outcome": "lost", "date_from": since}, "all", 1),
        "recent losses, support 5": ({"outcome": "lost", "date_from": since}, "all", 5),
        "the last 400 days": (
            {"date_from": (ANCHOR - timedelta(days=400)).isoformat()},
            "previous",
            1,
        ),
    }

    found = {seed: _discover(config, cases, seed) for seed in SEEDS}

    first = found[SEEDS[0]]
    assert first["recent losses"]["phrases"] and first["losses"]["words"]
    assert all(first[name]["correction"][0] > 1000 for name in cases)
    for seed in SEEDS[1:]:
        for name in cases:
            assert found[seed][name] == first[name], (seed, name)
