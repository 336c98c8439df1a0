"""What the index holds for a document: one stemmed full-text field, and the
structured fields that filter, facet and sort.

Structured values are indexed lowercased so that `segment:enterprise` and a
filter of "Enterprise" match the same term; pages show the spelling the
database keeps. Nothing is stored but the document's key: hits are read back
from the database, which stays the source of truth for what a page shows.
"""

import re
from datetime import date, timedelta

from whoosh import fields, query
from whoosh.analysis import IDAnalyzer, KeywordAnalyzer
from whoosh.qparser.common import QueryParserError

from kb.search import analysis
from kb.search.analysis import PairAnalyzer, TextAnalyzer

_DATE = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?|-?[Qq]([1-4]))?$")


def parse_date_bounds(text: str) -> tuple[date, date]:
    """The first and last day meant by "2025", "2025-03", "2025-03-14" or "2025-Q2".
    Raises ValueError with a message for people."""
    match = _DATE.match(text.strip())
    if not match:
        raise ValueError(
            f"'{text}' is not a date; write it as YYYY-MM-DD, YYYY-MM, YYYY or YYYY-Q1."
        )
    year, month, day, quarter = match.groups()
    year = int(year)
    try:
        if quarter:
            first = date(year, 3 * int(quarter) - 2, 1)
            last = _month_end(year, 3 * int(quarter))
        elif day:
            first = last = date(year, int(month), int(day))
        elif month:
            first, last = date(year, int(month), 1), _month_end(year, int(month))
        else:
            first, last = date(year, 1, 1), date(year, 12, 31)
    except ValueError:
        raise ValueError(f"'{text}' is not a real date.") from None
    return first, last


def _month_end(year: int, month: int) -> date:
    following = date(year + month // 12, month % 12 + 1, 1)
    return following - timedelta(days=1)


class DateField(fields.NUMERIC):
    """A calendar date, kept as its ordinal, that the query parser reads as
    ISO dates, months, years or quarters: `close:2025-Q1`,
    `close:[2025-01-01 TO 2025-06-30]`, `close:[2025-03 TO]`."""

    def __init__(self) -> None:
        super().__init__(int, bits=32, signed=False, sortable=True)

    def parse_query(self, fieldname, qstring, boost=1.0):
        try:
            first, last = parse_date_bounds(qstring)
        except ValueError as exc:
            raise QueryParserError(str(exc)) from None
        return query.NumericRange(fieldname, first.toordinal(), last.toordinal(), boost=boost)

    def parse_range(self, fieldname, start, end, startexcl, endexcl, boost=1.0):
        try:
            low = parse_date_bounds(start)[0].toordinal() if start else None
            high = parse_date_bounds(end)[1].toordinal() if end else None
        except ValueError as exc:
            raise QueryParserError(str(exc)) from None
        if low is None and high is None:
            return query.Every(fieldname, boost=boost)
        return query.NumericRange(fieldname, low, high, startexcl, endexcl, boost=boost)


class AmountField(fields.NUMERIC):
    """A deal amount in whole currency units; `amount:[10000 TO 50000]`."""

    def __init__(self) -> None:
        super().__init__(int, bits=64, signed=False, sortable=True)

    def _number(self, text: str) -> int:
        cleaned = text.replace(",", "").replace("_", "").strip().lower()
        factor = 1
        if cleaned[-1:] in ("k", "m"):
            factor = 1000 if cleaned[-1] == "k" else 1_000_000
            cleaned = cleaned[:-1]
        try:
            return int(float(cleaned) * factor)
        except ValueError:
            raise QueryParserError(f"'{text}' is not an amount; write e.g. 25000 or 25k.") from None

    def parse_query(self, fieldname, qstring, boost=1.0):
        value = self._number(qstring)
        return query.NumericRange(fieldname, value, value, boost=boost)

    def parse_range(self, fieldname, start, end, startexcl, endexcl, boost=1.0):
        low = self._number(start) if start else None
        high = self._number(end) if end else None
        if low is None and high is None:
            return query.Every(fieldname, boost=boost)
        return query.NumericRange(fieldname, low, high, startexcl, endexcl, boost=boost)


def _value() -> fields.ID:
    return fields.ID(analyzer=IDAnalyzer(lowercase=True))


def _values() -> fields.KEYWORD:
    # Several values per document, separated by commas (names contain spaces).
    return fields.KEYWORD(analyzer=KeywordAnalyzer(lowercase=True, commas=True))


def build_schema() -> fields.Schema:
    """An index written with other fields or another version of the text
    analysis is rebuilt when it is opened (indexer.open_generation), so
    adding a field or changing how text is analysed rebuilds existing indexes."""
    return fields.Schema(
        key=fields.ID(unique=True, stored=True),
        doc_type=fields.ID(),
        # Every free-text field of the document, as stemmed terms with their
        # frequencies; a query word the analyser splits ("sso/saml") becomes a phrase.
        text=fields.TEXT(analyzer=TextAnalyzer(), phrase=False, multitoken_query="phrase"),
        # Adjacent term pairs of the same text, which answer phrase queries.
        pairs=fields.TEXT(analyzer=PairAnalyzer(), phrase=False),
        outcome=_value(),
        source=_value(),
        status=_value(),
        author_id=_value(),
        segment=_value(),
        region=_value(),
        industry=_value(),
        product_line=_value(),
        quarter=_value(),
        winner=_value(),
        competitor=_values(),
        category=_values(),
        category_group=_values(),
        close_date=DateField(),
        amount=AmountField(),
        # Practices: practice or lesson, and their tags.
        kind=_value(),
        tag=_values(),
    )


SCHEMA = build_schema()


def same_analysis(written: fields.Schema) -> bool:
    """Whether an index's schema (as read back from the index) analyses its
    text the way this version does. The version is an attribute of the
    analyser objects pickled with the schema; older indexes have none."""
    return all(
        written[name].analyzer.__dict__.get("version") == analysis.VERSION
        for name in ("text", "pairs")
    )


# Structured fields with a closed or curated set of values: filters and facets.
VALUE_FIELDS = (
    "outcome",
    "source",
    "status",
    "segment",
    "region",
    "industry",
    "product_line",
    "quarter",
    "winner",
    "competitor",
    "category",
    "category_group",
)
# Every field whose terms are kept as document sets for filtering.
FILTER_FIELDS = (*VALUE_FIELDS, "doc_type", "author_id", "kind", "tag")
