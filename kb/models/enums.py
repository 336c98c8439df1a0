"""Closed sets of values, stored as their string values with a CHECK constraint."""

import enum

import sqlalchemy as sa


class Role(enum.StrEnum):
    REP = "rep"
    MANAGER = "manager"
    MARKETING = "marketing"
    ADMIN = "admin"


class Outcome(enum.StrEnum):
    WON = "won"
    LOST = "lost"
    NO_DECISION = "no_decision"

    @property
    def label(self) -> str:
        return {"won": "Won", "lost": "Lost", "no_decision": "No decision"}[self.value]


class WinnerKind(enum.StrEnum):
    """Who won a deal we did not win."""

    COMPETITOR = "competitor"
    NO_DECISION = "no_decision"
    IN_HOUSE = "in_house"

    @property
    def label(self) -> str:
        return {
            "competitor": "A competitor",
            "no_decision": "No decision",
            "in_house": "Built in-house",
        }[self.value]


class DebriefSource(enum.StrEnum):
    REP = "rep"
    BUYER = "buyer"

    @property
    def label(self) -> str:
        return {"rep": "Rep debrief", "buyer": "Buyer interview"}[self.value]


class DebriefStatus(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"


class Direction(enum.StrEnum):
    HELPED = "helped"
    HURT = "hurt"


def label_of(member: enum.StrEnum) -> str:
    """A code as the pages show it: the member's own label where it has one,
    else its value in words, as the templates print it ("hurt": "Hurt")."""
    return getattr(member, "label", None) or member.value.replace("_", " ").capitalize()


def enum_column(enum_cls: type[enum.StrEnum], name: str) -> sa.Enum:
    return sa.Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=20,
        values_callable=lambda cls: [member.value for member in cls],
        validate_strings=True,
    )


class Polarity(enum.StrEnum):
    STRENGTH = "strength"
    WEAKNESS = "weakness"
    NEUTRAL = "neutral"


class ThemeStatus(enum.StrEnum):
    EMERGING = "emerging"
    TRACKED = "tracked"
    ADDRESSED = "addressed"


class PracticeKind(enum.StrEnum):
    PRACTICE = "practice"
    LESSON = "lesson"


class PracticeStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"


class EndorsementKind(enum.StrEnum):
    TRIED = "tried"
    HELPFUL = "helpful"

    @property
    def label(self) -> str:
        return {"tried": "I tried this", "helpful": "Helpful"}[self.value]
