"""The `kb` command: a Flask CLI group (also reachable as `flask --app kb`)."""

import getpass
import os
import sys
from datetime import datetime
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import (
    FlaskGroup,
    ScriptInfo,
    pass_script_info,
    shell_command,
    with_appcontext,
)
from werkzeug.serving import run_simple

from kb.models import Role


def _create_app() -> Flask:
    from kb import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=False)
def main() -> None:
    """Win/loss knowledge base."""


main.add_command(shell_command)


def init_database() -> str:
    """Create or upgrade the schema to the newest migration and seed reference data.

    Several processes may run this at once on one PostgreSQL database (the web
    and indexer containers, machines starting together): they take turns, so
    the later ones find the schema current instead of failing half-way."""
    from contextlib import nullcontext

    from flask_migrate import upgrade
    from sqlalchemy import text

    from kb.extensions import db
    from kb.seed import seed_reference_data

    postgresql = db.engine.dialect.name == "postgresql"
    with db.engine.begin() if postgresql else nullcontext() as turn:
        if turn is not None:
            # Released when this transaction ends, or when the process dies.
            turn.execute(text("SELECT pg_advisory_xact_lock(7013393043633524)"))
        upgrade(directory=current_app.extensions["migrate"].directory)
        seed_reference_data()
    from alembic.migration import MigrationContext

    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision() or "?"


@main.command("run")
@click.option("--host", "-h", default="127.0.0.1", show_default=True)
@click.option("--port", "-p", default=5000, show_default=True, type=int)
@click.option("--demo", is_flag=True, help="Fill an empty database with demo data first.")
@click.option(
    "--as-of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="With --demo: date the demo data as of this day (YYYY-MM-DD; default today).",
)
@click.option("--debug/--no-debug", default=False)
@pass_script_info
def run(
    info: ScriptInfo, host: str, port: int, demo: bool, as_of: datetime | None, debug: bool
) -> None:
    """Create or upgrade the database, then serve the app."""
    app = info.load_app()
    if (
        host in ("127.0.0.1", "localhost", "::1")
        and os.environ.get("KB_INSECURE_COOKIES", "1") == "1"
    ):
        # Only a loopback server may run without HTTPS cookies (unless told
        # otherwise). The app is already built by now, so set its config itself.
        app.config.update(SESSION_COOKIE_SECURE=False, REMEMBER_COOKIE_SECURE=False)
    with app.app_context():
        revision = init_database()
        click.echo(f"Database ready at schema {revision}.")
        if demo:
            from kb.demo.generator import ensure_demo_data

            ensure_demo_data(echo=click.echo, anchor=as_of.date() if as_of else None)
        # The app started before the tables existed, so its start-up catch-up
        # had nothing to read: bring the index up to date before serving.
        bring_index_up_to_date()
    app.debug = debug
    # Flask refuses app.run() under its CLI; serve with Werkzeug directly.
    run_simple(host, port, app, use_reloader=debug, use_debugger=debug, threaded=True)


def register_commands(app: Flask) -> None:
    """Commands that need the app; `flask --app kb <command>` finds them too."""
    for command in (
        init,
        create_user,
        token,
        demo,
        import_deals,
        import_debriefs,
        reindex,
        indexer,
        bench,
        evaluate,
        export,
    ):
        app.cli.add_command(command)
    for command in (backup_command, restore_command):
        app.cli.add_command(command)


@click.command("init")
@with_appcontext
def init() -> None:
    """Create or upgrade the database schema and the default taxonomy."""
    click.echo(f"Database ready at schema {init_database()}.")


@click.command("create-user")
@with_appcontext
@click.argument("email")
@click.option(
    "--role", type=click.Choice([r.value for r in Role]), default="rep", show_default=True
)
@click.option("--team", default=None, help="Team name; created when new.")
@click.option("--name", default="", help="Display name (default: the part before @).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_user(email: str, role: str, team: str | None, name: str, password_stdin: bool) -> None:
    """Create a user who can sign in."""
    from kb.auth.service import create_user as create
    from kb.validation import ValidationFailed

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Repeat: ") != password:
            raise click.ClickException("The passwords differ.")
    try:
        user = create(email, password, Role(role), name=name, team=team)
    except ValidationFailed as exc:
        raise click.ClickException(" ".join(exc.errors.values())) from None
    click.echo(f"Created {user.email} ({user.role.value}).")


@click.group("token")
def token() -> None:
    """API tokens."""


@token.command("create")
@with_appcontext
@click.argument("email")
@click.option("--name", default="", help="What the token is for.")
def token_create(email: str, name: str) -> None:
    """Print a new bearer token for EMAIL (shown once; only its hash is kept)."""
    from kb.auth.service import create_token, find_user

    user = find_user(email)
    if user is None:
        raise click.ClickException(f"No user {email}.")
    click.echo(create_token(user, name))


@click.command("demo")
@with_appcontext
@click.option("--debriefs", "count", default=600, show_default=True, type=click.IntRange(1))
@click.option("--seed", default=7, show_default=True, type=int)
@click.option(
    "--as-of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="The day the demo is dated as of: deals close before it (YYYY-MM-DD; default today).",
)
def demo(count: int, seed: int, as_of: datetime | None) -> None:
    """Fill the database with realistic demo data, themes, practices and
    to-dos (deterministic for a seed and date)."""
    from kb.demo.generator import generate_with_showcase

    init_database()
    generate_with_showcase(count, seed, click.echo, anchor=as_of.date() if as_of else None)
    bring_index_up_to_date()


def bring_index_up_to_date() -> None:
    """Apply the outbox to the search index, building it when it is missing."""
    from kb import search

    click.echo("Bringing the search index up to date…")
    search.catch_up()
    status = search.index_status()
    click.echo(
        f"Search index: {status.get('documents')} documents, lag {status.get('outbox_lag')}."
    )


@click.command("import-deals")
@with_appcontext
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--format",
    "format_",
    type=click.Choice(["auto", "salesforce", "hubspot", "csv"]),
    default="auto",
    show_default=True,
    help="The CRM the file comes from; auto detects it from the headers.",
)
@click.option(
    "--date-order",
    type=click.Choice(["auto", "mdy", "dmy"]),
    default="auto",
    show_default=True,
    help="How to read dates like 03/05/2026; auto decides from the file's dates.",
)
@click.option(
    "--map",
    "overrides",
    multiple=True,
    metavar="FIELD=COLUMN",
    help="Read FIELD from the column with this header (repeatable), e.g. "
    "--map owner_email='Owner Email'; an empty COLUMN leaves the field out.",
)
@click.option("--dry-run", is_flag=True, help="Check every row and report; store nothing.")
def import_deals(
    file: str, format_: str, date_order: str, overrides: tuple[str, ...], dry_run: bool
) -> None:
    """Import closed deals from a Salesforce or HubSpot CSV export.

    Re-importing a file updates the deals by CRM id. Exits with status 1
    when any row has an error (the other rows are imported)."""
    from kb.deals import crm_formats, crm_import, service

    with open(file, "rb") as f:
        data = f.read()
    try:
        table = crm_import.read_table(data)
        crm = crm_formats.FORMATS.get(format_) or crm_formats.detect_format(table.headers)
        mapping = crm_formats.suggest_mapping(table.headers, crm)
        mapping = crm_formats.override_mapping(table.headers, mapping, overrides)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    detected = " (detected)" if format_ == "auto" else ""
    click.echo(f"{crm.label}{detected}: {len(table.rows)} rows, {table.encoding}.")
    if missing := crm_formats.missing_required(mapping):
        raise click.ClickException(
            f"No column for: {', '.join(f'{t.key} ({t.label})' for t in missing)}. "
            f"The file's columns: {', '.join(table.headers)}. Use --map FIELD=COLUMN."
        )
    parsed = crm_import.parse_rows(table, mapping, date_order)
    label = "Checking deals" if dry_run else "Importing deals"
    with click.progressbar(length=len(parsed.rows), label=label) as bar:
        report = service.import_rows(
            None, parsed, dry_run=dry_run, source=os.path.basename(file), progress=bar.update
        )
    click.echo(report.summary())
    for line in report.problems():
        click.echo(line)
    if report.failed:
        sys.exit(1)


@click.command("import-debriefs")
@with_appcontext
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--user",
    "user_email",
    metavar="EMAIL",
    help="Who imports: the author of rows without an author column. A manager or admin.",
)
@click.option(
    "--date-order",
    type=click.Choice(["auto", "mdy", "dmy"]),
    default="auto",
    show_default=True,
    help="How to read dates like 03/05/2026; auto decides from the file's dates.",
)
@click.option(
    "--map",
    "overrides",
    multiple=True,
    metavar="FIELD=COLUMN",
    help="Read FIELD from the column with this header (repeatable); an empty COLUMN "
    "leaves the field out.",
)
@click.option("--dry-run", is_flag=True, help="Check every row and report; store nothing.")
def import_debriefs(
    file: str, user_email: str | None, date_order: str, overrides: tuple[str, ...], dry_run: bool
) -> None:
    """Import past win/loss notes (CSV or XLSX) as submitted debriefs.

    One debrief a row, on the deal it names (matched by CRM id, else by deal
    name and account, else created). All rows are stored in one transaction:
    when any row has an error nothing is stored and the exit status is 1.
    Re-importing the same file adds nothing."""
    from kb.auth.service import find_user
    from kb.deals import debrief_import
    from kb.deals.routes import IMPORTERS

    actor = None
    if user_email:
        actor = find_user(user_email)
        if actor is None:
            raise click.ClickException(f"No user has the e-mail '{user_email}'.")
        if actor.role not in IMPORTERS:
            raise click.ClickException("Only managers and admins import debriefs.")
    with open(file, "rb") as f:
        data = f.read()
    try:
        table = debrief_import.read_file(data)
        mapping = debrief_import.suggest_mapping(table.headers)
        mapping = debrief_import.override_mapping(table.headers, mapping, overrides)
        click.echo(f"{len(table.rows)} rows, {table.encoding}.")
        report = debrief_import.import_debriefs(
            actor, table, mapping, date_order, dry_run=dry_run, source=os.path.basename(file)
        )
    except ValueError as exc:
        raise click.ClickException(
            f"{exc} The file's columns: {', '.join(table.headers)}. Use --map FIELD=COLUMN."
            if "Map a column" in str(exc)
            else str(exc)
        ) from None
    click.echo(report.summary())
    for line in report.problems:
        click.echo(line)
    for line in report.notes:
        click.echo("Note: " + line)
    if report.failed:
        sys.exit(1)


@click.command("reindex")
@with_appcontext
def reindex() -> None:
    """Rebuild the search index from the database. Searches keep using the
    current index until the new one is complete."""
    from kb import search

    with click.progressbar(length=search.documents_in_database(), label="Indexing") as bar:
        count = search.reindex(progress=bar.update)
    if count is None:
        raise click.ClickException("Another process is rebuilding the index; try again later.")
    status = search.index_status()
    click.echo(f"Indexed {count} documents; outbox lag {status.get('outbox_lag')}.")


@click.command("indexer")
@with_appcontext
def indexer() -> None:
    """Keep this machine's search index current until stopped: follow the
    outbox, apply changes in batches, merge segments when idle, rebuild a
    missing or damaged index. A second one on the same index folder waits
    and takes over when the first ends. Run it with KB_SEARCH_INDEXER=external
    in the web workers' environment (otherwise they index too, in turn)."""
    import signal

    from kb import search

    folder = current_app.config["KB_INDEX_DIR"]

    def stop(signum, frame):
        follower = current_app.extensions.get(search.FOLLOWER)
        if follower is not None:
            follower.stop()  # in this thread, the follower's: cancels, does not wait

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    click.echo(f"Indexing into {folder}; stop with Ctrl-C or SIGTERM.")
    search.run_indexer(
        waiting=lambda: click.echo("Another indexer holds this index folder; waiting for it.")
    )
    click.echo("Indexer stopped.")


@click.command("bench")
@click.option("--debriefs", "count", default=100_000, show_default=True, type=click.IntRange(1))
@click.option("--seed", default=7, show_default=True, type=int)
@click.option("--queries-per-type", default=20, show_default=True, type=click.IntRange(1, 1000))
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="Also write JSON here.")
@click.option("--keep", is_flag=True, help="Keep the temporary database and index folder.")
@click.option(
    "--only",
    multiple=True,
    type=click.Choice(
        ["search", "themes", "exports", "imports", "nodes", "memory", "reindex", "writes"]
    ),
    help="Run only this section (repeatable); all of them by default.",
)
@click.option(
    "--import-rows",
    multiple=True,
    type=click.IntRange(1),
    help="Rows per file the imports section imports (repeatable); 10,000, 100,000 "
    "and 200,000 by default.",
)
@click.option(
    "--postgres-url",
    envvar="KB_BENCH_POSTGRES_URL",
    default="",
    help="A PostgreSQL server (postgresql://user@host/db) on which the nodes and writes "
    "sections create, and afterwards drop, a database of their own. Without it they are skipped.",
)
@click.option(
    "--filings",
    default=50,
    show_default=True,
    type=click.IntRange(1),
    help="Nodes: debriefs filed on one node and timed until the other finds them.",
)
@click.option(
    "--writes",
    default=10_000,
    show_default=True,
    type=click.IntRange(1),
    help="Memory: debriefs filed through the API while open files and memory are sampled.",
)
@click.option(
    "--clients",
    default=8,
    show_default=True,
    type=click.IntRange(1, 256),
    help="Writes: API clients filing debriefs at once.",
)
@click.option(
    "--seconds",
    default=60.0,
    show_default=True,
    type=click.FloatRange(1),
    help="Writes: how long the clients file, for each way of running the index writer.",
)
@click.option(
    "--indexer",
    "writes_modes",
    multiple=True,
    type=click.Choice(["external", "thread"]),
    help="Writes: the index writer as a `kb indexer` process (external) or a thread of a "
    "web worker (repeatable); both by default.",
)
def bench(
    count: int,
    seed: int,
    queries_per_type: int,
    json_path: str | None,
    keep: bool,
    only: tuple[str, ...],
    import_rows: tuple[int, ...],
    postgres_url: str,
    filings: int,
    writes: int,
    clients: int,
    seconds: float,
    writes_modes: tuple[str, ...],
) -> None:
    """Measure speed and memory on generated data, in a temporary database
    and index folder (never the configured ones)."""
    from kb.bench import run

    run(
        count=count,
        seed=seed,
        queries_per_type=queries_per_type,
        json_path=json_path,
        keep=keep,
        only=only,
        import_sizes=import_rows,
        postgres_url=postgres_url,
        filings=filings,
        writes=writes,
        clients=clients,
        seconds=seconds,
        writes_modes=writes_modes,
    )


@click.command("evaluate")
@click.option(
    "--dataset",
    type=click.Choice(["cfpb", "cfpb-products", "airline"]),
    default=None,
    help="A bundled labelled data set: cfpb (the default: US consumer financial complaints "
    "labelled with their issue, public domain), cfpb-products (the same, labelled with "
    "their product) or airline (airline complaints on Twitter, non-commercial licence, "
    "only in the source repository). With --csv, its queries and columns apply to that file.",
)
@click.option(
    "--csv",
    "--data",
    "data",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Your own labelled feedback: a CSV (comma, semicolon or tab separated) with a text "
    "column and a label column. Give its queries with --queries.",
)
@click.option(
    "--text-column",
    default=None,
    help="The column holding each text (default: text).",
)
@click.option(
    "--label-column",
    default=None,
    help="The column holding each text's label (default: negativereason or label).",
)
@click.option(
    "--queries",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="The query an analyst would type for each label (CSV: label, query and, optionally, "
    "terms separated by |); the data set's by default.",
)
@click.option(
    "--write-queries",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Only write a starting queries file for the labels of the data (each label's own "
    "words as its query), to edit before evaluating with --queries.",
)
@click.option("--limit", type=click.IntRange(1), default=None, help="Load only the first N texts.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="Also write JSON here.")
@click.option("--keep", is_flag=True, help="Keep the temporary database and index folder.")
def evaluate(
    dataset: str | None,
    data: Path | None,
    text_column: str | None,
    label_column: str | None,
    queries: Path | None,
    write_queries: Path | None,
    limit: int | None,
    json_path: str | None,
    keep: bool,
) -> None:
    """Measure discovery, search and themes against labelled real feedback,
    in a temporary database and index folder (never the configured ones).

    Any labelled CSV can be evaluated: kb evaluate --csv FILE --text-column
    COLUMN --label-column COLUMN --queries QUERIES.csv"""
    from collections import Counter

    from kb.evaluation import dataset as datasets
    from kb.evaluation import run
    from kb.evaluation.load import LoadError

    bundled = datasets.DATASETS[dataset or datasets.DEFAULT_DATASET]
    if data is None or dataset:
        data = data or bundled.data
        queries = queries or bundled.queries
        label_column = label_column or bundled.label_column
    try:
        if write_queries:
            texts = datasets.read_texts(data, limit, text_column, label_column)
            labels = Counter(t.label for t in texts)
            datasets.write_queries(write_queries, labels)
            click.echo(
                f"Wrote a query for each of the {len(labels)} labels to {write_queries}. "
                f"Change each to what an analyst would type before looking at any figure, "
                f"then run kb evaluate with --queries {write_queries}."
            )
            return
        if queries is None:
            labels = sorted(
                {t.label for t in datasets.read_texts(data, limit, text_column, label_column)}
            )
            raise datasets.DataError(
                f"Give the query an analyst would type for each label of {data} "
                f"({', '.join(labels)}) with --queries FILE (columns label, query and, "
                f"optionally, terms); --write-queries FILE writes a starting one to edit."
            )
        run(
            data,
            queries,
            limit,
            json_path,
            keep,
            text_column=text_column,
            label_column=label_column,
        )
    except (datasets.DataError, LoadError) as exc:
        raise click.ClickException(str(exc)) from None


@click.command("export")
@with_appcontext
@click.argument("what", type=click.Choice(["debriefs", "themes", "practices"]))
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "xlsx", "json"]), default="csv", show_default=True
)
@click.option(
    "--kind", default=None, help="For CSV: the sheet (debriefs, reasons, quotes; evidence)."
)
@click.option("--q", default="", help="Search text, as on the search page.")
@click.option("--outcome", multiple=True, help="Filter (repeatable).")
@click.option("--competitor", multiple=True, help="Filter (repeatable).")
@click.option("--segment", multiple=True, help="Filter (repeatable).")
@click.option(
    "--period", default="90d", show_default=True, help="Themes: the period of the figures."
)
@click.option(
    "--base-url",
    envvar="KB_BASE_URL",
    default="",
    help="Where the app is reached (https://kb.example.com), for the links to "
    "debriefs; none without it. Default: $KB_BASE_URL.",
)
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False))
def export(
    what: str,
    fmt: str,
    kind: str | None,
    q: str,
    outcome: tuple[str, ...],
    competitor: tuple[str, ...],
    segment: tuple[str, ...],
    period: str,
    base_url: str,
    output: str,
) -> None:
    """Export debriefs, themes or practices to a file. Reads every debrief (as
    an admin); practices show no anonymous author."""
    from contextlib import nullcontext
    from datetime import date

    from kb import search
    from kb.analytics.periods import choose_period
    from kb.exports import build, rows
    from kb.practices.queries import PlaybookParams
    from kb.search import SearchParams

    filters = {
        name: list(values)
        for name, values in (("outcome", outcome), ("competitor", competitor), ("segment", segment))
        if values
    }
    today = date.today()
    chosen, _, errors = choose_period({"period": period}, today, "90d")
    if errors:
        raise click.ClickException(" ".join(errors.values()))
    args = build.arguments(
        search=SearchParams(q=q, filters=filters, sort="newest"),
        playbook=PlaybookParams(
            q=q,
            outcome=outcome[0] if outcome else "",
            competitor=competitor[0] if competitor else "",
            segment=segment[0] if segment else "",
        ),
        period=chosen,
        today=today,
    )
    if what == "debriefs":
        # What the search page would say about the query and filters.
        for warning in search.all_matches(rows.export_viewer(), args["search"]).warnings:
            click.echo(f"Note: {warning}", err=True)
    if base_url and not base_url.startswith(("http://", "https://")):
        raise click.ClickException(
            f"--base-url {base_url!r}: give the full address, such as https://kb.example.com."
        )
    links = rows.links_at(base_url) if base_url else nullcontext()
    with links, open(output, "wb") as f:
        for chunk in build.chunks(what, fmt, kind or what, rows.export_viewer(), None, args):
            f.write(chunk.encode("utf-8") if isinstance(chunk, str) else chunk)
    click.echo(f"Wrote {output}.")


@click.command("backup")
@with_appcontext
@click.argument("file", type=click.Path(dir_okay=False))
def backup_command(file: str) -> None:
    """Write the whole database to FILE (JSON lines; FILE.gz compresses it).
    The search index is rebuilt from it on restore, so it is not included."""
    from kb.backup import BackupError, backup

    try:
        summary = backup(file)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"Wrote {file}: {summary.total} rows in {len(summary.rows)} tables, "
        f"schema {summary.schema}."
    )


@click.command("restore")
@with_appcontext
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--force", is_flag=True, help="Replace everything already in the database.")
def restore_command(file: str, force: bool) -> None:
    """Load a `kb backup` file into this database (SQLite or PostgreSQL, from
    either), upgrade it to the newest schema, and rebuild the search index."""
    from kb import search
    from kb.backup import BackupError, restore

    try:
        summary = restore(file, force=force)
    except BackupError as exc:
        raise click.ClickException(f"{exc} Nothing was changed.") from None
    click.echo(
        f"Restored {summary.total} rows in {len(summary.rows)} tables from schema {summary.schema}."
    )
    with click.progressbar(length=search.documents_in_database(), label="Indexing") as bar:
        count = search.reindex(progress=bar.update)
    if count is None:
        raise click.ClickException(
            "Another process is rebuilding the index; run `kb reindex` when it is done."
        )
    click.echo(f"Indexed {count} documents.")
