"""Reading the values CRM exports write: amounts, dates, stages and flags.

Pure functions. Each parser raises ValueError with a message a user can act
on; detect_* functions look at a whole column to settle what one value
cannot tell (is 03/05/2026 in March or in May? is 12.000 twelve thousand?).
"""

import re
from datetime import date
from decimal import Decimal, InvalidOperation

from kb.debriefs.schemas import CURRENCIES

# --- amounts ---------------------------------------------------------------

# Longest first, so that "US$" wins over "$".
CURRENCY_SYMBOLS = (
    ("US$", "USD"),
    ("CA$", "CAD"),
    ("AU$", "AUD"),
    ("C$", "CAD"),
    ("A$", "AUD"),
    ("R$", "BRL"),
    ("$", "USD"),
    ("€", "EUR"),
    ("£", "GBP"),
    ("¥", "JPY"),
    ("₹", "INR"),
)
_CODE_FIRST = re.compile(r"^([A-Za-z]{3})\s*(?=[\d(+\-−.,])(.*)$")
_CODE_LAST = re.compile(r"^(.*?[\d)])\s*([A-Za-z]{3})$")
_NUMBER = re.compile(r"^\d(?:[\d.,' ]*\d)?$")
_SPACES = str.maketrans({"\u00a0": " ", "\u202f": " ", "\u2009": " "})
CENT = Decimal("0.01")


def _take_currency(text: str) -> tuple[str, str | None]:
    if m := _CODE_FIRST.match(text):
        return m.group(2).strip(), m.group(1).upper()
    if m := _CODE_LAST.match(text):
        return m.group(1).strip(), m.group(2).upper()
    for symbol, code in CURRENCY_SYMBOLS:
        for stripped in (text.removeprefix(symbol), text.removesuffix(symbol)):
            if stripped != text:
                return stripped.strip(), code
    return text, None


def _take_sign(text: str) -> tuple[str, bool]:
    text = text.replace("−", "-")
    if text.startswith("(") and text.endswith(")"):
        return text[1:-1].strip(), True
    if text.startswith("-") or text.endswith("-"):
        return text.strip("-").strip(), True
    return text.removeprefix("+").strip(), False


def _separators(digits: str) -> tuple[str | None, str | None]:
    """(decimal separator, thousands separator) of a number as written."""
    last_comma, last_point = digits.rfind(","), digits.rfind(".")
    if last_comma >= 0 and last_point >= 0:
        return (",", ".") if last_comma > last_point else (".", ",")
    return None, None


def parse_amount(text: str, decimal_comma: bool = False) -> tuple[Decimal | None, str | None]:
    """An amount as CRMs and spreadsheets write it ("$12,000.00", "USD 12,000",
    "12.000,00 €", "1 200,50"), as (value, currency code found in the text).
    A blank cell is (None, None). Negative amounts, "(1,200.00)" included, are
    refused: a closed deal's amount is never below zero."""
    original = text.strip()
    text = original.translate(_SPACES).strip()
    if not text:
        return None, None
    text, negative = _take_sign(text)
    text, currency = _take_currency(text)
    if currency is None:
        text, negative_inside = _take_sign(text)
        negative = negative or negative_inside
    else:
        text, negative_after = _take_sign(text)
        negative = negative or negative_after
    if not _NUMBER.match(text):
        raise ValueError(f"'{original}' is not an amount; write it like 12,000.00 or 12000.")
    digits = text.replace(" ", "").replace("'", "")
    decimal_sep, thousands_sep = _separators(digits)
    if decimal_sep is None:
        sep = "," if "," in digits else "." if "." in digits else None
        if sep is None:
            pass
        elif digits.count(sep) > 1:
            thousands_sep = sep
        elif len(digits) - digits.rfind(sep) - 1 == 3:
            # "12,000" or "12.000": thousands, unless the file writes decimals this way.
            is_decimal = (sep == ",") == decimal_comma
            decimal_sep, thousands_sep = (sep, None) if is_decimal else (None, sep)
        else:
            decimal_sep = sep
    if thousands_sep:
        digits = digits.replace(thousands_sep, "")
    if decimal_sep:
        whole, _, fraction = digits.rpartition(decimal_sep)
        if not whole or decimal_sep in whole:
            raise ValueError(f"'{original}' is not an amount; write it like 12,000.00 or 12000.")
        digits = f"{whole}.{fraction}"
    try:
        value = Decimal(digits)
    except InvalidOperation:
        raise ValueError(f"'{original}' is not an amount.") from None
    if negative and value:
        raise ValueError(f"'{original}' is negative; a deal's amount cannot be below zero.")
    try:
        cents = value.quantize(CENT)
    except InvalidOperation:  # more digits than any amount column holds
        raise ValueError(f"'{original}' is too large for an amount.") from None
    if value != cents:
        raise ValueError(f"'{original}' has more than two decimal places.")
    return cents, currency


def detect_decimal_comma(values: list[str]) -> bool:
    """Whether a column of amounts writes decimals with a comma (12.000,00):
    decided by the values that show it unambiguously, by majority."""
    comma = point = 0
    for value in values:
        digits = re.sub(r"[^\d.,]", "", value)
        decimal_sep, _ = _separators(digits)
        if decimal_sep is None:
            m = re.search(r"([.,])\d{1,2}$", digits)
            decimal_sep = m.group(1) if m and digits.count(m.group(1)) == 1 else None
        comma += decimal_sep == ","
        point += decimal_sep == "."
    return comma > point


def parse_currency(text: str) -> str | None:
    code = text.strip().upper()
    if not code:
        return None
    if not re.fullmatch(r"[A-Z]{3}", code):
        symbol = dict(CURRENCY_SYMBOLS).get(text.strip())
        if symbol:
            return symbol
        raise ValueError(f"'{text.strip()}' is not a currency code such as USD or EUR.")
    if code not in CURRENCIES:
        raise ValueError(f"'{code}' is not an ISO 4217 currency code.")
    return code


# --- dates -----------------------------------------------------------------

MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}
DATE_ORDERS = {"mdy": "MM/DD/YYYY", "dmy": "DD/MM/YYYY"}
# A time of day and zone after the date, which a close date does not need.
_TIME = (
    r"(?:(?:[ T]+|,\s*)\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:[AaPp]\.?[Mm]\.?)?"
    r"\s*(?:Z|UTC|GMT|[+-]\d{2}:?\d{2}|[A-Z]{2,5})?)?"
)
_YEAR_FIRST = re.compile(rf"^(\d{{4}})[-/.](\d{{1,2}})[-/.](\d{{1,2}}){_TIME}$")
_YEAR_LAST = re.compile(rf"^(\d{{1,2}})([/.\-])(\d{{1,2}})\2(\d{{4}}|\d{{2}}){_TIME}$")
_MONTH_FIRST = re.compile(
    rf"^([A-Za-z]{{3,9}})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}}){_TIME}$"
)
_DAY_FIRST = re.compile(
    rf"^(\d{{1,2}})[\s\-]+([A-Za-z]{{3,9}})\.?,?[\s\-]+(\d{{4}}|\d{{2}}){_TIME}$"
)


def _real_date(original: str, year: int, month: int, day: int) -> date:
    if year < 100:
        year += 2000
    try:
        return date(year, month, day)
    except ValueError:
        raise ValueError(f"'{original}' is not a real date.") from None


def _month(original: str, name: str) -> int:
    month = MONTHS.get(name.lower())
    if month is None:
        raise ValueError(f"'{original}' is not a date: unknown month '{name}'.")
    return month


def parse_date(text: str, order: str = "mdy") -> date:
    """A date as CRMs export it: 2026-03-05, 03/05/2026 (in `order`, "mdy"
    or "dmy"), 05.03.2026 (always day first), Mar 5, 2026, 5-Mar-26, with
    any time of day after it ignored."""
    original = text.strip()
    value = original.translate(_SPACES)
    if m := _YEAR_FIRST.match(value):
        return _real_date(original, int(m[1]), int(m[2]), int(m[3]))
    if m := _YEAR_LAST.match(value):
        first, second, year = int(m[1]), int(m[3]), int(m[4])
        if m[2] == "." or order == "dmy":
            if second > 12 and first <= 12 and m[2] != ".":
                raise ValueError(f"'{original}' does not fit the DD/MM/YYYY dates of this file.")
            return _real_date(original, year, second, first)
        if first > 12 and second <= 12:
            raise ValueError(f"'{original}' does not fit the MM/DD/YYYY dates of this file.")
        return _real_date(original, year, first, second)
    if m := _MONTH_FIRST.match(value):
        return _real_date(original, int(m[3]), _month(original, m[1]), int(m[2]))
    if m := _DAY_FIRST.match(value):
        return _real_date(original, int(m[3]), _month(original, m[2]), int(m[1]))
    raise ValueError(
        f"'{original}' is not a date; write it like 2026-03-05, 03/05/2026 or Mar 5, 2026."
    )


def detect_date_order(values: list[str]) -> tuple[str, bool]:
    """("mdy" or "dmy", guessed) for a column of dates: a value such as 25/03
    can only be day first, 03/25 only month first; the order more values prove
    wins. `guessed` is True when such dates are there but none proves either
    (they are then read month first, the US default both CRMs export in)."""
    day_first = month_first = either = 0
    for value in values:
        m = _YEAR_LAST.match(value.strip())
        if m and m[2] != ".":
            first, second = int(m[1]), int(m[3])
            day_first += first > 12 >= second
            month_first += second > 12 >= first
            either += first != second and first <= 12 and second <= 12
    if day_first == month_first == 0:
        return "mdy", either > 0
    return ("dmy" if day_first > month_first else "mdy"), False


# --- stages and flags --------------------------------------------------------

OPEN = "open"
# Open stages of Salesforce's and HubSpot's default pipelines, and common others.
OPEN_STAGES = {
    "prospecting",
    "qualification",
    "needsanalysis",
    "valueproposition",
    "iddecisionmakers",
    "perceptionanalysis",
    "proposalpricequote",
    "negotiationreview",
    "appointmentscheduled",
    "qualifiedtobuy",
    "presentationscheduled",
    "decisionmakerboughtin",
    "contractsent",
    "discovery",
    "demo",
    "demoscheduled",
    "evaluation",
    "proposal",
    "negotiation",
    "commit",
    "open",
    "new",
}


def stage_outcome(stage: str) -> str | None:
    """The outcome, "won", "lost" or "no_decision", of a closed stage ("Closed Won",
    "closedlost", "Closed - No Decision"), OPEN for a stage still open, and
    None for a stage this does not know."""
    lowered = stage.strip().lower()
    key = re.sub(r"[^a-z]", "", lowered)
    words = set(re.findall(r"[a-z]+", lowered))
    if "nodecision" in key:
        return "no_decision"
    if key in ("closedwon", "won") or "won" in words:
        return "won"
    if key in ("closedlost", "lost") or "lost" in words:
        return "lost"
    if key in OPEN_STAGES:
        return OPEN
    return None


_TRUE = {"1", "true", "yes", "y", "x", "checked"}
_FALSE = {"0", "false", "no", "n", ""}


def parse_flag(text: str) -> bool | None:
    """A checkbox column (Salesforce's "Closed" and "Won"): True, False or None
    when the cell says neither."""
    value = text.strip().lower()
    return True if value in _TRUE else False if value in _FALSE else None


def parse_days(text: str) -> int | None:
    value = text.strip()
    if not value:
        return None
    if not re.fullmatch(r"\d+(?:[.,]0+)?", value):
        raise ValueError(f"'{value}' is not a number of days.")
    return int(re.split(r"[.,]", value)[0])
