"""The search outbox: changes to index, recorded in the caller's transaction.

What must be enqueued: a document created, changed or deleted, and every
document whose indexed copy includes something that changed elsewhere (a
deal's facts, a competitor's name, a category's slug). Aliases, choice
labels and user names are looked up when searching and need nothing.

Rows are kept after they are applied. Each index folder (one per machine)
has its own cursor, which the database cannot see, so no process can know
that every folder is past a row; a row is about 50 bytes, and `kb reindex`
makes any folder whole again. Should rows ever be pruned, the newest must
stay: SQLite numbers a new row after the highest one still present.
"""

from collections.abc import Iterable

from sqlalchemy import Select, insert, select

from kb.extensions import db
from kb.models import IndexChange, Practice


def enqueue(doc_type: str, *doc_ids: int) -> None:
    """Record that these documents must be re-read into the index. Call before
    the commit of the change itself, so both land or neither does."""
    db.session.add_all(IndexChange(doc_type=doc_type, doc_id=doc_id) for doc_id in doc_ids)


def enqueue_now(doc_type: str, doc_ids: Iterable[int]) -> None:
    """enqueue(), written at once in one INSERT whatever the number of rows
    (the ORM sends SQLite one INSERT a row, to read back each row's id and
    time, which nothing here needs), straight on the session's connection:
    no unit of work, no ORM bulk machinery. Pending objects are flushed
    first, so call it where the session holds nothing half-built."""
    rows = [{"doc_type": doc_type, "doc_id": doc_id} for doc_id in doc_ids]
    if rows:
        session = db.session()
        session.flush()  # nothing to do, and no SQL, when nothing is pending
        session.connection().execute(insert(IndexChange.__table__), rows)
        # What an IndexChange seen at a flush sets: the commit wakes the indexer.
        session.info["kb_outbox"] = True


def enqueue_deal_practices(deal_ids: Iterable[int] | Select) -> list[int]:
    """Queue the practices linked to these deals (ids, or a select of them):
    a practice's index document copies its deal's competitors, segment and
    outcome. Returns the practice ids queued."""
    if not isinstance(deal_ids, Select):
        deal_ids = list(deal_ids)
    ids = list(
        db.session.scalars(
            select(Practice.id).where(Practice.deal_id.in_(deal_ids)).order_by(Practice.id)
        )
    )
    if ids:
        enqueue("practice", *ids)
    return ids
