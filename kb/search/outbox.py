"""The search outbox: changes to index, recorded in the caller's transaction."""

from kb.extensions import db
from kb.models import IndexChange


def enqueue(doc_type: str, *doc_ids: int) -> None:
    """Record that these documents must be re-read into the index. Call before
    the commit of the change itself, so both land or neither does."""
    db.session.add_all(IndexChange(doc_type=doc_type, doc_id=doc_id) for doc_id in doc_ids)
