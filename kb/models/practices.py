from datetime import datetime

from sqlalchemy import Column, ForeignKey, String, Table, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kb.extensions import db
from kb.models.deals import Deal
from kb.models.debriefs import Debrief
from kb.models.enums import EndorsementKind, PracticeKind, PracticeStatus, enum_column
from kb.models.users import User

practice_tags = Table(
    "practice_tags",
    db.metadata,
    Column("practice_id", ForeignKey("practices.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id"), primary_key=True, index=True),
)


class Tag(db.Model):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)


class Practice(db.Model):
    """A peer-shared best practice from a win, or a lesson from a loss.

    `author_id` is kept even for anonymous entries (admins may need it, and
    authors edit their own); every reader but an admin must get it only
    through kb.practices' anonymity-aware views."""

    __tablename__ = "practices"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[PracticeKind] = mapped_column(
        enum_column(PracticeKind, "practice_kind"), default=PracticeKind.PRACTICE
    )
    title: Mapped[str] = mapped_column(String(200))
    situation: Mapped[str] = mapped_column(Text, default="")
    actions: Mapped[str] = mapped_column(Text, default="")
    result: Mapped[str] = mapped_column(Text, default="")
    deal_id: Mapped[int | None] = mapped_column(ForeignKey("deals.id", ondelete="SET NULL"))
    debrief_id: Mapped[int | None] = mapped_column(ForeignKey("debriefs.id", ondelete="SET NULL"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    anonymous: Mapped[bool] = mapped_column(default=False)
    status: Mapped[PracticeStatus] = mapped_column(
        enum_column(PracticeStatus, "practice_status"), default=PracticeStatus.DRAFT, index=True
    )
    featured: Mapped[bool] = mapped_column(default=False)
    featured_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())
    published_at: Mapped[datetime | None]

    author: Mapped[User] = relationship()
    deal: Mapped[Deal | None] = relationship()
    debrief: Mapped[Debrief | None] = relationship()
    tags: Mapped[list[Tag]] = relationship(secondary=practice_tags, order_by=Tag.name)
    endorsements: Mapped[list["Endorsement"]] = relationship(
        back_populates="practice", cascade="all, delete-orphan"
    )
    comments: Mapped[list["Comment"]] = relationship(
        back_populates="practice", cascade="all, delete-orphan", order_by="Comment.created_at"
    )


class Endorsement(db.Model):
    __tablename__ = "endorsements"
    __table_args__ = (UniqueConstraint("practice_id", "user_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(
        ForeignKey("practices.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[EndorsementKind] = mapped_column(enum_column(EndorsementKind, "endorsement_kind"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    practice: Mapped[Practice] = relationship(back_populates="endorsements")


class Comment(db.Model):
    __tablename__ = "comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(
        ForeignKey("practices.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    practice: Mapped[Practice] = relationship(back_populates="comments")
    author: Mapped[User] = relationship()
