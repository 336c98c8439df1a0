"""A rebuild writes the index with its own builder (kb.search.bulk), in
processes when the corpus is large: what it writes is what Whoosh's writer
writes, postings for postings; a failing builder leaves the current index
and no process behind; and the indexer's own rebuild after a backlog runs in
lower-priority processes while searches keep answering from the old index."""

import multiprocessing
import random
import threading
from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from whoosh import index as whoosh_index
from whoosh.filedb.filestore import FileStorage

from kb import search
from kb.extensions import db
from kb.models import Debrief
from kb.practices import service as practices
from kb.search import bulk, indexer, termtable
from kb.search.analysis import pairs
from kb.search.documents import DOCUMENT_TYPES, Debriefs, debrief_document
from kb.search.schema import SCHEMA

from .test_practices import practice_payload

LAST_WEEK = (date.today() - timedelta(days=7)).isoformat()


@pytest.fixture
def corpus(users, make_debrief):
    """Debriefs and practices that between them give every field, empty and
    missing values, and repeated words."""
    make_debrief(users.rep)
    make_debrief(
        users.marketing,
        source="buyer",
        interviewee_role="Economic buyer",
        deal={"name": "Globex expansion", "competitors": ["Globex", "Salesforce"], "winner": ""},
        reasons=[
            {
                "category": "product.integrations",
                "direction": "helped",
                "explanation": "Integrations, integrations and more integrations.",
                "competitor": "Salesforce",
            }
        ],
        quotes=[{"text": "We don't buy on price 😡 — see https://example.com/why"}],
        decision_process="",
        what_worked="",
    )
    make_debrief(
        users.west_rep,
        status="draft",
        deal={"outcome": "no_decision", "winner": "no_decision", "amount": None},
        reasons=[],
        quotes=[],
    )
    make_debrief(
        users.rep,
        deal={
            "name": "Hooli",
            "account": "Hooli",
            "outcome": "won",
            "competitors": [],
            "winner": None,
        },
        lessons_learned="",
    )
    make_debrief(
        users.peer, deal={"name": "Vandelay", "winner": "in_house", "close_date": LAST_WEEK}
    )
    practices.save_practice(users.rep, practices.parse(practice_payload()))
    practices.save_practice(
        users.peer, practices.parse(practice_payload(title="Anonymous lesson", anonymous=True))
    )
    practices.save_practice(users.rep, practices.parse(practice_payload(status="draft")))
    search.catch_up()


def whoosh_build(path) -> int:
    """The reference: the same documents through Whoosh's own writer."""
    ix = whoosh_index.create_in(str(path), SCHEMA)
    writer = ix.writer(codec=indexer.codec())
    count = 0
    with Session(db.engine) as session:
        for kind in DOCUMENT_TYPES.values():
            ids = kind.all_ids(session)
            documents = kind.load(session, ids)
            for doc_id in ids:
                writer.add_document(**documents[doc_id])
                count += 1
    writer.commit()
    return count


def contents(path) -> dict:
    """Everything a search reads from an index, by global document number."""
    reader = whoosh_index.open_dir(str(path)).reader()
    try:
        docs = range(reader.doc_count_all())
        return {
            "postings": list(reader.iter_postings()),
            "stored": [reader.stored_fields(d) for d in docs],
            "lengths": {
                name: [reader.doc_field_length(d, name) for d in docs] for name in SCHEMA.names()
            },
            "totals": {name: reader.field_length(name) for name in SCHEMA.names()},
            "columns": {
                name: list(reader.column_reader(name)) for name in ("close_date", "amount")
            },
        }
    finally:
        reader.close()


def bulk_build(path, processes: int) -> int:
    with Session(db.engine) as session:
        return indexer.build(path, session, processes=processes)


def test_documents_read_from_rows_are_those_of_the_loaded_debriefs(app, corpus):
    ids = list(db.session.scalars(select(Debrief.id).order_by(Debrief.id)))
    with Session(db.engine) as session:
        from_rows = Debriefs().load(session, ids + [10_000])
    assert list(from_rows) == ids  # in id order; a missing id is left out
    for debrief_id in ids:
        assert from_rows[debrief_id] == debrief_document(db.session.get(Debrief, debrief_id))


@pytest.mark.parametrize(
    ("processes", "spill"),
    [(0, bulk.SPILL_BYTES), (2, bulk.SPILL_BYTES), (0, 40)],
    ids=["in-process", "two-builders", "spilling-runs"],
)
def test_the_builder_writes_what_whooshs_writer_writes(
    app, corpus, tmp_path, monkeypatch, processes, spill
):
    monkeypatch.setattr(bulk, "SPILL_BYTES", spill)
    (tmp_path / "whoosh").mkdir()
    (tmp_path / "bulk").mkdir()
    assert whoosh_build(tmp_path / "whoosh") == 7
    assert bulk_build(tmp_path / "bulk", processes) == 7
    assert contents(tmp_path / "bulk") == contents(tmp_path / "whoosh")
    # Only the segments (with their term and sequence tables) are left: no
    # runs, temporary folders or lock files.
    segments = whoosh_index.open_dir(str(tmp_path / "bulk"))._segments()
    assert len(segments) == max(1, processes)
    left = {p.suffix for p in (tmp_path / "bulk").iterdir()}
    tables = {".kb_terms_text", ".kb_terms_pairs", ".kb_sequences_sections", ".kb_sequences_names"}
    assert left == {".seg", ".toc", *tables}


def many_documents(count: int) -> list[dict]:
    """Documents of every shape a rebuild meets, many of them: common words
    in every block of their postings, words repeated within a document,
    values of every kind of field, and fields left out."""
    rng = random.Random(7)
    words = [f"w{i}" for i in range(40)] + ["pricing", "price", "onboarding", "émigré"]
    found = []
    for n in range(count):
        # Low-numbered words are common, so their postings fill many blocks.
        text = [words[min(int(rng.expovariate(0.15)), len(words) - 1)] for _ in range(40)]
        text = text[: rng.randrange(0, 40)]
        document = {
            "key": f"debrief:{n + 1}",
            "doc_type": "debrief",
            "text": text,
            "pairs": pairs(text),
            "outcome": rng.choice(["won", "lost", "no_decision"]),
            "author_id": str(rng.randrange(1, 9)),
            "segment": rng.choice(["enterprise", "mid-market", None]),
            "quarter": f"2025-q{rng.randrange(1, 5)}",
            "competitor": sorted(set(rng.sample(["acme", "globex", "hooli"], rng.randrange(0, 3)))),
            "close_date": 739_000 + rng.randrange(0, 400),
            "amount": rng.choice([0, 5_000, 25_000, 1_250_000, rng.randrange(0, 10**7)]),
        }
        found.append({name: value for name, value in document.items() if value not in (None, [])})
    return found


@pytest.mark.parametrize("spill", [bulk.SPILL_BYTES, 20_000], ids=["in-memory", "spilling-runs"])
def test_the_builder_writes_what_whooshs_writer_writes_for_many_documents(tmp_path, spill):
    # Blocks of 8 postings, so that postings of common words span many blocks.
    codec = indexer.Codec(blocklimit=8)
    documents = many_documents(600)
    (tmp_path / "whoosh").mkdir()
    writer = whoosh_index.create_in(str(tmp_path / "whoosh"), SCHEMA).writer(codec=codec)
    for document in documents:
        writer.add_document(**document)
    writer.commit()
    (tmp_path / "bulk").mkdir()
    storage = FileStorage(str(tmp_path / "bulk"))
    whoosh_index.TOC.create(storage, SCHEMA, bulk.INDEX_NAME)
    builder = bulk.SegmentBuilder(storage, codec, SCHEMA, spill)
    for document in documents:
        builder.add(document)
    spilled = len(builder.runs)
    whoosh_index.TOC(SCHEMA, [builder.finish()], 1).write(storage, bulk.INDEX_NAME)
    assert (spilled > 1) == (spill < bulk.SPILL_BYTES)
    assert contents(tmp_path / "bulk") == contents(tmp_path / "whoosh")
    reader = whoosh_index.open_dir(str(tmp_path / "bulk")).reader()
    try:
        # What the comparison covers: a word in most documents, in many
        # blocks, with frequencies above one.
        common = list(reader.postings("text", "w0").items_as("frequency"))
        assert len(common) > 8 * 20 and max(freq for _, freq in common) > 3
    finally:
        reader.close()


@pytest.mark.parametrize(
    ("count", "spill", "without"),
    [(600, bulk.SPILL_BYTES, ()), (600, 20_000, ()), (50, bulk.SPILL_BYTES, ("text", "pairs"))],
    ids=["in-memory", "spilling-runs", "no-text"],
)
def test_the_term_tables_written_with_a_segment_are_those_read_from_its_postings(
    tmp_path, count, spill, without
):
    documents = [
        {name: value for name, value in document.items() if name not in without}
        for document in many_documents(count)
    ]
    storage = FileStorage(str(tmp_path))
    whoosh_index.TOC.create(storage, SCHEMA, bulk.INDEX_NAME)
    builder = bulk.SegmentBuilder(storage, indexer.Codec(blocklimit=8), SCHEMA, spill)
    for document in documents:
        builder.add(document)
    segment = builder.finish()
    whoosh_index.TOC(SCHEMA, [segment], 1).write(storage, bulk.INDEX_NAME)
    reader = whoosh_index.open_dir(str(tmp_path)).reader()
    try:
        for field in termtable.FIELDS:
            terms, term_ids, docs = termtable.from_reader(reader, field, count)
            termtable.write(tmp_path / "from-postings", count, terms, term_ids, docs)
            written = termtable.path_of(tmp_path, segment.segment_id(), field)
            assert written.read_bytes() == (tmp_path / "from-postings").read_bytes()
            table = termtable.Table(written)
            assert table.size == count and (table.terms > 0) == (field not in without)
    finally:
        reader.close()
    assert not [
        p.name for p in tmp_path.iterdir() if p.name.startswith(".")
    ]  # nothing half-written


def test_a_rebuild_finds_what_the_applied_changes_found(app, users, corpus):
    queries = ["integrations", '"pricing was"', "competitor:acme", "outcome:won", "heron"]

    def results():
        found = {
            q: [hit.id for hit in search.search(users.admin, {"q": q, "per_page": 50}).hits]
            for q in queries
        }
        # Scores move with how documents fall into segments; what is found does not.
        return found, [practice_id for practice_id, _ in search.search_practices("security")]

    before = results()
    assert all(before[0][q] for q in queries[:4]) and len(before[1]) == 2
    app.extensions["kb_search"].settings.procs = 2
    assert search.reindex() == 7
    assert results() == before


def test_a_failing_builder_leaves_the_current_index_and_no_process_behind(
    app, users, corpus, monkeypatch
):
    index = app.extensions["kb_search"]
    index.settings.procs = 2
    before = index.folder.current()

    def broken(self, session, ids):
        raise ValueError("the disk is on fire")

    monkeypatch.setattr(Debriefs, "load_said", broken)
    with pytest.raises(RuntimeError, match="the disk is on fire"):
        search.reindex()
    assert multiprocessing.active_children() == []
    assert index.folder.current() == before
    assert list(index.folder.root.glob("gen-*")) == [before]
    assert search.search(users.rep, {"q": "integrations"}).total == 1


def test_the_rebuild_after_a_backlog_runs_in_builder_processes_while_searches_answer(
    app, users, make_debrief, monkeypatch
):
    index = app.extensions["kb_search"]
    # As on a server: commits do not apply the outbox; the indexer does.
    monkeypatch.setattr(index.settings, "mode", "external")
    make_debrief(users.rep, quotes=[{"text": "A heron story."}])
    assert search.reindex() == 1
    for _ in range(4):  # acknowledged, not yet applied: a backlog
        make_debrief(users.rep, quotes=[{"text": "A heron story."}])
    monkeypatch.setattr(index.settings, "rebuild_backlog", 3)

    real_build, seen = bulk.build, {}
    started, searched = threading.Event(), threading.Event()

    def build(generation, engine, plan, schema, progress=None, processes=0, nice=0):
        seen.update(processes=processes, nice=nice)
        started.set()
        assert searched.wait(30)
        return real_build(generation, engine, plan, schema, progress, processes, nice)

    monkeypatch.setattr(bulk, "build", build)

    def indexer_thread():
        with app.app_context():
            index.catch_up()

    thread = threading.Thread(target=indexer_thread)
    thread.start()
    try:
        assert started.wait(30)
        # Mid-rebuild, searches answer at once from the current index.
        assert search.search(users.rep, {"q": "heron"}).total == 1
    finally:
        searched.set()
        thread.join(60)
    assert seen["processes"] >= 1 and seen["nice"] > 0
    assert search.search(users.rep, {"q": "heron"}).total == 5
    assert multiprocessing.active_children() == []
