from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kb.extensions import db


class Competitor(db.Model):
    __tablename__ = "competitors"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    website: Mapped[str | None] = mapped_column(String(255))

    aliases: Mapped[list["CompetitorAlias"]] = relationship(
        back_populates="competitor", cascade="all, delete-orphan", order_by="CompetitorAlias.alias"
    )

    def __repr__(self) -> str:
        return f"<Competitor {self.name}>"


class CompetitorAlias(db.Model):
    """Another name a competitor goes by ("SFDC" for Salesforce). Looked up
    case-insensitively through `key`, and used as a search synonym."""

    __tablename__ = "competitor_aliases"

    id: Mapped[int] = mapped_column(primary_key=True)
    competitor_id: Mapped[int] = mapped_column(ForeignKey("competitors.id"), index=True)
    alias: Mapped[str] = mapped_column(String(120))
    key: Mapped[str] = mapped_column(String(120), unique=True)

    competitor: Mapped[Competitor] = relationship(back_populates="aliases")
