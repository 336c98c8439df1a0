"""The baseline discovery is measured against: Pearson's chi² on plain words
and two-word phrases, the textbook way to find what a group of texts says
more often than the rest.

Each text is lowercased and split into words (letters, with an apostrophe
inside); @handles, URLs, numbers and a list of common English words are left
out, and nothing is stemmed. A candidate is a word or a pair of adjacent
words with no common word at either end, found in at least `min_support`
texts of the group. For each, the 2×2 table of texts (group / rest, with /
without it) gives chi² = N·(ad − bc)² / ((a+b)(c+d)(a+c)(b+d)); only
candidates more common in the group and significant at p < 0.001 (chi² ≥
10.83, one degree of freedom, the product's discovery threshold) are ranked.
"""

import re
from collections import Counter
from collections.abc import Sequence

from whoosh.analysis import STOP_WORDS

SIGNIFICANT = 10.83  # p < 0.001 with one degree of freedom

_DROPPED = re.compile(r"@\w+|(?:https?://|www\.)\S+")
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
_MORE_COMMON_WORDS = """
    about after all also am any because been before but can could did do does
    don't get got had has have her his how i i'm im just me my no now our out
    so some than them then there they this too up very was we were what when
    which who why would you your you're it's i've can't
"""
COMMON_WORDS = frozenset(STOP_WORDS) | frozenset(_MORE_COMMON_WORDS.split())


def candidates(text: str) -> set[tuple[str, ...]]:
    words = _WORD.findall(_DROPPED.sub(" ", text.lower()))
    found = {(w,) for w in words if w not in COMMON_WORDS}
    found |= {
        (a, b)
        for a, b in zip(words, words[1:], strict=False)
        if a not in COMMON_WORDS and b not in COMMON_WORDS
    }
    return found


def chi2(a: int, group: int, c: int, rest: int) -> float:
    """Chi² of `a` of `group` texts and `c` of `rest` texts having a term."""
    b, d = group - a, rest - c
    n = group + rest
    denominator = (a + b) * (c + d) * (a + c) * (b + d)
    return n * (a * d - b * c) ** 2 / denominator if denominator else 0.0


def top_terms(
    texts: Sequence[str], in_group: Sequence[bool], limit: int = 20, min_support: int = 5
) -> list[str]:
    """The `limit` words and phrases with the highest chi² for the group."""
    group_counts: Counter = Counter()
    rest_counts: Counter = Counter()
    for text, inside in zip(texts, in_group, strict=True):
        (group_counts if inside else rest_counts).update(candidates(text))
    group = sum(in_group)
    rest = len(texts) - group
    scored = []
    for term, a in group_counts.items():
        c = rest_counts[term]
        if a >= min_support and a * rest > c * group:
            score = chi2(a, group, c, rest)
            if score >= SIGNIFICANT:
                scored.append((-score, " ".join(term)))
    return [term for _, term in sorted(scored)[:limit]]
