"""Validation errors keyed by field path, with messages a user can act on.

Pages and the API validate with the same pydantic models; this turns
pydantic's errors into {"deal.amount": "Enter the amount as a number..."}.
"""

from typing import Annotated, Any

from pydantic import BeforeValidator, Field, ValidationError


class ValidationFailed(Exception):
    """Input that cannot be stored, with one message per field path."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


_MESSAGES = {
    "missing": "This field is required.",
    "extra_forbidden": "Unknown field.",
    "decimal_parsing": "Enter a number, e.g. 12000.50.",
    "decimal_type": "Enter a number, e.g. 12000.50.",
    "decimal_max_places": "Use at most two decimal places.",
    "decimal_max_digits": "That number is too large.",
    "decimal_whole_digits": "That number is too large.",
    "float_parsing": "Enter a number.",
    "int_parsing": "Enter a whole number.",
    "int_type": "Enter a whole number.",
    "int_from_float": "Enter a whole number.",
    "date_from_datetime_parsing": "Enter a real date as YYYY-MM-DD.",
    "date_parsing": "Enter a real date as YYYY-MM-DD.",
    "date_type": "Enter a real date as YYYY-MM-DD.",
    "date_from_datetime_inexact": "Enter a date without a time, as YYYY-MM-DD.",
    "string_type": "Enter text.",
    "list_type": "Send a list.",
    "dict_type": "Send an object.",
    "model_type": "Send an object.",
    "model_attributes_type": "Send an object.",
    "bool_parsing": "Enter true or false.",
    "bool_type": "Enter true or false.",
    "enum": "Choose one of: {expected}.",
    "literal_error": "Choose one of: {expected}.",
    "string_pattern_mismatch": "This value is not in the expected format.",
}


def _message(error: dict[str, Any]) -> str:
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "string_too_long":
        return f"Keep this to {ctx['max_length']} characters or fewer."
    if kind == "string_too_short":
        return "This field cannot be empty." if ctx.get("min_length") == 1 else error["msg"]
    if kind == "too_long":
        return f"At most {ctx['max_length']} entries."
    if kind in ("greater_than_equal", "greater_than"):
        limit = ctx.get("ge", ctx.get("gt"))
        return "This cannot be negative." if limit == 0 else f"Must be at least {limit}."
    if kind in ("less_than_equal", "less_than"):
        return f"Must be at most {ctx.get('le', ctx.get('lt'))}."
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    if kind in _MESSAGES:
        return _MESSAGES[kind].format(**{k: str(v) for k, v in ctx.items()})
    return error["msg"]


def field_errors(exc: ValidationError) -> dict[str, str]:
    errors: dict[str, str] = {}
    for error in exc.errors():
        path = ".".join(str(part) for part in error["loc"]) or "__root__"
        errors.setdefault(path, _message(error))
    return errors


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    return value


BlankIsNone = BeforeValidator(_blank_to_none)
OptionalText = Annotated[str | None, BlankIsNone]

# The largest value of an INTEGER id column. A larger id matches nothing, and
# the database driver would refuse it (an overflow) rather than find nothing.
MAX_ID = 2**31 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID)]


def id_from_text(text: str) -> int | None:
    """An id typed into a filter, or None when the text is not a whole number.
    One too large for an id column becomes MAX_ID + 1, which matches nothing."""
    if not text.isdecimal():
        return None
    return int(text) if len(text) <= 10 and int(text) <= MAX_ID else MAX_ID + 1
