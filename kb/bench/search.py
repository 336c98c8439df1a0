"""The search section of `kb bench`.

Bulk indexing time and index size; latency per query type through the app
(the JSON API, via the test client, signed in as a rep so the permission
filter applies) and on raw Whoosh (its own collectors, counting and faceting
on the same index); the time from submitting a debrief to finding it; and the
same queries on SQLite FTS5 and on a LIKE scan of the same text, in the same
database. Queries are drawn from the corpus itself, each run once after a
warm-up, so most are the first search of their words; misspelled ones (a
common word one letter off) also time, in CPU, working out their "did you
mean" suggestion.
"""

import random
import re
import sqlite3
import statistics
import time
from collections import Counter
from dataclasses import dataclass
from urllib.parse import urlencode

from markupsafe import escape
from sqlalchemy import select
from whoosh import highlight as whoosh_highlight
from whoosh import query as wq
from whoosh import sorting
from whoosh.analysis import STOP_WORDS

from kb import search
from kb.auth.service import create_user
from kb.bench import Bench, folder_size, percentile
from kb.extensions import db
from kb.models import Competitor, Debrief, ReasonCategory, Role
from kb.search import query as user_query
from kb.search import service
from kb.search.analysis import PAIR_SEPARATOR, TextAnalyzer
from kb.search.documents import debrief_options, debrief_text, parse_key
from kb.search.query import PARSER

KINDS = (
    "common term",
    "rare term",
    "phrase",
    "two terms",
    "term + filter",
    "with facets",
    "with highlights",
    "misspelled",
)
LIKE_PER_TYPE = 5
SAMPLE = 2000
SUBMISSIONS = 5
PASSWORD = "bench-password-1"  # noqa: S105  (a throwaway user in a throwaway database)
TARGETS = {"p50_ms": 30, "p95_ms": 100, "like_ratio": 10, "submit_s": 2, "bulk_s": 600}
PERMISSION = "(d.status = 'submitted' OR d.author_id = ?)"
FACET_SQL = {
    "outcome": "deals.outcome",
    "segment": "deals.segment",
    "region": "deals.region",
    "source": "d.source",
    "quarter": "strftime('%Y', deals.close_date) || '-Q' || "
    "((CAST(strftime('%m', deals.close_date) AS INTEGER) + 2) / 3)",
}
RAW_FACETS = ("outcome", "segment", "region", "source", "quarter", "competitor", "category_group")


@dataclass
class Case:
    kind: str
    words: list[str]
    phrase: bool = False
    outcome: str | None = None

    @property
    def q(self) -> str:
        return f'"{" ".join(self.words)}"' if self.phrase else " ".join(self.words)

    @property
    def facets(self) -> bool:
        return self.kind == "with facets"

    @property
    def highlight(self) -> bool:
        return self.kind == "with highlights"

    def url(self) -> str:
        params = {"q": self.q, "per_page": 25, "facets": int(self.facets)}
        params["highlight"] = int(self.highlight)
        if self.outcome:
            params["outcome"] = self.outcome
        return "/api/v1/search?" + urlencode(params)

    def fts_match(self) -> str:
        if self.phrase:
            return '"' + " ".join(self.words) + '"'
        return " ".join(f'"{w}"' for w in self.words)

    def like_patterns(self) -> list[str]:
        if self.phrase:
            return ["%" + " ".join(self.words) + "%"]
        return [f"%{w}%" for w in self.words]


def _words(text: str) -> list[str]:
    return [w for w in re.findall(r"[a-z]+", text.lower()) if len(w) > 2 and w not in STOP_WORDS]


def choose_cases(texts: list[str], per_type: int, rng: random.Random) -> list[Case]:
    """Queries drawn from a sample of the corpus, by how many documents of
    the sample contain them."""
    df: Counter = Counter()
    pair_df: Counter = Counter()
    for text in texts:
        df.update(set(_words(text)))
        tokens = re.findall(r"[a-z]+", text.lower())
        pair_df.update(
            {
                f"{a} {b}"
                for a, b in zip(tokens, tokens[1:], strict=False)
                if len(a) > 2 and len(b) > 2 and a not in STOP_WORDS and b not in STOP_WORDS
            }
        )
    n = max(1, len(texts))

    def band(counter: Counter, low: float, high: float) -> list[str]:
        found = sorted(w for w, c in counter.items() if low * n <= c <= high * n)
        return found or sorted(counter)

    def pick(pool: list[str], k: int) -> list[str]:
        return [pool[rng.randrange(len(pool))] for _ in range(k)]

    common = [w for w, _ in df.most_common(per_type)]
    rare = sorted(df, key=lambda w: (df[w], w))[: max(per_type, 1)]
    middle = band(df, 0.03, 0.3)
    frequent = band(df, 0.1, 0.6)
    phrases = band(pair_df, 0.005, 0.2)
    cases = [Case("common term", [w]) for w in common]
    cases += [Case("rare term", [w]) for w in rng.sample(rare, min(per_type, len(rare)))]
    cases += [Case("phrase", p.split(), phrase=True) for p in pick(phrases, per_type)]
    cases += [Case("two terms", pick(middle, 2)) for _ in range(per_type)]
    cases += [Case("term + filter", [w], outcome="lost") for w in pick(frequent, per_type)]
    cases += [Case("with facets", [w]) for w in pick(frequent, per_type)]
    cases += [Case("with highlights", [w]) for w in pick(frequent, per_type)]
    typical = [w for w in frequent if 5 <= len(w) <= 12] or frequent
    cases += [
        Case("misspelled", [_typo(w, i, df, rng)]) for i, w in enumerate(pick(typical, per_type))
    ]
    return cases


def _typo(word: str, kind: int, known: Counter, rng: random.Random) -> str:
    """`word` with one letter deleted, inserted, replaced or swapped (by
    `kind`, in turn), and not a word of the sample: a query that finds
    little and asks for a "did you mean" suggestion."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    for _ in range(20):
        at = rng.randrange(1, len(word) - 1)
        other = rng.choice(letters.replace(word[at], ""))
        typo = (
            word[:at] + word[at + 1 :],
            word[:at] + other + word[at:],
            word[:at] + other + word[at + 1 :],
            word[:at] + word[at + 1] + word[at] + word[at + 2 :],
        )[kind % 4]
        if typo not in known:
            return typo
    return word + "q"


def _comparison_tables(bench: Bench, sample_ids: set[int]) -> tuple[list[str], float]:
    """The same text in an FTS5 table and a plain table for LIKE; returns
    the texts of the sampled debriefs and the seconds taken."""
    started = time.perf_counter()
    conn = sqlite3.connect(bench.database_path)
    conn.execute("CREATE VIRTUAL TABLE bench_fts USING fts5(body, tokenize='porter unicode61')")
    conn.execute("CREATE TABLE bench_text (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
    sample = []
    ids = list(db.session.scalars(select(Debrief.id).order_by(Debrief.id)))
    for start in range(0, len(ids), 1000):
        batch = ids[start : start + 1000]
        debriefs = db.session.scalars(
            select(Debrief).where(Debrief.id.in_(batch)).options(*debrief_options())
        )
        rows = []
        for debrief in debriefs:
            text = debrief_text(debrief)
            rows.append((debrief.id, text))
            if debrief.id in sample_ids:
                sample.append(text)
        # End the read before writing: SQLite has one writer and a reader blocks its commit.
        db.session.rollback()
        db.session.expunge_all()
        conn.executemany("INSERT INTO bench_fts (rowid, body) VALUES (?, ?)", rows)
        conn.executemany(
            "INSERT INTO bench_text (id, body) VALUES (?, ?)", [(i, t.lower()) for i, t in rows]
        )
        conn.commit()
    conn.close()
    return sample, time.perf_counter() - started


def _fts(conn: sqlite3.Connection, case: Case, user_id: int) -> None:
    where = f"bench_fts MATCH ? AND {PERMISSION}"
    if case.outcome:
        where += " AND deals.outcome = ?"
    args = [case.fts_match(), user_id] + ([case.outcome] if case.outcome else [])
    base = (
        "FROM bench_fts JOIN debriefs d ON d.id = bench_fts.rowid "
        f"JOIN deals ON deals.id = d.deal_id WHERE {where}"
    )
    conn.execute(f"SELECT count(*) {base}", args).fetchone()  # noqa: S608
    top = f"SELECT d.id {base} ORDER BY bench_fts.rank LIMIT 25"  # noqa: S608
    conn.execute(top, args).fetchall()
    if case.facets:
        _sql_facets(conn, base, args)
    if case.highlight:
        snippet = "snippet(bench_fts, 0, '<mark>', '</mark>', '…', 24)"
        conn.execute(f"SELECT {snippet} {base} ORDER BY bench_fts.rank LIMIT 25", args).fetchall()  # noqa: S608


def _like(conn: sqlite3.Connection, case: Case, user_id: int) -> None:
    patterns = case.like_patterns()
    where = " AND ".join("t.body LIKE ?" for _ in patterns) + f" AND {PERMISSION}"
    if case.outcome:
        where += " AND deals.outcome = ?"
    args = patterns + [user_id] + ([case.outcome] if case.outcome else [])
    base = (
        "FROM bench_text t JOIN debriefs d ON d.id = t.id "
        f"JOIN deals ON deals.id = d.deal_id WHERE {where}"
    )
    conn.execute(f"SELECT count(*) {base}", args).fetchone()  # noqa: S608
    top = f"SELECT d.id, t.body {base} ORDER BY deals.close_date DESC LIMIT 25"  # noqa: S608
    rows = conn.execute(top, args).fetchall()
    if case.facets:
        _sql_facets(conn, base, args)
    if case.highlight:
        words = re.compile("|".join(re.escape(p.strip("%")) for p in patterns))
        for _, body in rows:
            match = words.search(body)
            if match:
                start = max(0, match.start() - 60)
                piece = body[start : start + 180]
                str(escape(piece)).replace(match.group(), f"<mark>{match.group()}</mark>")


def _sql_facets(conn: sqlite3.Connection, base: str, args: list) -> None:
    for expression in FACET_SQL.values():
        conn.execute(f"SELECT {expression}, count(*) {base} GROUP BY 1", args).fetchall()  # noqa: S608
    competitor = base.replace("WHERE", "JOIN deal_competitors dc ON dc.deal_id = deals.id WHERE", 1)
    conn.execute(f"SELECT dc.competitor_id, count(*) {competitor} GROUP BY 1", args).fetchall()  # noqa: S608
    category = base.replace(
        "WHERE",
        "JOIN reasons r ON r.debrief_id = d.id "
        "JOIN reason_categories c ON c.id = r.category_id WHERE",
        1,
    )
    conn.execute(
        f"SELECT c.parent_id, count(DISTINCT d.id) {category} GROUP BY 1",  # noqa: S608
        args,
    ).fetchall()


def _as_pairs(node: wq.Query) -> wq.Query:
    """The index answers phrases from its pairs field (it keeps no positions)."""
    if isinstance(node, wq.Phrase):
        pairs = [a + PAIR_SEPARATOR + b for a, b in zip(node.words, node.words[1:], strict=False)]
        return wq.And([wq.Term("pairs", p) for p in pairs])
    if isinstance(node, wq.compound.CompoundQuery):
        return type(node)([_as_pairs(c) for c in node.subqueries])
    return node


def _raw_whoosh(searcher, case: Case, user_id: int) -> None:
    q = _as_pairs(PARSER.parse(case.q))
    allowed = wq.Or([wq.Term("status", "submitted"), wq.Term("author_id", str(user_id))])
    if case.outcome:
        allowed = wq.And([allowed, wq.Term("outcome", case.outcome)])
    options = {"limit": 25, "filter": allowed}
    if case.facets:
        options["groupedby"] = {
            name: sorting.FieldFacet(name, allow_overlap=name in ("competitor", "category_group"))
            for name in RAW_FACETS
        }
        options["maptype"] = sorting.Count
    results = searcher.search(q, **options)
    len(results)
    if case.facets:
        for name in RAW_FACETS:
            results.groups(name)
    if case.highlight:
        terms = {t for f, t in q.iter_all_terms() if f == "text"}
        ids = [parse_key(hit["key"])[1] for hit in results]
        debriefs = db.session.scalars(
            select(Debrief).where(Debrief.id.in_(ids)).options(*debrief_options())
        )
        fragmenter = whoosh_highlight.ContextFragmenter()
        formatter = whoosh_highlight.HtmlFormatter(tagname="mark")
        for debrief in debriefs:
            whoosh_highlight.highlight(
                debrief_text(debrief), terms, TextAnalyzer(), fragmenter, formatter
            )


def _timed(fn, *args) -> float:
    started = time.perf_counter()
    fn(*args)
    return (time.perf_counter() - started) * 1000


def _suggestion_cpu(index, view, cases: list[Case]) -> list[float]:
    """CPU milliseconds of working out each misspelled query's "did you
    mean" suggestion, the first time it is asked (its share of the search;
    CPU, not wall, time since the machine may be busy)."""
    vocabulary = index.vocabulary()
    found = []
    for case in cases:
        parsed = user_query.parse(case.q, vocabulary, view)
        started = time.process_time()
        service._suggest(view, parsed, index)
        found.append((time.process_time() - started) * 1000)
    return found


def _submit_to_searchable(client, rng: random.Random) -> list[float]:
    category = db.session.scalar(
        select(ReasonCategory.slug).where(ReasonCategory.parent_id.is_not(None)).limit(1)
    )
    competitor = db.session.scalar(select(Competitor.name).order_by(Competitor.id).limit(1))
    seconds = []
    for i in range(SUBMISSIONS):
        word = "benchmark" + "".join(rng.choice("qxzj") for _ in range(6)) + str(i)
        payload = {
            "source": "rep",
            "status": "submitted",
            "deal": {
                "name": f"Bench deal {word}",
                "account": "Bench account",
                "amount": 25000,
                "close_date": time.strftime("%Y-%m-%d"),
                "outcome": "lost",
                "competitors": [competitor] if competitor else [],
                "winner": competitor,
            },
            "reasons": [
                {"category": category, "direction": "hurt", "explanation": f"They said {word}."}
            ],
        }
        started = time.perf_counter()
        created = client.post("/api/v1/debriefs", json=payload)
        if created.status_code != 201:
            raise RuntimeError(f"submitting a debrief failed: {created.status_code} {created.json}")
        url = "/api/v1/search?" + urlencode({"q": word, "facets": 0, "highlight": 0})
        while client.get(url).json["total"] < 1:
            if time.perf_counter() - started > 30:
                raise RuntimeError("a submitted debrief was not searchable after 30 s")
            time.sleep(0.01)
        seconds.append(time.perf_counter() - started)
    return seconds


def _summary(samples: list[float]) -> dict:
    return {
        "p50_ms": round(percentile(samples, 0.5), 2) if samples else None,
        "p95_ms": round(percentile(samples, 0.95), 2) if samples else None,
        "runs": len(samples),
    }


def section(bench: Bench) -> dict:
    echo = bench.echo
    rng = random.Random(bench.seed)
    echo("Search: bulk indexing…")
    started = time.perf_counter()
    indexed = search.reindex()
    bulk = time.perf_counter() - started
    index = bench.app.extensions["kb_search"]
    size = folder_size(index.folder.current())
    echo(f"Indexed {indexed} documents in {bulk:.1f} s; index {size / 1e6:.1f} MB.")

    ids = list(db.session.scalars(select(Debrief.id)))
    sample_ids = set(rng.sample(ids, min(SAMPLE, len(ids))))
    echo("Search: building the FTS5 and LIKE tables for comparison…")
    texts, sql_build = _comparison_tables(bench, sample_ids)
    cases = choose_cases(texts, bench.queries_per_type, rng)

    user = create_user("bench-rep@example.com", PASSWORD, Role.REP, "Bench Rep", "Bench")
    client = bench.app.test_client()
    client.post("/login", data={"email": user.email, "password": PASSWORD})
    for warm in ("customer", "price", '"final week"', "custmer"):  # opens the index and its caches
        client.get("/api/v1/search?" + urlencode({"q": warm}))
    misspelled = [c for c in cases if c.kind == "misspelled"]
    suggestion_cpu = _suggestion_cpu(index, index.view(), misspelled)

    echo(f"Search: timing {len(cases)} queries through the app, raw Whoosh, FTS5 and LIKE…")
    timings: dict[str, dict[str, list[float]]] = {
        k: {"app": [], "whoosh": [], "fts5": [], "like": []} for k in KINDS
    }
    took: list[float] = []
    for case in cases:
        started = time.perf_counter()
        response = client.get(case.url())
        timings[case.kind]["app"].append((time.perf_counter() - started) * 1000)
        took.append(response.json["took_ms"])
    view = index.view()
    for case in cases:
        timings[case.kind]["whoosh"].append(_timed(_raw_whoosh, view.searcher, case, user.id))
    conn = sqlite3.connect(bench.database_path)
    like_done: Counter = Counter()
    for case in cases:
        timings[case.kind]["fts5"].append(_timed(_fts, conn, case, user.id))
        if like_done[case.kind] < LIKE_PER_TYPE:
            like_done[case.kind] += 1
            timings[case.kind]["like"].append(_timed(_like, conn, case, user.id))
    conn.close()

    echo("Search: submit-to-searchable…")
    submit = _submit_to_searchable(client, rng)

    rows = {}
    for kind in KINDS:
        rows[kind] = {engine: _summary(samples) for engine, samples in timings[kind].items()}
        app_p50 = rows[kind]["app"]["p50_ms"]
        for engine in ("fts5", "like"):
            other = rows[kind][engine]["p50_ms"]
            rows[kind][f"{engine}_over_app"] = round(other / app_p50, 1) if app_p50 else None
        rows[kind]["queries"] = [
            {"q": c.q, "app_ms": round(ms, 2)}
            for c, ms in zip(
                [c for c in cases if c.kind == kind], timings[kind]["app"], strict=True
            )
        ]
    every_app = [t for kind in KINDS for t in timings[kind]["app"]]
    overall = _summary(every_app)
    like_ratios = [rows[k]["like_over_app"] for k in KINDS if rows[k]["like_over_app"]]
    result = {
        "documents": indexed,
        "bulk_index_seconds": round(bulk, 1),
        "index_bytes": size,
        "comparison_tables_seconds": round(sql_build, 1),
        "queries_per_type": bench.queries_per_type,
        "like_queries_per_type": LIKE_PER_TYPE,
        "by_type": rows,
        "app_overall": overall,
        "service_took_ms_p50": round(statistics.median(took), 2) if took else None,
        "suggestion_cpu_ms": _summary(suggestion_cpu),
        "submit_to_searchable_seconds": {
            "p50": round(statistics.median(submit), 3),
            "max": round(max(submit), 3),
            "runs": len(submit),
        },
        "targets": TARGETS,
    }
    result["targets_met"] = {
        "app_p50": (overall["p50_ms"] or 0) <= TARGETS["p50_ms"],
        "app_p95": (overall["p95_ms"] or 0) <= TARGETS["p95_ms"],
        "like_10x": bool(like_ratios) and min(like_ratios) >= TARGETS["like_ratio"],
        "submit_2s": max(submit) <= TARGETS["submit_s"],
        "bulk_10min": bulk <= TARGETS["bulk_s"],
    }
    _print(echo, result)
    return result


def _print(echo, result: dict) -> None:
    def cell(summary: dict) -> str:
        p50, p95 = summary["p50_ms"], summary["p95_ms"]
        return f"{p50:8.1f} {p95:8.1f}" if p50 is not None else f"{'-':>8} {'-':>8}"

    echo("")
    echo(
        f"Search at {result['documents']:,} documents: bulk indexing "
        f"{result['bulk_index_seconds']:.1f} s, index {result['index_bytes'] / 1e6:.1f} MB"
    )
    header = (
        f"{'query type':18} {'app p50':>8} {'p95':>8} | {'whoosh':>8} {'p95':>8} | "
        f"{'fts5':>8} {'p95':>8} | {'like':>8} {'p95':>8} | {'fts5/app':>8} {'like/app':>8}"
    )
    echo(header + "   (ms)")
    echo("-" * len(header))
    for kind, row in result["by_type"].items():
        ratios = " ".join(
            f"{row[k]:8.1f}" if row[k] is not None else f"{'-':>8}"
            for k in ("fts5_over_app", "like_over_app")
        )
        echo(
            f"{kind:18} {cell(row['app'])} | {cell(row['whoosh'])} | {cell(row['fts5'])} | "
            f"{cell(row['like'])} | {ratios}"
        )
    overall = result["app_overall"]
    echo("-" * len(header))
    echo(
        f"{'all types (app)':18} {overall['p50_ms']:8.1f} {overall['p95_ms']:8.1f}   "
        f"(time inside search(): p50 {result['service_took_ms_p50']} ms)"
    )
    suggestion = result["suggestion_cpu_ms"]
    if suggestion["runs"]:
        echo(
            f"Did-you-mean suggestion of a misspelled query: CPU p50 {suggestion['p50_ms']} ms, "
            f"p95 {suggestion['p95_ms']} ms ({suggestion['runs']} queries)"
        )
    submit = result["submit_to_searchable_seconds"]
    echo(f"Submit to searchable: p50 {submit['p50']:.3f} s, max {submit['max']:.3f} s")
    echo(
        f"LIKE runs the first {result['like_queries_per_type']} queries of each type; "
        "ratios are p50 over the app's p50."
    )
    met = result["targets_met"]
    targets = result["targets"]
    marks = {True: "met", False: "MISSED"}
    echo(
        f"Targets: app p50 ≤ {targets['p50_ms']} ms {marks[met['app_p50']]}; "
        f"p95 ≤ {targets['p95_ms']} ms {marks[met['app_p95']]}; "
        f"LIKE ≥ {targets['like_ratio']}× slower {marks[met['like_10x']]}; "
        f"submit ≤ {targets['submit_s']} s {marks[met['submit_2s']]}; "
        f"bulk ≤ {targets['bulk_s'] // 60} min {marks[met['bulk_10min']]}"
    )
