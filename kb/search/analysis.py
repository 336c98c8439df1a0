"""Turning text into index terms: words, lowercased, stop words dropped,
Porter-stemmed ("pricing" and "prices" both become "price"), and the pairs of
adjacent terms that answer phrase queries.

Real feedback is messier than prose, so a few kinds of token are read whole
before words are: URLs ("https://acme.com/pricing"), @handles, numbers with
their unit or currency ("30%", "$50k", "€20,000" as "€20000"; single digits
too, so "6 weeks" is a phrase), and emoji ("😡", skin tones and variation
selectors dropped). Apostrophes stay inside words (straight or curly):
negations are kept as one term ("don't", "won't" never means "won"),
other contractions and possessives are reduced to their word ("customer's"
is "customer", "we've" is "we"). Hyphenated words are joined ("e-mail" is
"email"), so either spelling finds the other. HTML entities and a retweet
marker ("RT @someone") are not words.

A phrase never spans a clause boundary: the end of a sentence, a comma, a
semicolon or colon, a line break, a bracket or a dash between words. "We
found out by e-mail, with little explanation" holds the phrases "found out
by e-mail" and "little explanation", never "e-mail little": word pairs are
only made within a clause (`clauses`), so a phrase search and discovery
both read "e-mail, with little" as two clauses, as a reader does.

Whoosh's own analyser chain does the same work per token through several
generator stages; this does it in one loop with a shared stem cache, and
documents are analysed once for both the `text` and `pairs` fields. Phrases
are answered from pairs rather than positions: a term pair is one posting
list to read, where checking positions costs a Python loop per candidate
document, which is what makes phrase search on common words slow in Whoosh.
"""

import re
from collections.abc import Iterable, Iterator
from functools import lru_cache
from itertools import compress
from operator import itemgetter

from whoosh.analysis import STOP_WORDS, Analyzer, Token
from whoosh.lang.porter import stem as porter_stem

# Stored with an index's schema: an index written by another version of
# this analysis is rebuilt when it is opened (schema.same_analysis).
VERSION = 3

_EMOJI = (
    "[\U0001f1e6-\U0001f1ff]{2}"  # a flag: two regional indicators
    "|[\U0001f000-\U0001f1e5\U0001f200-\U0001f3fa\U0001f400-\U0001faff"
    "\u2300-\u23ff\u2600-\u27bf\u2b00-\u2bff]"
)
# Skin tones, variation selectors and the keycap mark change how an emoji
# looks, not what it says.
_EMOJI_MODIFIERS = re.compile("[\ufe0e\ufe0f\u20e3\U0001f3fb-\U0001f3ff]")
_HYPHENS = re.compile("[-\u2010\u2011]")
_PATTERNS = (
    ("entity", r"&(?:[a-z]{2,8}|\#\d{1,7}|\#x[0-9a-f]{1,6});"),
    ("url", r"(?:https?://|www\.)[^\s<>\"]+"),
    ("handle", r"(?<![\w@.])@\w+"),
    ("emoji", rf"(?:{_EMOJI})[\ufe0e\ufe0f\u20e3\U0001f3fb-\U0001f3ff]*"),
    ("number", r"[$€£¥₹]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:%|(?:k|m|bn)\b)?(?![\w%])"),
    ("word", r"\w+(?:['’.\-\u2010\u2011]\w+)*"),
)
# Tokens are found with one plain pattern (fast), and each distinct token is
# told apart once, by the same alternatives with names (cached in _term).
# Most tokens are words starting with a letter no other kind of token can
# start with (every other kind starts with &, h, w, @, a digit, a currency
# sign or an emoji): the pattern tries that case first, so that such a word
# is not tried against every other alternative before its own.
_PLAIN_WORD = r"[a-gi-vx-z_]\w*(?:['’.\-\u2010\u2011]\w+)*"
TOKEN = re.compile("|".join([_PLAIN_WORD, *(pattern for _, pattern in _PATTERNS)]), re.IGNORECASE)
_KINDS = re.compile(
    "|".join(f"(?P<{kind}>{pattern})" for kind, pattern in _PATTERNS), re.IGNORECASE
)
# What the search box's fallback reads as one chunk of a query; the chunk is
# then analysed like any text.
WORD = re.compile(r"[^\s()\[\]{}\"]+")
MIN_LENGTH = 2
# The separator inside a pair term; never part of a word, so pairs and words
# cannot collide.
PAIR_SEPARATOR = " "
# Endings that only attach a word to the one before it ("we've", "it's",
# "customer's"); a negation ("n't") changes the meaning and stays.
_CLITICS = frozenset(("s", "re", "ve", "ll", "d", "m"))
# Negations written without their apostrophe, as feedback often is ("cant"
# and "wont" are words of their own).
_NEGATIONS = {
    w.replace("'", ""): w
    for w in (
        *("don't", "doesn't", "didn't", "isn't", "aren't", "wasn't", "weren't"),
        *("hasn't", "haven't", "hadn't", "couldn't", "wouldn't", "shouldn't"),
    )
} | {"cannot": "can't"}
_URL_END = ".,;:!?)]}'\"’”"
# What between two words ends a clause: a sentence's end, a comma, a
# semicolon or colon (followed by a space or the end: "20,000" and
# "acme.com" are one token anyway), a line break, a bracket, a dash or an
# ellipsis, or a hyphen with a space on either side.
_BOUNDARY = re.compile(r"[.,;:!?…]|[\n\r()\[\]{}\u2013\u2014]|\s[-\u2010\u2011]|[-\u2010\u2011]\s")
# What a token itself may end with that ends its clause: a URL takes the
# punctuation after it into its token (and leaves it out of its term).
_CLAUSE_END = ".,;:!?)]}"
# The tokens with the text between them, in one C-level pass: gaps at even
# places, tokens at odd ones.
_TOKENS_AND_GAPS = re.compile(f"({TOKEN.pattern})", re.IGNORECASE)


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    return porter_stem(word)


@lru_cache(maxsize=50_000)
def _word_term(word: str) -> str | None:
    """The index term of one (lowercased) word, or None when it is not indexed."""
    if "’" in word:
        word = word.replace("’", "'")
    if "'" in word:
        if word.endswith("n't"):
            return word
        base, _, ending = word.rpartition("'")
        if ending not in _CLITICS:
            return word if word not in STOP_WORDS else None  # a name: "o'brien"
        word = base
    if "-" in word or "\u2010" in word or "\u2011" in word:
        word = _HYPHENS.sub("", word)
    word = _NEGATIONS.get(word, word)
    if len(word) < MIN_LENGTH or word in STOP_WORDS:
        return None
    return word if "'" in word else stem(word)


@lru_cache(maxsize=200_000)
def _term(raw: str) -> str | None:
    """The index term of one token as written, or None when it is not indexed."""
    kind = _KINDS.match(raw).lastgroup
    if kind == "word":
        return _word_term(raw.lower())
    if kind == "number":
        return raw.lower().replace(",", "")
    if kind == "emoji":
        return _EMOJI_MODIFIERS.sub("", raw)
    if kind == "url":
        return raw.rstrip(_URL_END).lower()
    if kind == "handle":
        return raw.lower() if len(raw) > 1 else None
    return None  # an HTML entity such as &amp;


def _retweet(tokens: list[str], i: int) -> bool:
    """Whether the token at i is a retweet marker ("RT @someone: …"), not a word."""
    return tokens[i] == "RT" and (i == 0 or (i + 1 < len(tokens) and tokens[i + 1][0] == "@"))


def _terms_of(tokens: list[str]) -> list[str | None]:
    """Each token's term (None: not indexed)."""
    terms = list(map(_term, tokens))  # no Python loop per token: this runs for every document
    if "RT" in tokens:
        terms = [
            None if raw == "RT" and _retweet(tokens, i) else term
            for i, (raw, term) in enumerate(zip(tokens, terms, strict=True))
        ]
    return terms


def analyse(text: str) -> list[str]:
    """The index terms of `text`, in order."""
    return list(filter(None, _terms_of(TOKEN.findall(text))))


def clauses(text: str) -> list[list[str]]:
    """The index terms of `text` clause by clause (see the module's
    docstring), in order, clauses without a term left out: their terms
    together are analyse(text)."""
    parts = _TOKENS_AND_GAPS.split(text)
    tokens, gaps = parts[1::2], parts[2:-1:2]
    terms = _terms_of(tokens)
    # After which tokens a clause ends, looked for only in the gaps that
    # are more than one space and after the tokens ending in punctuation
    # (no Python loop over every token).
    wide = compress(range(len(gaps)), map(" ".__ne__, gaps))
    ends = {i for i in wide if _BOUNDARY.search(gaps[i])}
    last_characters = map(itemgetter(-1), tokens)
    ends.update(compress(range(len(gaps)), map(_CLAUSE_END.__contains__, last_characters)))
    found, start = [], 0
    for end in [*sorted(ends), len(tokens) - 1]:
        if clause := list(filter(None, terms[start : end + 1])):
            found.append(clause)
        start = end + 1
    return found


def breaks(text: str, end: int, start: int) -> bool:
    """Whether a clause ends between the token of `text` ending at `end` and
    the one starting at `start` (positions as `spans` gives them)."""
    return _BOUNDARY.search(text, end, start) is not None


def pairs(terms: list[str]) -> list[str]:
    """The pairs of adjacent terms of one clause."""
    return list(map(PAIR_SEPARATOR.join, zip(terms, terms[1:], strict=False)))


def clause_pairs(found: list[list[str]]) -> list[str]:
    """The pairs of adjacent terms within each of these clauses."""
    return [pair for clause in found for pair in pairs(clause)]


def spans(text: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, term) for every indexable token of `text`, for highlighting."""
    matches = list(TOKEN.finditer(text))
    tokens = [m.group() for m in matches]
    for i, match in enumerate(matches):
        raw = tokens[i]
        term = _term(raw)
        if not term or (raw == "RT" and _retweet(tokens, i)):
            continue
        start, end = match.span()
        if raw[-1] in _URL_END and term[-1] not in _URL_END:
            end = start + len(raw.rstrip(_URL_END))
        yield start, end, term


class _Analyzer(Analyzer):
    """A Whoosh analyser over `analyse`, for queries and for anything that
    hands the index raw text (documents.py hands over analysed term lists,
    which Whoosh indexes as they are)."""

    def __init__(self) -> None:
        # An instance attribute, so that it is pickled with the index's
        # schema: an index from before versions were stored has none.
        self.version = VERSION

    def _terms(self, value: str) -> Iterable[tuple[int, int, str]]:
        return spans(value)

    def __call__(self, value, positions=False, chars=False, mode="", removestops=True, **kwargs):
        token = Token(positions=positions, chars=chars, removestops=removestops, mode=mode)
        for pos, (start, end, term) in enumerate(self._terms(value)):
            token.text = term
            token.boost = 1.0
            token.stopped = False
            if positions:
                token.pos = pos
            if chars:
                token.startchar, token.endchar = start, end
            yield token

    def has_morph(self) -> bool:
        return True


class TextAnalyzer(_Analyzer):
    pass


class PairAnalyzer(_Analyzer):
    def _terms(self, value: str) -> Iterable[tuple[int, int, str]]:
        found = list(spans(value))
        for (start, last, a), (first, end, b) in zip(found, found[1:], strict=False):
            if not breaks(value, last, first):
                yield start, end, a + PAIR_SEPARATOR + b
