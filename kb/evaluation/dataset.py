"""Reading a labelled feedback file and the analyst's query for each label.

The file is a CSV with a `text` column and a label column (`negativereason`,
as in the Twitter US Airline Sentiment data, or `label`). When it has an
`airline_sentiment` column (the full published file), only the negative
texts are read: the others have no reason label. Rows without a label are
skipped.

The published airline file replaced every "late" in the tweets by
"Late Flight", every "cancel" by "Cancelled Flight" and every "booking" by
"Flight Booking Problems" ("Cancelled Flightled", "Late Flightr", "I'm
Flight Booking Problems three tickets"), so three label names leak into the
text. The replacement is undone on reading: the evaluation measures the
customers' words, not the labellers'.
"""

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).parent / "data"
SAMPLE = DATA / "airline_complaints_sample.csv"
QUERIES = DATA / "airline_queries.csv"
LABEL_COLUMNS = ("negativereason", "label")
_LEAKS = (
    (re.compile("Late Flight"), "late"),
    (re.compile("Cancelled Flight"), "cancel"),
    (re.compile("Flight Booking Problems"), "booking"),
)


@dataclass(frozen=True)
class Text:
    text: str
    label: str


@dataclass(frozen=True)
class LabelQuery:
    label: str
    query: str  # what an analyst would type in the search box for this label
    terms: tuple[str, ...]  # the words and phrases that say what the label is about


class DataError(ValueError):
    pass


def repair(text: str) -> str:
    for pattern, original in _LEAKS:
        text = pattern.sub(original, text)
    return text


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        # The published airline file is not UTF-8 throughout.
        return raw.decode("cp1252", errors="replace")


def _rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"Cannot read {path}: {exc.strerror or exc}.") from None
    reader = csv.DictReader(io.StringIO(_decode(raw), newline=""))
    try:
        rows = list(reader)
    except csv.Error as exc:
        raise DataError(f"{path} is not a readable CSV file: {exc}.") from None
    return list(reader.fieldnames or []), rows


def read_texts(path: Path, limit: int | None = None) -> list[Text]:
    """The labelled texts of the file, in its order (the first `limit`)."""
    headers, rows = _rows(path)
    label_column = next((c for c in LABEL_COLUMNS if c in headers), None)
    if "text" not in headers or label_column is None:
        raise DataError(
            f"{path} needs a 'text' column and a label column "
            f"({' or '.join(LABEL_COLUMNS)}); its columns are: {', '.join(headers) or 'none'}."
        )
    texts = []
    for row in rows:
        if row.get("airline_sentiment", "negative") != "negative":
            continue
        label, text = (row.get(label_column) or "").strip(), repair(row.get("text") or "").strip()
        if label and text:
            texts.append(Text(text, label))
            if limit is not None and len(texts) >= limit:
                break
    if not texts:
        raise DataError(f"{path} has no labelled texts.")
    return texts


def read_queries(path: Path) -> list[LabelQuery]:
    headers, rows = _rows(path)
    if not {"label", "query", "terms"} <= set(headers):
        raise DataError(f"{path} needs the columns label, query and terms.")
    queries = []
    for row in rows:
        terms = tuple(t.strip() for t in (row["terms"] or "").split("|") if t.strip())
        if not row["label"].strip() or not row["query"].strip() or not terms:
            raise DataError(f"{path}: every row needs a label, a query and terms.")
        queries.append(LabelQuery(row["label"].strip(), row["query"].strip(), terms))
    return queries
