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

from kb.extensions import db
from kb.models import IndexChange


def enqueue(doc_type: str, *doc_ids: int) -> None:
    """Record that these documents must be re-read into the index. Call before
    the commit of the change itself, so both land or neither does."""
    db.session.add_all(IndexChange(doc_type=doc_type, doc_id=doc_id) for doc_id in doc_ids)
