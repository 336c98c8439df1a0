"""The reference data searches resolve names against: competitors and their
aliases (which are search synonyms), the curated choice lists, the reason
taxonomy. Read from the database, kept for a short while per process."""

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from kb.models import Choice, Competitor, ReasonCategory
from kb.search.analysis import analyse


@dataclass
class Vocabulary:
    # lowercase name or alias → canonical competitor name
    competitors: dict[str, str] = field(default_factory=dict)
    # canonical name → the name and its aliases
    spellings: dict[str, list[str]] = field(default_factory=dict)
    # a name or alias, analysed into index terms → canonical name
    synonyms: dict[tuple[str, ...], str] = field(default_factory=dict)
    # choice kind → lowercase value → the listed spelling
    choices: dict[str, dict[str, str]] = field(default_factory=dict)
    # group slug → group name; category slug → "Group › Category"
    groups: dict[str, str] = field(default_factory=dict)
    categories: dict[str, str] = field(default_factory=dict)

    def competitor(self, text: str) -> str | None:
        return self.competitors.get(text.strip().lower())

    def label(self, facet: str, value: str) -> str:
        """How a page shows an indexed (lowercase) value."""
        if facet in ("competitor", "winner"):
            special = {"us": "Us", "no_decision": "No decision", "in_house": "Built in-house"}
            return special.get(value) or self.competitors.get(value, value)
        if facet in self.choices:
            return self.choices[facet].get(value, value)
        if facet == "category_group":
            return self.groups.get(value, value)
        if facet == "category":
            return self.categories.get(value, value)
        if facet == "quarter":
            return value.upper()
        if facet == "outcome":
            return {"won": "Won", "lost": "Lost", "no_decision": "No decision"}.get(value, value)
        if facet == "source":
            return {"rep": "Rep debrief", "buyer": "Buyer interview"}.get(value, value)
        return value.capitalize() if facet == "status" else value


def load(session: Session) -> Vocabulary:
    vocabulary = Vocabulary()
    for competitor in session.scalars(select(Competitor).options(selectinload(Competitor.aliases))):
        spellings = [competitor.name] + [a.alias for a in competitor.aliases]
        vocabulary.spellings[competitor.name] = spellings
        for spelling in spellings:
            vocabulary.competitors[spelling.lower()] = competitor.name
            if terms := tuple(analyse(spelling)):
                vocabulary.synonyms.setdefault(terms, competitor.name)
    for choice in session.scalars(select(Choice).order_by(Choice.position)):
        vocabulary.choices.setdefault(choice.kind, {})[choice.value.lower()] = choice.value
    categories = list(
        session.scalars(select(ReasonCategory).options(selectinload(ReasonCategory.parent)))
    )
    for category in categories:
        if category.parent_id is None:
            vocabulary.groups[category.slug] = category.name
        else:
            vocabulary.categories[category.slug] = category.label
    return vocabulary
