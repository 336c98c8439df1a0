"""Reading a labelled feedback file and the analyst's query for each label.

The file is a CSV (comma, semicolon or tab separated) with a text column and
a label column. By default these are `text` and `negativereason` (as in the
Twitter US Airline Sentiment data) or `label`; any other file names its own
(`kb evaluate --csv FILE --text-column X --label-column Y`). Column names are
matched exactly, else ignoring case and surrounding spaces. Rows without a
label or a text are skipped.

Two rules hold for the airline data alone (a file whose label column is
`negativereason`), never for another file:

- When it has an `airline_sentiment` column (the full published file), only
  the negative texts are read: the others have no reason label.
- The published airline file replaced every "late" in the tweets by
  "Late Flight", every "cancel" by "Cancelled Flight" and every "booking" by
  "Flight Booking Problems" ("Cancelled Flightled", "Late Flightr", "I'm
  Flight Booking Problems three tickets"), so three label names leak into
  the text. The replacement is undone on reading: the evaluation measures
  the customers' words, not the labellers'.

The queries file has the columns label, query and (optionally) terms: the
defining terms of a label, separated by `|`. Left empty, they are the words
and quoted phrases of the query itself.
"""

import csv
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).parent / "data"
SAMPLE = DATA / "airline_complaints_sample.csv"
QUERIES = DATA / "airline_queries.csv"
CFPB_SAMPLE = DATA / "cfpb_complaints_sample.csv"
AIRLINE_LABEL_COLUMN = "negativereason"
LABEL_COLUMNS = (AIRLINE_LABEL_COLUMN, "label")
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


@dataclass(frozen=True)
class Bundled:
    """A labelled data set that comes with the product (see data/README.md)."""

    data: Path
    queries: Path
    label_column: str | None
    about: str


DATASETS = {
    "cfpb": Bundled(
        CFPB_SAMPLE,
        DATA / "cfpb_issue_queries.csv",
        "issue",
        "1,532 US consumer financial complaints (CFPB), labelled with their issue; public domain",
    ),
    "cfpb-products": Bundled(
        CFPB_SAMPLE,
        DATA / "cfpb_product_queries.csv",
        "product",
        "the same complaints, labelled with their product",
    ),
    "airline": Bundled(
        SAMPLE,
        QUERIES,
        None,
        "2,500 airline complaints on Twitter, labelled with their reason; CC BY-NC-SA 4.0, "
        "in the source repository only",
    ),
}
# The default has a licence that lets it ship with a commercial product.
DEFAULT_DATASET = "cfpb"


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


def _delimiter(text: str) -> str:
    """The separator of the header line: a spreadsheet saved as CSV in many
    European locales separates with semicolons, and a TSV with tabs."""
    header = text.split("\n", 1)[0]
    counts = {d: header.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"Cannot read {path}: {exc.strerror or exc}.") from None
    text = _decode(raw)
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    try:
        rows = list(reader)
    except csv.Error as exc:
        raise DataError(f"{path} is not a readable CSV file: {exc}.") from None
    return list(reader.fieldnames or []), rows


def _column(headers: list[str], name: str) -> str | None:
    """The header called `name`: exactly, else ignoring case and spaces."""
    if name in headers:
        return name
    wanted = name.strip().casefold()
    return next((h for h in headers if h.strip().casefold() == wanted), None)


def _columns(
    path: Path, headers: list[str], text_column: str | None, label_column: str | None
) -> tuple[str, str]:
    """The text and label columns: the ones named, else the defaults."""
    listed = ", ".join(headers) or "none"
    text = _column(headers, text_column or "text")
    if label_column:
        label = _column(headers, label_column)
    else:
        label = next((c for c in (_column(headers, n) for n in LABEL_COLUMNS) if c), None)
    if text is not None and label is not None:
        return text, label
    if not (text_column or label_column):
        raise DataError(
            f"{path} needs a 'text' column and a label column "
            f"({' or '.join(LABEL_COLUMNS)}); its columns are: {listed}. "
            f"Name other columns with --text-column and --label-column."
        )
    missing = []
    if text is None:
        missing.append(repr(text_column or "text"))
    if label is None:
        missing.append(repr(label_column) if label_column else " or ".join(LABEL_COLUMNS))
    raise DataError(
        f"{path} has no column {' and no column '.join(missing)}; its columns are: {listed}."
    )


def read_texts(
    path: Path,
    limit: int | None = None,
    text_column: str | None = None,
    label_column: str | None = None,
) -> list[Text]:
    """The labelled texts of the file, in its order (the first `limit`).

    The file is read row by row, so a large export (the whole CFPB database
    is several gigabytes) is read only as far as `limit` needs. It is read
    as UTF-8, else again as Windows-1252 (the published airline file is not
    UTF-8 throughout)."""
    try:
        return _read_texts(path, "utf-8-sig", limit, text_column, label_column)
    except UnicodeDecodeError:
        return _read_texts(path, "cp1252", limit, text_column, label_column)


def _read_texts(
    path: Path,
    encoding: str,
    limit: int | None,
    text_column: str | None,
    label_column: str | None,
) -> list[Text]:
    try:
        handle = path.open(
            encoding=encoding, errors="replace" if encoding == "cp1252" else "strict", newline=""
        )
    except OSError as exc:
        raise DataError(f"Cannot read {path}: {exc.strerror or exc}.") from None
    with handle:
        reader = csv.DictReader(handle, delimiter=_delimiter(handle.readline()))
        handle.seek(0)
        texts: list[Text] = []
        try:
            headers = list(reader.fieldnames or [])
            text_key, label_key = _columns(path, headers, text_column, label_column)
            airline = label_key == AIRLINE_LABEL_COLUMN
            sentiment = "airline_sentiment" if airline and "airline_sentiment" in headers else None
            for row in reader:
                if sentiment and row.get(sentiment) != "negative":
                    continue
                label = (row.get(label_key) or "").strip()
                text = (row.get(text_key) or "").strip()
                if airline:
                    text = repair(text)
                if label and text:
                    texts.append(Text(text, label))
                    if limit is not None and len(texts) >= limit:
                        break
        except csv.Error as exc:
            raise DataError(f"{path} is not a readable CSV file: {exc}.") from None
    if not texts:
        raise DataError(
            f"{path} has no labelled texts (no row with both a {text_key!r} and a {label_key!r})."
        )
    return texts


_QUERY_PART = re.compile(r'(-?)"([^"]+)"|(\S+)')
_OPERATORS = frozenset({"OR", "AND", "NOT"})


def query_terms(query: str) -> tuple[str, ...]:
    """The words and quoted phrases of a query, without its operators, its
    excluded parts (`-word`, `NOT word`) and field names: the defining terms
    when none are given."""
    terms: list[str] = []
    excluded = False
    for negated, phrase, word in _QUERY_PART.findall(query):
        if word in _OPERATORS:
            excluded = word == "NOT"
            continue
        if excluded or negated or word.startswith("-"):
            excluded = False
            continue
        term = phrase.strip() if phrase else word.split(":", 1)[-1].strip("()+*?")
        if term:
            terms.append(term)
    return tuple(dict.fromkeys(terms))


def read_queries(path: Path) -> list[LabelQuery]:
    headers, rows = _rows(path)
    if not {"label", "query"} <= set(headers):
        raise DataError(
            f"{path} needs the columns label and query (and terms, optionally); "
            f"its columns are: {', '.join(headers) or 'none'}."
        )
    queries = []
    for row in rows:
        label, query = (row.get("label") or "").strip(), (row.get("query") or "").strip()
        terms = tuple(t.strip() for t in (row.get("terms") or "").split("|") if t.strip())
        if not label or not query:
            raise DataError(f"{path}: every row needs a label and a query.")
        queries.append(LabelQuery(label, query, terms or query_terms(query)))
    return queries


def write_queries(path: Path, labels: Mapping[str, int]) -> None:
    """A starting queries file for the labels (with their number of texts),
    the most frequent first: each label's own words as its query, for an
    analyst to edit into what they would type. The `texts` column is for
    reading only."""
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["label", "query", "terms", "texts"])
        for label, count in sorted(labels.items(), key=lambda item: (-item[1], item[0])):
            words = [w for w in re.findall(r"[^\W_]+(?:'[^\W_]+)?", label.lower()) if len(w) > 2]
            writer.writerow([label, " OR ".join(dict.fromkeys(words)) or label, "", count])
