"""The sequence tables the bulk builder writes with its segments are those
the first process needing them would write from the database; that
first-use build happens once per machine, however many processes need the
table at once, and one killed while building leaves nothing in the way."""

import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from whoosh import index as whoosh_index

from kb.extensions import db
from kb.models import Debrief
from kb.search import bulk, indexer, segment_tables, sequences, termtable
from kb.search.analysis import analyse
from kb.search.documents import DebriefFacts, facts_document, facts_said
from kb.search.record_ids import _segment_debrief_ids
from kb.themes.sequences import READERS, _rows

from .test_search_bulk import corpus  # noqa: F401  (a fixture)

# A process needing one segment's table: it marks that it asks (asked/<pid>),
# then maps the table, built when missing from rows that record the build
# (a line in `builds`) and, half-way, waiting for `peers` processes to have
# asked, then `pause` seconds. Prints a digest of the table it maps.
NEEDER = """
import hashlib, os, sys, time
from pathlib import Path
from kb.search import sequences

folder, peers, pause = Path(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
builds = folder / "builds"
SIZE = 5000

def rows():
    with open(builds, "a") as f:
        f.write(f"{os.getpid()}\\n")
    for d in range(SIZE):
        if d == SIZE // 2:
            deadline = time.monotonic() + 30
            while len(list((folder / "asked").iterdir())) < peers and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(pause)
        yield [[d % 97, d % 89, d % 5], [d % 3]] if d % 11 else []

(folder / "asked" / str(os.getpid())).touch()
table = sequences.table(folder, "MAIN_first", "sections", SIZE, rows)
print(hashlib.sha256(table._map[:]).hexdigest())
"""
SIZE = 5000


def expected_rows():
    for d in range(SIZE):
        yield [[d % 97, d % 89, d % 5], [d % 3]] if d % 11 else []


def needer(folder, peers: int, pause: float) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    args = [sys.executable, "-c", NEEDER, str(folder), str(peers), str(pause)]
    return subprocess.Popen(  # noqa: S603  (this very program)
        args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def finished(process: subprocess.Popen) -> str:
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    return out.strip()


@pytest.fixture
def first_use(tmp_path):
    """A segment folder without the table, and the table's expected bytes."""
    (tmp_path / "asked").mkdir()
    expected = tmp_path / "expected"
    sequences.write(expected, SIZE, expected_rows())
    return tmp_path, expected.read_bytes()


def builds(folder) -> int:
    path = folder / "builds"
    return len(path.read_text().split()) if path.exists() else 0


def partial_files(folder) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.endswith(segment_tables.PARTIAL)]


def test_two_processes_needing_a_missing_table_at_once_build_it_once(first_use):
    folder, expected = first_use
    first, second = needer(folder, 2, 0.5), needer(folder, 2, 0.5)
    digests = {finished(first), finished(second)}
    assert builds(folder) == 1
    path = sequences.path_of(folder, "MAIN_first", "sections")
    assert path.read_bytes() == expected
    assert digests == {hashlib.sha256(expected).hexdigest()}
    assert partial_files(folder) == []


def test_a_builder_killed_mid_build_leaves_nothing_the_next_one_trips_on(first_use):
    folder, expected = first_use
    path = sequences.path_of(folder, "MAIN_first", "sections")
    killed = needer(folder, 1, 120)
    deadline = time.monotonic() + 30
    while not (builds(folder) and partial_files(folder)) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert builds(folder) == 1 and partial_files(folder)  # half-way through
    killed.send_signal(signal.SIGKILL)
    killed.wait(30)
    assert not path.exists()  # nothing half-written under the table's name
    started = time.monotonic()
    digest = finished(needer(folder, 0, 0))
    assert time.monotonic() - started < 30  # the lock went with its holder
    assert builds(folder) == 2
    assert path.read_bytes() == expected
    assert digest == hashlib.sha256(expected).hexdigest()
    assert partial_files(folder) == []  # the killed builder's, removed


@pytest.fixture
def said_corpus(corpus, users, make_debrief):  # noqa: F811
    """The corpus, with debriefs whose names and sections come in several
    pieces, a retweet marker, and words only names hold."""
    make_debrief(
        users.rep,
        interviewee_role="VP Sales",
        deal={"name": "Zeta Quux", "competitors": ["Salesforce", "Acme", "Globex"]},
        reasons=[
            {
                "category": "product.integrations",
                "direction": "hurt",
                "explanation": "Globex had the SAP connector RT",
                "competitor": "Globex",
            },
            {
                "category": "price.total-cost",
                "direction": "hurt",
                "explanation": "",
                "competitor": "Acme",
            },
        ],
        quotes=[
            {"text": "@procurement said the price was fine"},
            {"text": "RT @buyer: pricing was too high 😡"},
            {"text": "..."},
        ],
        competitive_notes="Acme & Globex, again: $50k off.",
    )
    make_debrief(users.peer, deal={"name": "Qwerty Zork", "account": "Zork Ltd"})


def first_use_tables(folder, reader, segment_id: str, kind: str, size: int) -> bytes:
    """The table of `kind` as discovery writes it for a segment it lacks."""
    ids = _segment_debrief_ids(reader, segment_id)
    terms = termtable.Table(termtable.path_of(folder, segment_id, "text"))
    path = folder / f"first-use-{kind}"
    sequences.write(path, size, _rows(READERS[kind], ids, 0, size, terms))
    return path.read_bytes()


@pytest.mark.parametrize(
    ("processes", "spill"),
    [(0, None), (2, None), (0, 40)],
    ids=["in-process", "two-builders", "spilling-runs"],
)
def test_the_sequence_tables_written_with_a_segment_are_those_written_on_first_use(
    app, said_corpus, tmp_path, monkeypatch, processes, spill
):
    if spill:
        monkeypatch.setattr(bulk, "SPILL_BYTES", spill)
    folder = tmp_path / "built"
    folder.mkdir()
    with Session(db.engine) as session:
        count = indexer.build(folder, session, processes=processes)
    reader = whoosh_index.open_dir(str(folder)).reader()
    compared = 0
    try:
        for leaf, _ in reader.leaf_readers():
            segment_id = leaf.segment().segment_id()
            for kind in sequences.KINDS:
                written = sequences.path_of(folder, segment_id, kind)
                expected = first_use_tables(folder, leaf, segment_id, kind, leaf.doc_count_all())
                assert written.read_bytes() == expected
                table = sequences.Table(written)
                assert table.size == leaf.doc_count_all()
                compared += table.size
    finally:
        reader.close()
    assert compared == 2 * count
    assert not [p.name for p in folder.iterdir() if p.name.startswith(".")]  # nothing half-written


def test_the_tables_hold_each_section_and_name_as_its_terms(app, said_corpus, tmp_path):
    folder = tmp_path / "built"
    folder.mkdir()
    with Session(db.engine) as session:
        indexer.build(folder, session)
    reader = whoosh_index.open_dir(str(folder)).reader()
    try:
        (leaf, _), *_ = reader.leaf_readers()
        segment_id = leaf.segment().segment_id()
        ids = list(_segment_debrief_ids(leaf, segment_id))
    finally:
        reader.close()
    terms = termtable.Table(termtable.path_of(folder, segment_id, "text"))
    debrief = db.session.scalar(select(Debrief).where(Debrief.deal.has(name="Qwerty Zork")))
    doc = ids.index(debrief.id)

    def said(kind):
        table = sequences.Table(sequences.path_of(folder, segment_id, kind))
        entries = next(table.rows(_array(doc))).tolist()
        out, current = [], []
        for number in entries:
            if number == sequences.BREAK:
                out.append(current)
                current = []
            else:
                current.append(terms.terms_of(_array(number))[0])
        return out

    # The deal's name, its account, its competitor, the competitor of a reason.
    assert said("names") == [analyse(n) for n in ("Qwerty Zork", "Zork Ltd", "Acme", "Acme")]
    assert said("sections") == [
        analyse(text)
        for text in (
            "Acme bundled implementation at no cost.",
            "Our SAP connector impressed their IT team.",
            "Your pricing was simply too high.",
            "Three-vendor bake-off run by procurement.",
            "Acme discounted 30% in the final week.",
            "Early security review with their CISO.",
            "Build the ROI case before procurement gets involved.",
        )
    ]


def _array(*values):
    return np.array(values, np.int64)


def _facts(texts: list[str]) -> DebriefFacts:
    pick = random.Random(len(texts)).choice
    return DebriefFacts(
        id=1,
        source="rep",
        status="submitted",
        author_id=1,
        interviewee_role=pick([None, "", "RT", texts[0]]),
        deal_name=texts[0],
        account=texts[-1],
        outcome="lost",
        segment=None,
        region=None,
        industry=None,
        product_line=None,
        close_date=date(2026, 1, 1),
        amount=None,
        winner_kind=None,
        winner_name=None,
        competitors=tuple(texts[1:3]),
        reasons=tuple((t, "price", "price", pick([None, texts[1]])) for t in texts[:4]),
        quotes=tuple(texts[2:5]),
        notes=(texts[5], None, "", texts[0]),
    )


def test_a_debrief_said_piece_by_piece_has_the_document_of_its_whole_text():
    pieces = [
        "RT",
        "RT @someone: great",
        "@handle",
        "$50k, 30% and 6 weeks",
        "e-mail https://acme.com/pricing.",
        "don't",
        "we've",
        "",
        "😡👍🏽",
        "&amp;",
        "Globex RT",
        "word.",
        "9",
        "price, support; late",
        "(see) it — now: here",
    ]
    pick = random.Random(7)
    for _ in range(300):
        texts = [" ".join(pick.sample(pieces, pick.randint(0, 3))) for _ in range(6)]
        facts = _facts(texts)
        document, sections, names = facts_said(facts)
        assert document == facts_document(facts), texts
        assert all(sections) and all(names)
