"""A portable dump of the database: `kb backup` writes it, `kb restore` loads it.

The file is JSON lines, the same on SQLite and PostgreSQL, so a dump taken on
one loads into the other:

    {"format": "kb-backup", "version": 1, "schema": "0003", "taken_at": ...}
    {"table": "teams", "columns": ["id", "name"]}
    [1, "East"]
    ...
    {"end": true, "rows": {"teams": 2, ...}, "sha256": "<of every line above>"}

Rows are read and written through reflected tables, so values are what the
database stores (enum values as text, JSON as objects); dates, times and
decimals travel as ISO text and are converted back by the target column's
type. The search index is not in the file: it is derived, and restore
rebuilds it. The closing line's checksum lets restore refuse a truncated or
altered file before it changes anything.

A backup reads every table in one transaction, so the tables agree with each
other; on SQLite (without WAL) writers wait for it to finish.
"""

import base64
import datetime as dt
import gzip
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO

from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app
from sqlalchemy import Connection, MetaData, Table, func, inspect, select, text

from kb.extensions import db

FORMAT = "kb-backup"
VERSION = 1
# What `kb init` puts in a new database: a database holding only these rows is
# still empty for restore's purposes.
SEED_TABLES = frozenset({"reason_categories", "choices"})
BATCH = 1000


class BackupError(Exception):
    """A dump that cannot be restored here; the message says why."""


@dataclass
class Summary:
    schema: str
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def _open(path: str | Path, mode: str, compress: bool | None = None) -> IO[str]:
    if compress or (compress is None and str(path).endswith(".gz")):
        return gzip.open(path, mode + "t", encoding="utf-8")
    return open(path, mode, encoding="utf-8")  # noqa: SIM115 (the caller closes it)


def _encode(value):
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    raise TypeError(f"cannot store {type(value).__name__} in a backup")


def _current_schema(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _migrations() -> str:
    return current_app.extensions["migrate"].directory


def _reflect(connection: Connection, names: list[str]) -> dict[str, Table]:
    meta = MetaData()
    meta.reflect(connection, only=names)
    return dict(meta.tables)


def tables_in_order() -> list[str]:
    """The app's tables, parents first (the order of a backup)."""
    return [t.name for t in db.metadata.sorted_tables]


def backup(path: str | Path) -> Summary:
    """Write every table of the app's schema to `path` (.gz compresses it),
    parents before children, in one consistent read."""
    names = tables_in_order()
    partial = Path(f"{path}.part")
    with db.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            # One snapshot for every table, so the dump is consistent under writes.
            connection.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))
        elif connection.dialect.name == "sqlite":
            # The driver reads outside a transaction unless told; one read
            # transaction keeps the tables consistent with each other.
            connection.exec_driver_sql("BEGIN")
        schema = _current_schema(connection)
        if schema is None:
            raise BackupError("The database has no schema yet; run `kb init` first.")
        summary = Summary(schema)
        with _open(partial, "w", compress=str(path).endswith(".gz")) as out:
            _write_tables(connection, out, names, summary)
    # Only a complete file takes the name, so a failed backup never looks like one.
    partial.replace(path)
    return summary


def _write_tables(connection: Connection, out: IO[str], names: list[str], summary: Summary):
    digest = hashlib.sha256()
    tables = _reflect(connection, names)

    def write(obj) -> None:
        line = json.dumps(obj, default=_encode, ensure_ascii=False) + "\n"
        digest.update(line.encode())
        out.write(line)

    write(
        {
            "format": FORMAT,
            "version": VERSION,
            "schema": summary.schema,
            "dialect": connection.dialect.name,
            "taken_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
    )
    for name in names:
        table = tables[name]
        write({"table": name, "columns": [c.name for c in table.columns]})
        order = list(table.primary_key.columns) or list(table.columns)
        count = 0
        for row in connection.execute(select(table).order_by(*order)).yield_per(BATCH):
            write(list(row))
            count += 1
        summary.rows[name] = count
    out.write(json.dumps({"end": True, "rows": summary.rows, "sha256": digest.hexdigest()}) + "\n")


def _read_lines(path: str | Path) -> Iterator[tuple[int, str]]:
    try:
        with _open(path, "r") as f:
            yield from enumerate(f, start=1)
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        # gzip raises EOFError or BadGzipFile (an OSError) for a cut-off file.
        raise BackupError(f"{path} cannot be read ({exc}).") from None


def check(path: str | Path) -> tuple[dict, dict]:
    """Read the whole file once and return its first and closing lines, or
    raise BackupError; restore writes nothing before this passes."""
    digest = hashlib.sha256()
    header = end = None
    rows: dict[str, int] = {}
    table = None
    for number, line in _read_lines(path):
        if end is not None:
            raise BackupError(f"{path}: line {number} comes after the end of the backup.")
        try:
            obj = json.loads(line)
        except ValueError:
            raise BackupError(
                f"{path}: line {number} is not valid JSON; the file is damaged."
            ) from None
        if header is None:
            if not isinstance(obj, dict) or obj.get("format") != FORMAT:
                raise BackupError(f"{path} is not a kb backup.")
            header = obj
        elif isinstance(obj, dict) and obj.get("end") is True:
            if obj.get("sha256") != digest.hexdigest() or obj.get("rows") != rows:
                raise BackupError(f"{path}: the checksum does not match; the file was altered.")
            end = obj
            continue
        elif isinstance(obj, dict) and isinstance(obj.get("table"), str):
            table = obj["table"]
            rows[table] = 0
        elif isinstance(obj, list) and table is not None:
            rows[table] += 1
        else:
            raise BackupError(f"{path}: line {number} is not part of a kb backup.")
        digest.update(line.encode())
    if header is None:
        raise BackupError(f"{path} is empty.")
    if end is None:
        raise BackupError(f"{path} is incomplete (it has no closing line): it was cut short.")
    if header.get("version") != VERSION:
        raise BackupError(f"{path}: backup format version {header.get('version')} is unknown.")
    return header, end


def _batches(path: str | Path) -> Iterator[tuple[str, list[str], list[list]]]:
    """(table, columns, rows) in file order, at most BATCH rows at a time."""
    table, columns, rows = None, [], []
    for number, line in _read_lines(path):
        obj = json.loads(line)
        if number == 1:
            continue
        if isinstance(obj, list):
            rows.append(obj)
            if len(rows) >= BATCH:
                yield table, columns, rows
                rows = []
            continue
        if table is not None and rows:
            yield table, columns, rows
        table, columns, rows = obj.get("table"), obj.get("columns", []), []


def _decoder(table: Table, columns: list[str]) -> Callable[[list], dict]:
    converters = []
    for name in columns:
        try:
            kind = table.columns[name].type.python_type
        except (KeyError, NotImplementedError):
            kind = None
        if kind in (dt.datetime, dt.date, dt.time):
            converters.append(kind.fromisoformat)
        elif kind is Decimal:
            converters.append(Decimal)
        elif kind is bytes:
            converters.append(base64.b64decode)
        else:
            converters.append(None)

    def decode(row: list) -> dict:
        return {
            name: (convert(v) if convert and v is not None else v)
            for name, convert, v in zip(columns, converters, row, strict=True)
        }

    return decode


def _in_use(connection: Connection, tables: dict[str, Table]) -> list[str]:
    """Tables holding rows that `kb init` did not put there."""
    return [
        name
        for name, table in tables.items()
        if name not in SEED_TABLES
        and connection.scalar(select(func.count()).select_from(table)) > 0
    ]


def _restart_sequences(connection: Connection, tables: dict[str, Table]) -> None:
    """Ids came from the file, so PostgreSQL's sequences must move past them."""
    for name, table in tables.items():
        for column in table.primary_key.columns:
            sequence = connection.scalar(
                text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": name, "c": column.name}
            )
            if sequence:
                top = connection.scalar(select(func.max(column)))
                connection.execute(
                    text("SELECT setval(:s, :v, false)"), {"s": sequence, "v": (top or 0) + 1}
                )


def _descends(scripts: ScriptDirectory, newer: str, older: str) -> bool:
    try:
        return any(r.revision == older for r in scripts.iterate_revisions(newer, "base"))
    except Exception:  # alembic raises several kinds for revisions it cannot relate
        return False


def _check_schema(path, schema: str | None) -> None:
    scripts = ScriptDirectory(_migrations())
    try:
        known = schema is not None and scripts.get_revision(schema) is not None
    except Exception:  # alembic raises several kinds for an unknown id
        known = False
    if not known:
        raise BackupError(
            f"{path} was taken at schema {schema}, which this version of kb does not know "
            f"(its newest is {scripts.get_current_head()}): upgrade kb, then restore."
        )
    with db.engine.connect() as connection:
        current = _current_schema(connection)
    if current is not None and current != schema and _descends(scripts, current, schema):
        raise BackupError(
            f"This database is at schema {current}, newer than the backup's {schema}: "
            "restore into a new database (it is upgraded after loading)."
        )


def restore(path: str | Path, *, force: bool = False) -> Summary:
    """Load a backup into this database in one transaction. Refuses a damaged
    file, a schema newer than this version knows, and (without `force`) a
    database already in use. Creates the schema as needed and upgrades it
    after loading; the caller rebuilds the search index."""
    from flask_migrate import upgrade

    header, end = check(path)
    schema = header.get("schema")
    _check_schema(path, schema)
    # Load at the backup's own schema, then let the migrations bring it up to date.
    upgrade(directory=_migrations(), revision=schema)
    names = list(end["rows"])
    with db.engine.begin() as connection:
        tables = _reflect(connection, names)
        if missing := [n for n in names if n not in tables]:
            raise BackupError(f"The database has no table {', '.join(missing)}.")
        if (busy := _in_use(connection, tables)) and not force:
            raise BackupError(
                f"The database already holds data (in {', '.join(busy[:5])}): restore into "
                "an empty database, or pass --force to replace everything in it."
            )
        for name in reversed(names):
            connection.execute(tables[name].delete())
        decoders: dict[str, Callable] = {}
        for name, columns, rows in _batches(path):
            decode = decoders.setdefault(name, _decoder(tables[name], columns))
            connection.execute(tables[name].insert(), [decode(r) for r in rows])
        if connection.dialect.name == "postgresql":
            _restart_sequences(connection, tables)
    upgrade(directory=_migrations())
    db.session.remove()  # nothing cached from before the restore
    return Summary(schema, dict(end["rows"]))


def table_counts() -> dict[str, int]:
    """Rows per table of the app's schema (to compare two databases)."""
    with db.engine.connect() as connection:
        present = set(inspect(connection).get_table_names())
        tables = _reflect(connection, [n for n in tables_in_order() if n in present])
        return {
            name: connection.scalar(select(func.count()).select_from(table))
            for name, table in tables.items()
        }
