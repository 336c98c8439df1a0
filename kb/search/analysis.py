"""Turning text into index terms: words, lowercased, stop words dropped,
Porter-stemmed ("pricing" and "prices" both become "price"), and the pairs of
adjacent terms that answer phrase queries.

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

from whoosh.analysis import STOP_WORDS, Analyzer, Token
from whoosh.lang.porter import stem as porter_stem

WORD = re.compile(r"\w+(?:\.?\w+)*", re.UNICODE)
MIN_LENGTH = 2
# The separator inside a pair term; never part of a word, so pairs and words
# cannot collide.
PAIR_SEPARATOR = " "


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    return porter_stem(word)


def analyse(text: str) -> list[str]:
    """The index terms of `text`, in order."""
    stop = STOP_WORDS
    terms = []
    for word in WORD.findall(text.lower()):
        if len(word) >= MIN_LENGTH and word not in stop:
            terms.append(stem(word))
    return terms


def pairs(terms: list[str]) -> list[str]:
    return [a + PAIR_SEPARATOR + b for a, b in zip(terms, terms[1:], strict=False)]


def spans(text: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, term) for every indexable word of `text`, for highlighting."""
    stop = STOP_WORDS
    for match in WORD.finditer(text):
        word = match.group().lower()
        if len(word) >= MIN_LENGTH and word not in stop:
            yield match.start(), match.end(), stem(word)


class _Analyzer(Analyzer):
    """A Whoosh analyser over `analyse`, for queries and for anything that
    hands the index raw text (documents.py hands over analysed term lists,
    which Whoosh indexes as they are)."""

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
        for (start, _, a), (_, end, b) in zip(found, found[1:], strict=False):
            yield start, end, a + PAIR_SEPARATOR + b
