"""Deal facts for counting deals rather than debriefs: which deal each
debrief belongs to, and each deal's outcome, amount and currency.

Read from the database and kept per app in memory. A debrief never moves to
another deal, so that mapping only grows; a deal's facts are read again when
the search outbox (which every debrief and deal change writes to, in the
same transaction) shows one of its debriefs changed. So a figure reflects a
change as soon as it is committed.
"""

import threading
from collections.abc import Iterable
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import func, select

from kb.extensions import db
from kb.models import Deal, Debrief, IndexChange

EXTENSION = "kb_theme_facts"
CHUNK = 5000


@dataclass(frozen=True)
class DealFact:
    outcome: str
    amount: float | None
    currency: str


class DealFacts:
    def __init__(self) -> None:
        self.version = -1
        self.deal_of: dict[int, int] = {}
        self.facts: dict[int, DealFact] = {}
        self.lock = threading.Lock()

    def refresh(self) -> int:
        """Forget the facts of deals changed since the last look; returns the
        outbox position now reflected (a cache key for figures)."""
        latest = db.session.scalar(select(func.max(IndexChange.id))) or 0
        with self.lock:
            if latest < self.version:  # the database was emptied: start over
                self.deal_of.clear()
                self.facts.clear()
                self.version = -1
            if latest > self.version:
                changed = (
                    db.session.scalars(
                        select(IndexChange.doc_id)
                        .where(IndexChange.id > self.version, IndexChange.doc_type == "debrief")
                        .distinct()
                    ).all()
                    if self.version >= 0
                    else []
                )
                for debrief_id in changed:
                    deal_id = self.deal_of.get(debrief_id)
                    if deal_id is not None:
                        self.facts.pop(deal_id, None)
                self.version = latest
            return self.version

    def deals(self, debrief_ids: Iterable[int]) -> list[int]:
        """The deal of each debrief (in order; a deleted debrief has none)."""
        ids = list(debrief_ids)
        missing = [i for i in ids if i not in self.deal_of]
        if missing:
            found = {}
            for start in range(0, len(missing), CHUNK):
                part = missing[start : start + CHUNK]
                found.update(
                    db.session.execute(
                        select(Debrief.id, Debrief.deal_id).where(Debrief.id.in_(part))
                    ).all()
                )
            with self.lock:
                self.deal_of.update(found)
        deal_of = self.deal_of
        return [deal_of[i] for i in ids if i in deal_of]

    def of(self, deal_ids: Iterable[int]) -> dict[int, DealFact]:
        wanted = set(deal_ids)
        facts = self.facts
        missing = [i for i in wanted if i not in facts]
        if missing:
            found = {}
            for start in range(0, len(missing), CHUNK):
                part = missing[start : start + CHUNK]
                for deal_id, outcome, amount, currency in db.session.execute(
                    select(Deal.id, Deal.outcome, Deal.amount, Deal.currency).where(
                        Deal.id.in_(part)
                    )
                ):
                    found[deal_id] = DealFact(
                        getattr(outcome, "value", outcome),
                        float(amount) if amount is not None else None,
                        currency or "USD",
                    )
            with self.lock:
                facts.update(found)
        return {i: facts[i] for i in wanted if i in facts}

    def preload(self) -> None:
        """Read every debrief's deal and every debriefed deal at once (a few
        hundred milliseconds at 100,000 debriefs) rather than in pieces."""
        rows = db.session.execute(select(Debrief.id, Debrief.deal_id)).all()
        with self.lock:
            self.deal_of.update(rows)
        self.of({deal_id for _, deal_id in rows})


def deal_facts() -> DealFacts:
    """This app's deal facts, up to date with the database."""
    facts = current_app.extensions.get(EXTENSION)
    if facts is None:
        facts = current_app.extensions.setdefault(EXTENSION, DealFacts())
    facts.refresh()
    return facts
