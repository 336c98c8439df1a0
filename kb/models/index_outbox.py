from datetime import datetime

from sqlalchemy import BigInteger, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column

from kb.extensions import db


class IndexChange(db.Model):
    """The search outbox: a document that must be (re)indexed or removed,
    written in the same transaction as the change that calls for it. The
    indexer reads the document's current state from the database, so applying
    a change twice, or late, is harmless; each index folder keeps its own
    cursor into this table."""

    __tablename__ = "index_changes"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    doc_type: Mapped[str] = mapped_column(String(20))
    doc_id: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
