"""What a practice, an endorsement and a comment are made of, as submitted by
the form or the API."""

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from kb.debriefs.schemas import LONG_TEXT
from kb.models import EndorsementKind, PracticeKind, PracticeStatus
from kb.validation import BlankIsNone, Id

MAX_TAGS = 10
TAG_LENGTH = 40
COMMENT_LENGTH = 2000


def _normalise_tag(value: str) -> str:
    return re.sub(r"\s+", " ", value).strip().lower()


def _split_tags(value: Any) -> Any:
    """Tags arrive as a list, or as one comma-separated string (the form's input)."""
    if isinstance(value, str):
        return [part for part in value.split(",") if part.strip()]
    return value


TagName = Annotated[
    str,
    Field(min_length=1, max_length=TAG_LENGTH),
    AfterValidator(_normalise_tag),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PracticeIn(_Strict):
    kind: PracticeKind = PracticeKind.PRACTICE
    title: str = Field(min_length=1, max_length=200)
    situation: str = Field(default="", max_length=LONG_TEXT)
    actions: str = Field(min_length=1, max_length=LONG_TEXT)
    result: str = Field(default="", max_length=LONG_TEXT)
    tags: Annotated[list[TagName], BeforeValidator(_split_tags)] = Field(
        default_factory=list, max_length=MAX_TAGS
    )
    deal_id: Annotated[Id | None, BlankIsNone] = None
    debrief_id: Annotated[Id | None, BlankIsNone] = None
    anonymous: bool = False
    status: PracticeStatus = PracticeStatus.DRAFT

    @field_validator("tags")
    @classmethod
    def _distinct(cls, tags: list[str]) -> list[str]:
        return list(dict.fromkeys(tags))


class EndorsementIn(_Strict):
    kind: EndorsementKind


class CommentIn(_Strict):
    body: str = Field(min_length=1, max_length=COMMENT_LENGTH)
