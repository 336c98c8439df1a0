from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Column, ForeignKey, Numeric, String, Table, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kb.extensions import db
from kb.models.competitors import Competitor
from kb.models.enums import Outcome, WinnerKind, enum_column
from kb.models.users import User

deal_competitors = Table(
    "deal_competitors",
    db.metadata,
    Column("deal_id", ForeignKey("deals.id", ondelete="CASCADE"), primary_key=True),
    Column("competitor_id", ForeignKey("competitors.id"), primary_key=True, index=True),
)


class Deal(db.Model):
    __tablename__ = "deals"

    id: Mapped[int] = mapped_column(primary_key=True)
    crm_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    account: Mapped[str] = mapped_column(String(200))
    amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    close_date: Mapped[date] = mapped_column(index=True)
    outcome: Mapped[Outcome] = mapped_column(enum_column(Outcome, "deal_outcome"), index=True)
    segment: Mapped[str | None] = mapped_column(String(80))
    region: Mapped[str | None] = mapped_column(String(80))
    industry: Mapped[str | None] = mapped_column(String(80))
    product_line: Mapped[str | None] = mapped_column(String(80))
    sales_cycle_days: Mapped[int | None]
    stage_reached: Mapped[str | None] = mapped_column(String(80))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    winner_kind: Mapped[WinnerKind | None] = mapped_column(enum_column(WinnerKind, "winner_kind"))
    winner_competitor_id: Mapped[int | None] = mapped_column(ForeignKey("competitors.id"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())

    owner: Mapped[User | None] = relationship()
    competitors: Mapped[list[Competitor]] = relationship(
        secondary=deal_competitors, order_by=Competitor.name
    )
    winner_competitor: Mapped[Competitor | None] = relationship()
    debriefs: Mapped[list["Debrief"]] = relationship(  # noqa: F821
        back_populates="deal", cascade="all, delete-orphan"
    )

    @property
    def winner_label(self) -> str | None:
        if self.outcome == Outcome.WON:
            return "Us"
        if self.winner_kind == WinnerKind.COMPETITOR and self.winner_competitor:
            return self.winner_competitor.name
        if self.winner_kind in (WinnerKind.NO_DECISION, WinnerKind.IN_HOUSE):
            return self.winner_kind.label
        return None

    @property
    def quarter(self) -> str:
        return f"{self.close_date.year}-Q{(self.close_date.month - 1) // 3 + 1}"
