from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kb.extensions import db
from kb.models.competitors import Competitor
from kb.models.deals import Deal
from kb.models.enums import DebriefSource, DebriefStatus, Direction, enum_column
from kb.models.lookups import ReasonCategory
from kb.models.users import User

# The standard criteria a debrief may score from 1 (poor) to 5 (excellent),
# as (column suffix, label shown on the form).
SCORE_CRITERIA = (
    ("product_fit", "Product fit"),
    ("value_for_money", "Value for money"),
    ("sales_experience", "Sales experience"),
    ("implementation_confidence", "Implementation confidence"),
    ("relationship", "Relationship and trust"),
)


def _score_column() -> Mapped[int | None]:
    return mapped_column(nullable=True)


class Debrief(db.Model):
    __tablename__ = "debriefs"
    __table_args__ = tuple(
        CheckConstraint(f"score_{key} BETWEEN 1 AND 5", name=f"score_{key}")
        for key, _ in SCORE_CRITERIA
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("deals.id", ondelete="CASCADE"), index=True)
    source: Mapped[DebriefSource] = mapped_column(enum_column(DebriefSource, "debrief_source"))
    status: Mapped[DebriefStatus] = mapped_column(
        enum_column(DebriefStatus, "debrief_status"), default=DebriefStatus.DRAFT, index=True
    )
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # A buyer interview: who on the customer side spoke, and when.
    interviewee_role: Mapped[str | None] = mapped_column(String(80))
    interviewee_name: Mapped[str | None] = mapped_column(String(120))
    interview_date: Mapped[date | None]
    decision_process: Mapped[str] = mapped_column(Text, default="")
    competitive_notes: Mapped[str] = mapped_column(Text, default="")
    what_worked: Mapped[str] = mapped_column(Text, default="")
    lessons_learned: Mapped[str] = mapped_column(Text, default="")
    score_product_fit: Mapped[int | None] = _score_column()
    score_value_for_money: Mapped[int | None] = _score_column()
    score_sales_experience: Mapped[int | None] = _score_column()
    score_implementation_confidence: Mapped[int | None] = _score_column()
    score_relationship: Mapped[int | None] = _score_column()
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())
    submitted_at: Mapped[datetime | None]
    # Set by `kb import-debriefs`: the file's row id or a hash of the row, so
    # that importing the same history again adds nothing.
    import_key: Mapped[str | None] = mapped_column(String(80), unique=True, index=True)

    deal: Mapped[Deal] = relationship(back_populates="debriefs")
    author: Mapped[User] = relationship()
    reasons: Mapped[list["Reason"]] = relationship(
        back_populates="debrief", cascade="all, delete-orphan", order_by="Reason.rank"
    )
    quotes: Mapped[list["Quote"]] = relationship(
        back_populates="debrief", cascade="all, delete-orphan", order_by="Quote.position"
    )

    @property
    def scores(self) -> dict[str, int | None]:
        return {key: getattr(self, f"score_{key}") for key, _ in SCORE_CRITERIA}

    @property
    def is_draft(self) -> bool:
        return self.status == DebriefStatus.DRAFT

    @property
    def title(self) -> str:
        return f"{self.deal.name} — {self.source.label}"


class Reason(db.Model):
    __tablename__ = "reasons"

    id: Mapped[int] = mapped_column(primary_key=True)
    debrief_id: Mapped[int] = mapped_column(
        ForeignKey("debriefs.id", ondelete="CASCADE"), index=True
    )
    rank: Mapped[int]
    category_id: Mapped[int] = mapped_column(ForeignKey("reason_categories.id"), index=True)
    direction: Mapped[Direction] = mapped_column(enum_column(Direction, "reason_direction"))
    is_primary: Mapped[bool] = mapped_column(default=False)
    explanation: Mapped[str] = mapped_column(Text, default="")
    competitor_id: Mapped[int | None] = mapped_column(ForeignKey("competitors.id"))

    debrief: Mapped[Debrief] = relationship(back_populates="reasons")
    category: Mapped[ReasonCategory] = relationship()
    competitor: Mapped[Competitor | None] = relationship()


class Quote(db.Model):
    __tablename__ = "quotes"

    id: Mapped[int] = mapped_column(primary_key=True)
    debrief_id: Mapped[int] = mapped_column(
        ForeignKey("debriefs.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int]
    text: Mapped[str] = mapped_column(Text)
    speaker_role: Mapped[str | None] = mapped_column(String(80))

    debrief: Mapped[Debrief] = relationship(back_populates="quotes")
