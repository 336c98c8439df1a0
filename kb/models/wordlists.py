"""Words and phrases admins leave out of discovery's findings, beyond the
built-in stop words (boilerplate such as "sent from my iphone")."""

from datetime import datetime

from sqlalchemy import String, func
from sqlalchemy.orm import Mapped, mapped_column

from kb.extensions import db


class ExcludedPhrase(db.Model):
    __tablename__ = "excluded_phrases"

    id: Mapped[int] = mapped_column(primary_key=True)
    phrase: Mapped[str] = mapped_column(String(120))
    # The phrase lowercased with single spaces: one entry per spelling.
    key: Mapped[str] = mapped_column(String(120), unique=True)
    added_at: Mapped[datetime] = mapped_column(server_default=func.now())
