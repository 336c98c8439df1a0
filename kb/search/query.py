"""Reading what people type into the search box, safely.

Whatever arrives, parsing returns a query (possibly "everything") and a list
of messages for the person; it never raises. Before Whoosh's parser sees the
text, control characters are removed, the length is capped, unbalanced quotes
and brackets are dropped, field names are checked against the known ones,
leading and inner wildcards are removed, and dangling operators are dropped,
each with a message saying what happened. After parsing, field values are
resolved against the reference data (competitor aliases become their
competitor, "Mid-Market" the listed segment) and competitor names and aliases
in the text expand into each other: "SFDC" finds Salesforce.
"""

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

from whoosh import qparser, query

from kb.search.analysis import PAIR_SEPARATOR, WORD, analyse, breaks, stem
from kb.search.schema import SCHEMA, parse_date_bounds
from kb.search.vocabulary import Vocabulary
from kb.seed import slugify

MAX_QUERY_LENGTH = 500
MIN_PREFIX = 3
MAX_PREFIX_TERMS = 200

# Field names people may type, and the index field each searches.
FIELDS = {
    "outcome": "outcome",
    "competitor": "competitor",
    "winner": "winner",
    "segment": "segment",
    "region": "region",
    "industry": "industry",
    "product": "product_line",
    "product_line": "product_line",
    "category": "category",
    "reason": "category",
    "source": "source",
    "status": "status",
    "quarter": "quarter",
    "close": "close_date",
    "date": "close_date",
    "amount": "amount",
    "author": "author_id",
    "text": "text",
}
FIELD_HELP = ", ".join(
    sorted({name for name in FIELDS if name not in ("product_line", "reason", "date")})
)
OPERATORS = ("AND", "OR", "NOT", "ANDNOT", "ANDMAYBE")
OUTCOMES = {
    "won": "won",
    "win": "won",
    "lost": "lost",
    "loss": "lost",
    "no_decision": "no_decision",
}
SOURCES = {"rep": "rep", "buyer": "buyer", "interview": "buyer"}
STATUSES = {"draft": "draft", "submitted": "submitted"}
SPECIAL_WINNERS = {"us": "us", "we": "us", "no_decision": "no_decision", "in_house": "in_house"}
QUARTER = re.compile(r"^(\d{4})-?q([1-4])$")

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\ufeff]")
_FIELD = re.compile(r'"[^"]*"|(?<![\w.:])([A-Za-z_]\w*):')
_SPACED_FIELD = re.compile(r'"[^"]*"|(?<![\w.:])(\w+):\s+(?=[\w"\[(])')
_EMPTY_FIELD = re.compile(r'"[^"]*"|(?<![\w.:])(\w+):(?=\s|$|\))')
_OUTSIDE_QUOTES = re.compile(r'("[^"]*")|([^"]+)')
# A URL is searched whole, as it is indexed; quoted, its "https:" is no field.
_URL = re.compile(r"(?:https?://|www\.)[^\s\"()]+", re.IGNORECASE)


@dataclass
class Parsed:
    """A user's query made safe. `query` None means every document."""

    text: str
    query: query.Query | None
    warnings: list[str] = field(default_factory=list)
    # Stemmed words to mark in snippets (never those of excluded words).
    highlight: set[str] = field(default_factory=set)
    # Text terms the index does not contain (for did-you-mean).
    unknown_terms: list[str] = field(default_factory=list)


def _parser() -> qparser.QueryParser:
    parser = qparser.QueryParser("text", SCHEMA, group=qparser.AndGroup)
    for plugin in (qparser.SingleQuotePlugin, qparser.BoostPlugin, qparser.EveryPlugin):
        parser.remove_plugin_class(plugin)
    parser.add_plugin(qparser.GtLtPlugin())
    return parser


PARSER = _parser()


def _map_outside_quotes(text: str, fn) -> str:
    return "".join(
        quoted if quoted else fn(plain) for quoted, plain in _OUTSIDE_QUOTES.findall(text)
    )


def _balance(text: str, opening: str, closing: str) -> tuple[str, bool]:
    """Drop brackets (outside quotes) that have no partner."""
    keep = list(text)
    stack: list[int] = []
    quoted = False
    changed = False
    for i, ch in enumerate(text):
        if ch == '"':
            quoted = not quoted
        elif quoted:
            continue
        elif ch == opening:
            stack.append(i)
        elif ch == closing:
            if stack:
                stack.pop()
            else:
                keep[i] = " "
                changed = True
    for i in stack:
        keep[i] = " "
        changed = True
    return "".join(keep), changed


def sanitize(raw: str | None) -> tuple[str, list[str]]:
    """The query text made safe for the parser, and what was changed."""
    warnings: list[str] = []
    text = raw if isinstance(raw, str) else ""
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\t", " ").replace("\r", " ").replace("\n", " ")
    if _CONTROL.search(text):
        text = _CONTROL.sub(" ", text)
        warnings.append("Control characters were removed from the query.")
    text = text.strip()
    if len(text) > MAX_QUERY_LENGTH:
        cut = text[:MAX_QUERY_LENGTH]
        text = cut.rsplit(" ", 1)[0] if " " in cut else cut
        warnings.append(
            f"The query was longer than {MAX_QUERY_LENGTH} characters; "
            "only its beginning was searched."
        )
    if text.count('"') % 2:
        last = text.rfind('"')
        text = text[:last] + " " + text[last + 1 :]
        warnings.append('A quotation mark (") was not closed; it was ignored.')
    for opening, closing in ("()", "[]", "{}"):
        text, changed = _balance(text, opening, closing)
        if changed:
            warnings.append(f"An unmatched '{opening}' or '{closing}' was ignored.")
    text = _map_outside_quotes(text, lambda plain: _URL.sub(r'"\g<0>"', plain))

    def field(match: re.Match) -> str:
        name = match.group(1)
        if name is None:  # a quoted phrase, left as it is
            return match.group()
        target = FIELDS.get(name.lower())
        if target is None:
            warnings.append(
                f"There is no field '{name}'; '{name}:' was searched as a word. "
                f"Fields: {FIELD_HELP}."
            )
            return name + " "
        return target + ":"

    def empty(match: re.Match) -> str:
        if match.group(1) is None:
            return match.group()
        warnings.append(f"'{match.group(1)}:' needs a value after the colon; it was ignored.")
        return " "

    text = _FIELD.sub(field, text)
    # "outcome: lost" means outcome:lost.
    text = _SPACED_FIELD.sub(lambda m: m.group(1) + ":" if m.group(1) else m.group(), text)
    text = _EMPTY_FIELD.sub(empty, text)
    text = _map_outside_quotes(text, lambda plain: _wildcards(plain, warnings))
    text = _map_outside_quotes(text, _signs)
    text = _operators(text, warnings)
    return re.sub(r"\s+", " ", text).strip(), warnings


def _wildcards(plain: str, warnings: list[str]) -> str:
    if "?" in plain:
        if re.search(r"\w\?\w", plain):
            warnings.append("'?' wildcards are not supported; it was ignored.")
        plain = plain.replace("?", " ")
    if "*" not in plain:
        return plain
    out = []
    for token in re.split(r"(\s+)", plain):
        if "*" not in token:
            out.append(token)
            continue
        stripped = token.strip("*")
        head, _, word = stripped.rpartition(":")
        head = head + ":" if head else ""
        trailing = token.endswith("*") and "*" not in stripped
        if token.lstrip("(").startswith("*") or (head and word.startswith("*")):
            warnings.append(
                f"A leading wildcard ('{token}') is not supported; "
                f"searched for '{stripped.replace('*', '') or '…'}'."
            )
            out.append(head + word.replace("*", ""))
        elif trailing and len(re.sub(r"\W", "", word)) >= MIN_PREFIX:
            out.append(head + word.replace("*", "") + "*")
        elif trailing:
            warnings.append(
                f"Type at least {MIN_PREFIX} letters before '*' ('{token}'); "
                "it was searched as a word."
            )
            out.append(head + word.replace("*", ""))
        else:
            warnings.append(f"Wildcards inside a word ('{token}') are not supported.")
            out.append(head + word.replace("*", " "))
    return "".join(out)


def _signs(plain: str) -> str:
    # "-word" excludes and "+word" requires; the parser knows these as NOT and AND.
    plain = re.sub(r"(^|[\s(])-(?=[\w\"(])", r"\1NOT ", plain)
    return re.sub(r"(^|[\s(])\+(?=[\w\"(])", r"\1", plain)


def _operators(text: str, warnings: list[str]) -> str:
    tokens = re.findall(r'"[^"]*"|\(|\)|[^\s()]+', text)
    kept: list[str] = []
    for i, token in enumerate(tokens):
        if token == "NOT" and kept and kept[-1] == "NOT":  # noqa: S105
            kept.pop()
            warnings.append("'NOT NOT' cancels out; it was ignored.")
            continue
        if token in OPERATORS:
            prev = kept[-1] if kept else None
            nxt = tokens[i + 1] if i + 1 < len(tokens) else None
            needs_left = token != "NOT"  # noqa: S105
            lonely_left = prev is None or prev in OPERATORS or prev == "("
            lonely_right = nxt is None or nxt in ("AND", "OR", "ANDNOT", "ANDMAYBE") or nxt == ")"
            if (needs_left and lonely_left) or lonely_right:
                warnings.append(f"'{token}' needs a word on each side; it was ignored.")
                continue
        elif token in ("-", "+"):
            warnings.append(f"A lone '{token}' was ignored.")
            continue
        kept.append(token)
    return " ".join(kept)


class Resolver:
    def __init__(self, vocabulary: Vocabulary, view, find_authors, text: str = ""):
        self.vocabulary, self.view, self.find_authors = vocabulary, view, find_authors
        self.text = text  # what was parsed: where a phrase's clauses end
        self.warnings: list[str] = []

    def walk(self, node: query.Query) -> query.Query | None:
        if getattr(node, "error", None):
            self.warnings.append(_error_message(node))
            return None
        if node is query.NullQuery or isinstance(node, type(query.NullQuery)):
            return None
        if isinstance(node, (query.And, query.Or)):
            children = [c for c in (self.walk(s) for s in node.subqueries) if c is not None]
            if not children:
                return None
            return children[0] if len(children) == 1 else type(node)(children, boost=node.boost)
        if isinstance(node, query.Not):
            child = self.walk(node.query)
            return query.Not(child) if child is not None else None
        if isinstance(node, (query.AndNot, query.AndMaybe)):
            a, b = self.walk(node.a), self.walk(node.b)
            if a is None or b is None:
                return a
            return type(node)(a, b)
        if isinstance(node, query.Term):
            return self.term(node.fieldname, node.text, node.boost)
        if isinstance(node, query.Phrase):
            return self.phrase(node)
        if isinstance(node, query.Prefix):
            return self.prefix(node.fieldname, node.text)
        if isinstance(node, query.Wildcard):
            return self.term(node.fieldname, re.sub(r"[*?]", "", node.text), node.boost)
        if isinstance(node, query.NumericRange):
            return node
        if isinstance(node, (query.TermRange, query.Every)):
            self.warnings.append(
                "A range needs a date or amount field, e.g. close:[2025-01-01 TO 2025-03-31] "
                "or amount:[10000 TO 50000]."
            )
            return None
        self.warnings.append("Part of the query could not be understood and was ignored.")
        return None

    def term(self, fieldname: str, text: str, boost: float = 1.0) -> query.Query | None:
        if fieldname == "text":
            expansion = self.synonyms((text,))
            term = query.Term("text", text, boost=boost)
            return query.Or([term, *expansion]) if expansion else term
        values = self.values(fieldname, text)
        if not values:
            return None
        terms = [query.Term(f, v) for f, v in values]
        return terms[0] if len(terms) == 1 else query.Or(terms)

    def synonyms(self, terms: tuple[str, ...]) -> list[query.Query]:
        name = self.vocabulary.synonyms.get(terms)
        if name is None:
            return []
        out: list[query.Query] = [query.Term("competitor", name.lower())]
        for spelling in self.vocabulary.spellings.get(name, []):
            analysed = analyse(spelling)
            if tuple(analysed) == terms or not analysed:
                continue
            if len(analysed) == 1:
                out.append(query.Term("text", analysed[0]))
            else:
                out.append(query.Phrase("text", analysed))
        return out

    def phrase(self, node: query.Phrase) -> query.Query | None:
        if node.fieldname != "text":
            return self.term(node.fieldname, " ".join(node.words), node.boost)
        parts = self._clauses(node)
        if not parts:
            return None
        if len(parts) > 1:
            # Words the index never pairs (a comma or a sentence's end
            # between them): each clause a phrase of its own, all of them.
            found = [self._phrase(words, node.boost) for words in parts]
            return query.And(found)
        return self._phrase(parts[0], node.boost)

    def _phrase(self, words: list[str], boost: float) -> query.Query:
        if len(words) == 1:
            return self.term("text", words[0], boost)
        phrase = query.Phrase("text", words, boost=boost)
        expansion = self.synonyms(tuple(words))
        return query.Or([phrase, *expansion]) if expansion else phrase

    def _clauses(self, node: query.Phrase) -> list[list[str]]:
        """The phrase's words clause by clause, as the index pairs them
        (kb.search.analysis.clauses), from where the parser found them."""
        ranges = getattr(node, "char_ranges", None) or [(None, None)] * len(node.words)
        found: list[list[str]] = []
        last_end = None
        for word, (start, end) in zip(node.words, ranges, strict=False):
            if not word:
                continue
            if not found or (
                last_end is not None and start is not None and breaks(self.text, last_end, start)
            ):
                found.append([])
            found[-1].append(word)
            last_end = end
        return found

    def prefix(self, fieldname: str, text: str) -> query.Query | None:
        text = text.lower()
        if fieldname != "text":
            return self.term(fieldname, text)
        if len(text) < MIN_PREFIX:
            self.warnings.append(f"Type at least {MIN_PREFIX} letters before '*'.")
            return self.term("text", stem(text)) if len(text) > 1 else None
        # Words are indexed stemmed ("pricing" as "price"): match on what the
        # typed prefix and its stem share.
        stemmed = stem(text)
        shared = 0
        while shared < min(len(text), len(stemmed)) and text[shared] == stemmed[shared]:
            shared += 1
        prefix = text[:shared]
        prefix = prefix if len(prefix) >= MIN_PREFIX else text
        if self.view is None:
            return query.Term("text", stemmed)
        terms = []
        for term in self.view.lexicon("text", prefix):
            terms.append(query.Term("text", term))
            if len(terms) > MAX_PREFIX_TERMS:
                self.warnings.append(
                    f"'{text}*' matches too many words; only the first "
                    f"{MAX_PREFIX_TERMS} were searched. Type more letters."
                )
                terms.pop()
                break
        if not terms:
            return query.Term("text", stemmed)
        return terms[0] if len(terms) == 1 else query.Or(terms)

    def values(self, fieldname: str, raw: str) -> list[tuple[str, str]]:
        """Index (field, term) pairs a field query or filter value means;
        empty, with a message, when the value cannot mean anything."""
        value = raw.strip().lower()
        label = next((k for k, v in FIELDS.items() if v == fieldname), fieldname)
        key = value.replace(" ", "_").replace("-", "_")
        if fieldname == "outcome":
            found = OUTCOMES.get(key)
            return self._known(found, fieldname, raw, "won, lost or no_decision")
        if fieldname == "source":
            return self._known(SOURCES.get(key), fieldname, raw, "rep or buyer")
        if fieldname == "status":
            return self._known(STATUSES.get(key), fieldname, raw, "draft or submitted")
        if fieldname == "quarter":
            match = QUARTER.match(value.replace(" ", ""))
            found = f"{match.group(1)}-q{match.group(2)}" if match else None
            return self._known(found, fieldname, raw, "a quarter such as 2025-Q1")
        if fieldname in ("competitor", "winner"):
            if fieldname == "winner" and (special := SPECIAL_WINNERS.get(key)):
                return [(fieldname, special)]
            name = self.vocabulary.competitor(value)
            if name is None:
                known = ", ".join(sorted(self.vocabulary.spellings)[:12]) or "none yet"
                self.warnings.append(f"No competitor is called '{raw}'. Competitors: {known}.")
                return [(fieldname, value)]
            return [(fieldname, name.lower())]
        if fieldname in ("segment", "region", "industry", "product_line"):
            listed = self.vocabulary.choices.get(fieldname, {})
            if value not in listed:
                choices = ", ".join(listed.values()) or "none yet"
                self.warnings.append(f"There is no {label} '{raw}'. Choose from: {choices}.")
            return [(fieldname, value)]
        if fieldname == "category":
            return self._category(raw)
        if fieldname == "author_id":
            ids = self.find_authors(raw.strip())
            if not ids:
                self.warnings.append(f"No author matches '{raw}'.")
                return [("author_id", "-1")]
            return [("author_id", str(i)) for i in ids]
        return [(fieldname, value)]

    def _known(self, found: str | None, fieldname: str, raw: str, choices: str):
        if found is None:
            label = next((k for k, v in FIELDS.items() if v == fieldname), fieldname)
            article = "an" if label[:1] in "aeiou" else "a"
            self.warnings.append(f"'{raw}' is not {article} {label}; use {choices}.")
            return [(fieldname, "-")]
        return [(fieldname, found)]

    def _category(self, raw: str) -> list[tuple[str, str]]:
        slug = slugify(raw.replace("›", " ").replace(".", " dot ")).replace("-dot-", ".")
        vocabulary = self.vocabulary
        if slug in vocabulary.groups:
            return [("category_group", slug)]
        if slug in vocabulary.categories:
            return [("category", slug)]
        by_name = [s for s in vocabulary.categories if s.split(".", 1)[1] == slug]
        by_group_name = [s for s, name in vocabulary.groups.items() if slugify(name) == slug]
        if by_group_name:
            return [("category_group", s) for s in by_group_name]
        if by_name:
            return [("category", s) for s in by_name]
        groups = ", ".join(vocabulary.groups) or "none yet"
        self.warnings.append(
            f"There is no reason category '{raw}'. Use a group ({groups}) "
            "or a category such as price.total-cost."
        )
        return [("category", slug or "-")]


def _error_message(node: query.Query) -> str:
    message = str(node.error)
    return message if message.endswith(".") else "Part of the query was not understood."


def positive_terms(node: query.Query | None, negated: bool = False) -> set[tuple[str, str]]:
    """(field, term) of the query's words that a match contains (not those
    it must not contain)."""
    out: set[tuple[str, str]] = set()
    if node is None:
        return out
    if isinstance(node, query.Not):
        return out if not negated else positive_terms(node.query)
    if isinstance(node, query.AndNot):
        return positive_terms(node.a, negated)
    if isinstance(node, query.Term):
        return {(node.fieldname, node.text)}
    if isinstance(node, query.Phrase):
        return {(node.fieldname, w) for w in node.words}
    for child in node.children():
        out |= positive_terms(child, negated)
    return out


def _words_only(text: str) -> query.Query:
    """Every word of the text, required, without operators or fields."""
    words = [w for w in WORD.findall(text) if w not in OPERATORS and w != "TO"]
    terms = [query.Term("text", term) for term in dict.fromkeys(analyse(" ".join(words)))]
    if not terms:
        return query.NullQuery
    return terms[0] if len(terms) == 1 else query.And(terms)


@lru_cache(maxsize=1024)
def parse_syntax(text: str) -> query.Query:
    # Whoosh's parser takes milliseconds; its output depends only on the text
    # (and is never modified: resolving builds new nodes).
    return PARSER.parse(text)


def parse(raw: str | None, vocabulary: Vocabulary, view=None, find_authors=None) -> Parsed:
    text, warnings = sanitize(raw)
    if not text:
        return Parsed(text, None, warnings)
    try:
        parsed = parse_syntax(text)
    except Exception:
        # Whoosh's parser still fails on some mixes the sanitizer lets by
        # (operators around symbols, ranges and bidirectional marks): search
        # the words alone, built here, since the parser may fail on them too.
        parsed = _words_only(text)
        warnings.append(
            "The query's operators or brackets could not be read together, so its words "
            "were searched as plain words (all of them). Check NOT, AND, OR and ranges "
            "such as amount:[10k TO 50k]."
        )
    resolver = Resolver(vocabulary, view, find_authors or (lambda _: []), text)
    resolved = resolver.walk(parsed)
    warnings += resolver.warnings
    if resolved is None:
        warnings.append(
            "There was nothing to search for in the query (words of one letter and "
            "very common words such as 'the' are not indexed); showing everything."
        )
    highlight = {t for f, t in positive_terms(resolved) if f == "text"}
    unknown = []
    if view is not None:
        for fieldname, term in positive_terms(parsed):
            if fieldname == "text" and PAIR_SEPARATOR not in term and not view.docs("text", term):
                unknown.append(term)
    return Parsed(text, resolved, list(dict.fromkeys(warnings)), highlight, unknown)


def date_bounds(text: str | None, warnings: list[str], label: str):
    """The first and last day of a date filter value, or None (with a message)."""
    if not text or not str(text).strip():
        return None
    try:
        return parse_date_bounds(str(text))
    except ValueError as exc:
        warnings.append(f"{label}: {exc}")
        return None
