"""What a theme is made of, as submitted by the form or the API."""

from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from kb.models import Polarity, ThemeStatus
from kb.validation import BlankIsNone, Id

LONG_TEXT = 10_000
QUERY_LENGTH = 500


def _none_is_empty(value: Any) -> Any:
    return {} if value is None else value


class ThemeIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=120)
    description: str = Field(default="", max_length=LONG_TEXT)
    # Search syntax, as typed on the search page; may be empty when filters are given.
    query: str = Field(default="", max_length=QUERY_LENGTH)
    # The search page's filters, e.g. {"outcome": "lost", "competitor": "Acme"};
    # checked against the reference data by the service.
    filters: Annotated[dict[str, Any], BeforeValidator(_none_is_empty)] = Field(
        default_factory=dict
    )
    polarity: Polarity = Polarity.NEUTRAL
    status: ThemeStatus = ThemeStatus.EMERGING
    addressed_on: Annotated[date | None, BlankIsNone] = None
    addressed_action: str = Field(default="", max_length=LONG_TEXT)
    owner_id: Annotated[Id | None, BlankIsNone] = None
    notes: str = Field(default="", max_length=LONG_TEXT)
