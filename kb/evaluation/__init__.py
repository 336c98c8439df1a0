"""`kb evaluate`: how well discovery, search and themes find the reasons in
labelled real feedback.

A throwaway database and index folder are made (as `kb bench` does), the
labelled texts are posted through the JSON API as lost debriefs, the index
is brought up to date, and each label is measured (see measure.py) with the
query an analyst would type for it (the data set's queries file). Labels
without a query (such as "Can't Tell") stay in the data as texts that belong
to no label.
"""

import json
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import click
from sqlalchemy import event

from kb.evaluation.dataset import (
    DATASETS,
    DEFAULT_DATASET,
    SAMPLE,
    DataError,
    LabelQuery,
    Text,
    read_queries,
    read_texts,
)
from kb.evaluation.measure import TOP, LabelFigures, measure

COVERAGE = (
    f"Discovery coverage: the share of a label's defining terms (listed beside the data) "
    f"found in the top {TOP} findings for the label's texts against all the others. "
    f"The texts are selected by an opaque segment code per label; no text carries the "
    f"label. Product: discovery (G²). Baseline: chi² on plain words and two-word phrases "
    f"of the same texts. Both list only terms in at least 5 of the label's texts and "
    f"significant at p < 0.001."
)
SEARCH = (
    f"Search: P@{TOP} = labelled texts among the first {TOP} results by relevance; "
    f"recall = labelled texts found / the label's texts. "
    f"Theme: a theme made with the same query; count over all time against the true "
    f"count, and precision and recall of the debriefs its search link lists."
)


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def summary(rows: list[LabelFigures]) -> dict:
    return {
        key: round(_mean([getattr(r, key) for r in rows]), 3)
        for key in (
            "discovery_coverage",
            "baseline_coverage",
            "precision_at_20",
            "recall",
            "theme_precision",
            "theme_recall",
        )
    }


LABEL_WIDTH = 48
SHOWN = 6  # labels named in a note


def _cut(label: str, width: int) -> str:
    return label if len(label) <= width else label[: width - 1] + "…"


def print_table(echo: Callable[[str], None], rows: list[LabelFigures], texts: int) -> None:
    echo("")
    echo(COVERAGE)
    echo(SEARCH)
    echo("")
    width = min(max([len(r.label) for r in rows] + [16]), LABEL_WIDTH) + 1
    head = (
        f"{'label':<{width}}{'texts':>6}  {'coverage':>8} {'baseline':>8}  {'P@20':>5} "
        f"{'recall':>6}  {'theme':>5} {'true':>5} {'prec.':>5} {'recall':>6}"
    )
    echo(head)
    echo("-" * len(head))
    for r in rows:
        echo(
            f"{_cut(r.label, width - 1):<{width}}{r.texts:>6}  {r.discovery_coverage:>8.2f} "
            f"{r.baseline_coverage:>8.2f}  {r.precision_at_20:>5.2f} {r.recall:>6.2f}  "
            f"{r.theme_count:>5} {r.texts:>5} {r.theme_precision:>5.2f} {r.theme_recall:>6.2f}"
        )
    mean = summary(rows)
    echo("-" * len(head))
    echo(
        f"{'mean over labels':<{width}}{texts:>6}  {mean['discovery_coverage']:>8.2f} "
        f"{mean['baseline_coverage']:>8.2f}  {mean['precision_at_20']:>5.2f} "
        f"{mean['recall']:>6.2f}  {'':>5} {'':>5} {mean['theme_precision']:>5.2f} "
        f"{mean['theme_recall']:>6.2f}"
    )
    for r in rows:
        if r.paging_repeated or r.paging_missed:
            echo(
                f"Note: paging through the search API for {r.query!r} showed "
                f"{r.paging_repeated} results twice and missed {r.paging_missed}."
            )
        if r.theme_count != r.theme_listed:
            echo(f"Note: theme {r.label!r} counts {r.theme_count} but lists {r.theme_listed}.")


def _without_fsync(engine) -> None:
    """The database is thrown away afterwards: it need not survive a power
    cut, and SQLite's fsync on every commit is most of each API call's time."""

    @event.listens_for(engine, "connect")
    def _no_sync(connection, record) -> None:
        connection.execute("PRAGMA synchronous=OFF")

    engine.dispose()


def _app(workdir: Path):
    """An app on a database and index folder in `workdir`, as `kb bench`
    makes, with no background indexer: the texts are indexed in one go after
    loading, and no thread writes into the folder once it is removed."""
    from kb import create_app

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir / 'evaluation.sqlite3'}",
            "KB_INDEX_DIR": str(workdir / "index"),
            "KB_SEARCH_INDEXER": "external",
            "KB_SEARCH_CATCH_UP_ON_START": False,
            "SECRET_KEY": "evaluation",
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
            "SERVER_NAME": "localhost",
        }
    )


def labelled_queries(
    data: Path,
    queries: Path,
    limit: int | None = None,
    text_column: str | None = None,
    label_column: str | None = None,
) -> tuple[list[Text], list[LabelQuery]]:
    """The labelled texts and the queries of the labels they have, read and
    checked before any database is made."""
    if data.name == SAMPLE.name and not data.exists():
        raise DataError(
            "The airline sample is not installed with the product (it is licensed for "
            "non-commercial use and ships only with the source repository). Evaluate your "
            "own labelled feedback: kb evaluate --csv FILE --text-column COLUMN "
            "--label-column COLUMN --queries QUERIES.csv"
        )
    texts = read_texts(data, limit, text_column, label_column)
    present = {t.label for t in texts}
    wanted = [q for q in read_queries(queries) if q.label in present]
    if not wanted:
        raise DataError(
            f"None of the labels of {data} ({', '.join(sorted(present))}) has a query in "
            f"{queries}. Give one per label (columns label, query and, optionally, terms) "
            f"with --queries FILE; --write-queries FILE writes a starting one to edit."
        )
    return texts, wanted


def run(
    data: Path = DATASETS[DEFAULT_DATASET].data,
    queries: Path = DATASETS[DEFAULT_DATASET].queries,
    limit: int | None = None,
    json_path: str | None = None,
    keep: bool = False,
    echo: Callable[[str], None] = click.echo,
    text_column: str | None = None,
    label_column: str | None = DATASETS[DEFAULT_DATASET].label_column,
) -> dict:
    """Evaluate the labelled texts of `data` with the queries of `queries`
    (the default data set's by default) and print the table."""
    from kb import search
    from kb.cli import init_database
    from kb.evaluation import load
    from kb.extensions import db

    texts, wanted = labelled_queries(data, queries, limit, text_column, label_column)
    counts = Counter(t.label for t in texts)
    unlisted = sorted(set(counts) - {q.label for q in wanted})
    if unlisted:
        named = ", ".join(unlisted[:SHOWN])
        if len(unlisted) > SHOWN:
            named += f" and {len(unlisted) - SHOWN} more labels"
        echo(
            f"{sum(counts[label] for label in unlisted)} texts have a label with no query in "
            f"{queries} ({named}); they stay in the data as texts of no label."
        )
    cut = sum(load.is_cut(t.text) for t in texts)
    if cut:
        echo(
            f"{cut} texts are longer than a debrief's {load.QUOTES} quotes of "
            f"{load.QUOTE_LIMIT:,} characters: only what fits is loaded and measured."
        )
    workdir = Path(tempfile.mkdtemp(prefix="kb-evaluate-"))
    echo(f"Evaluation data in {workdir} ({'kept' if keep else 'removed afterwards'}).")
    try:
        app = _app(workdir)
        with app.app_context():
            _without_fsync(db.engine)
            init_database()
            api = load.connect(app)
            codes = load.segment_codes(app, [q.label for q in wanted])
            started = time.perf_counter()
            labels = load.load(api, texts, codes)
            search.catch_up()
            loaded = time.perf_counter() - started
            echo(
                f"Loaded {len(labels)} labelled texts from {data} through the API "
                f"and indexed them in {loaded:.1f} s."
            )
            rows = [
                measure(api, q, codes[q.label], labels, [load.loaded_text(t.text) for t in texts])
                for q in wanted
            ]
        print_table(echo, rows, len(texts))
        result = {
            "data": str(data),
            "queries": str(queries),
            "texts": len(texts),
            "labels_without_query": {label: counts[label] for label in unlisted},
            "definitions": {"coverage": COVERAGE, "search_and_theme": SEARCH},
            "labels": [r.as_json() for r in rows],
            "mean": summary(rows),
        }
        if json_path:
            Path(json_path).write_text(json.dumps(result, indent=2, allow_nan=False) + "\n")
            echo(f"Wrote {json_path}.")
        return result
    finally:
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
