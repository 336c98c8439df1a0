"""Reference data that admins curate: the reason taxonomy and the closed lists
of segments, regions, industries and product lines."""

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kb.extensions import db

CHOICE_KINDS = ("segment", "region", "industry", "product_line")


class ReasonCategory(db.Model):
    """Two levels: a group (parent is None) and the categories within it.
    Reasons are tagged with a category of the second level."""

    __tablename__ = "reason_categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("reason_categories.id"))
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)

    parent: Mapped["ReasonCategory | None"] = relationship(
        remote_side=[id], back_populates="children"
    )
    children: Mapped[list["ReasonCategory"]] = relationship(
        back_populates="parent", order_by="ReasonCategory.position"
    )

    @property
    def label(self) -> str:
        return f"{self.parent.name} › {self.name}" if self.parent else self.name

    @property
    def group(self) -> "ReasonCategory":
        return self.parent or self


class Choice(db.Model):
    __tablename__ = "choices"
    __table_args__ = (UniqueConstraint("kind", "value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)
    value: Mapped[str] = mapped_column(String(80))
    position: Mapped[int] = mapped_column(default=0)
