from datetime import date, datetime

from sqlalchemy import JSON, ForeignKey, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kb.extensions import db
from kb.models.enums import Polarity, ThemeStatus, enum_column
from kb.models.users import User


class Theme(db.Model):
    """A named, saved search. Which debriefs mention it is always computed by
    the search engine from `query` and `filters`, never stored."""

    __tablename__ = "themes"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    query: Mapped[str] = mapped_column(String(500), default="")
    # Search filters as the search page takes them, e.g. {"outcome": "lost",
    # "competitor": "Acme", "category": ["price.total-cost"]}.
    filters: Mapped[dict] = mapped_column(JSON, default=dict)
    polarity: Mapped[Polarity] = mapped_column(
        enum_column(Polarity, "theme_polarity"), default=Polarity.NEUTRAL
    )
    status: Mapped[ThemeStatus] = mapped_column(
        enum_column(ThemeStatus, "theme_status"), default=ThemeStatus.EMERGING
    )
    addressed_on: Mapped[date | None]
    addressed_action: Mapped[str] = mapped_column(Text, default="")
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    notes: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())

    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
