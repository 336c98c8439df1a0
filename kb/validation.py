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
# the database would refuse it (PostgreSQL: "integer out of range") rather
# than find nothing.
MAX_ID = 2**31 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID)]

# No row has id 0: what an id filter holds when the text names no possible row.
NO_ID = 0

# The deepest page any list serves. Larger page numbers would make OFFSET
# overflow the database's BIGINT (a 500) long before they found anything.
MAX_PAGE = 999_999


# One rule for every id and page number typed into a URL or a form.
def _digits(text: object) -> str | None:
    text = str(text if text is not None else "").strip()
    return text if text.isascii() and text.isdecimal() else None


def whole_number(text: object) -> int | None:
    """`text` as a whole number of 1 or more, or None when it is anything else
    (blank, 0, signed, fractional, or digits of another script)."""
    digits = _digits(text)
    if digits is None:
        return None
    # Past 20 digits the exact value no longer matters (and int() refuses
    # strings beyond 4,300 digits).
    number = int(digits) if len(digits) <= 20 else 10**20
    return number if number >= 1 else None


def id_from_text(text: object) -> int | None:
    """An id typed into a filter, or None when the text is not a whole number.
    0, or one too large for an id column, becomes NO_ID, which matches nothing."""
    if _digits(text) is None:
        return None
    number = whole_number(text)
    return number if number is not None and number <= MAX_ID else NO_ID


def page_from_text(text: object, default: int = 1) -> int:
    """A page number from a query string: `default` when the text is not a
    whole number of 1 or more, MAX_PAGE when it is larger (past the last page,
    which lists show as their last page or as empty)."""
    number = whole_number(text)
    return default if number is None else min(number, MAX_PAGE)
