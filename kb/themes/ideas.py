"""One row per idea: the forms of one idea that discovery finds ("late to
matter", "discount that came", "came too late", all from "a discount that
came too late to matter") merged into the longest form that keeps its
support, with the others listed as its variants.

- Two phrases are forms of one idea when they share a word and are nearly
  always found together: each is in at least MERGE of the debriefs of the
  more common one, and so are both. An idea holds every phrase linked to it
  this way, ranks by the best of them, and is shown as its longest phrase
  found in at least MERGE of the debriefs its most common phrase is in.
- A word found in at least MERGE of its debriefs as part of a phrase of an
  idea is a variant of that idea, not a row of its own ("renewal" and
  "cliff" under "renewal cliff"). It does not change the idea's rank: words
  and phrases are ranked apart.
- Any other word is an idea of its own.
"""

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

MERGE = 0.7


class Form(Protocol):
    terms: tuple[str, ...]
    subset: int
    score: float
    bits: int


@dataclass
class Idea:
    forms: list[Any]  # the shown form first, then the other phrases
    words: list[Any] = field(default_factory=list)  # words inside it

    @property
    def shown(self) -> Any:
        return self.forms[0]

    @property
    def variants(self) -> list[Any]:
        return self.forms[1:] + self.words

    @property
    def terms(self) -> set[str]:
        return {t for f in self.forms for t in f.terms}

    def strength(self, value: Callable[[Any], float]) -> float:
        return max(value(f) for f in self.forms)


def same_idea(a: Form, b: Form) -> bool:
    most = max(a.subset, b.subset)
    if min(a.subset, b.subset) < MERGE * most:
        return False
    return (a.bits & b.bits).bit_count() >= MERGE * most


def absorbs(phrase: Form, word: Form) -> bool:
    """Whether the word is mostly found as part of the phrase (a phrase's
    debriefs all have each of its words)."""
    return word.terms[0] in phrase.terms and phrase.subset >= MERGE * word.subset


class Links:
    """The phrases grouped so far and how they link, kept from one call of
    group to the next: discovery groups its findings again each time it has
    counted more of them, so only the new ones are compared, each with the
    phrases of its words whose counts are close enough (found by bisection
    in each word's phrases, kept in order of counts)."""

    def __init__(self) -> None:
        self.forms: dict[tuple[str, ...], Any] = {}
        self._parent: dict[tuple[str, ...], tuple[str, ...]] = {}
        # By word: its phrases' counts, ascending, and those phrases.
        self._counts: dict[str, list[int]] = defaultdict(list)
        self._members: dict[str, list[Any]] = defaultdict(list)
        # Each phrase's documents shifted down to the lowest document of
        # any (a subset's documents often lie in a part of the index: the
        # bitmaps compared are shorter, and share as many documents).
        self._base: int | None = None
        self._bits: dict[tuple[str, ...], int] = {}

    def root(self, key: tuple[str, ...]) -> tuple[str, ...]:
        parent = self._parent
        while (up := parent[key]) != key:
            parent[key] = parent[up]
            key = up
        return key

    def add(self, f: Form) -> None:
        key = f.terms
        self.forms[key] = f
        self._parent[key] = key
        if f.bits:
            low = (f.bits & -f.bits).bit_length() - 1
            if self._base is None or low < self._base:
                self._base = low
                self._bits = {k: g.bits >> low for k, g in self.forms.items()}
        self._bits[key] = f.bits >> self._base if self._base is not None else f.bits
        size = f.subset
        for term in set(key):
            counts, members = self._counts[term], self._members[term]
            at = bisect_left(counts, size)
            # Phrases of this word with a count close enough: each count at
            # least MERGE of the other's (as same_idea asks), those below
            # `size` downward, those from it upward, until one is too far.
            for i in range(at - 1, -1, -1):
                if counts[i] < MERGE * size:
                    break
                self._link(f, members[i])
            for i in range(at, len(counts)):
                if size < MERGE * counts[i]:
                    break
                self._link(f, members[i])
            counts.insert(at, size)
            members.insert(at, f)

    def _link(self, a: Form, b: Form) -> None:
        ra, rb = self.root(a.terms), self.root(b.terms)
        if ra != rb and self._same(a, b):
            self._parent[ra] = rb

    def _same(self, a: Form, b: Form) -> bool:
        """same_idea, on the shifted bitmaps."""
        most = max(a.subset, b.subset)
        if min(a.subset, b.subset) < MERGE * most:
            return False
        return (self._bits[a.terms] & self._bits[b.terms]).bit_count() >= MERGE * most


def group(phrases: Iterable[Form], linked: "Links | None" = None) -> list[list[Form]]:
    """The phrases linked as forms of one idea, each group's shown form first.

    `linked`, when given, keeps what was learnt of the phrases grouped for
    the next call (see Links): the phrases given then are those of the last
    call and more (otherwise it starts again)."""
    found = list(phrases)
    if not isinstance(linked, Links):
        linked = Links()
    known = linked.forms
    new = []
    kept = 0
    for f in found:
        was = known.get(f.terms)
        if was is None:
            new.append(f)
        elif was is f:
            kept += 1
        else:
            kept = -1
            break
    if kept != len(known):
        # Not those of the last call and more: start again.
        linked.__init__()
        new = found
    # A phrase given twice is one form.
    for f in new:
        if f.terms not in linked.forms:
            linked.add(f)
    groups: dict[tuple[str, ...], list[Form]] = defaultdict(list)
    root = linked.root
    for f in found:
        groups[root(f.terms)].append(f)
    return [_ordered(members) for members in groups.values()]


def _ordered(members: list[Form]) -> list[Form]:
    most = max(f.subset for f in members)
    shown = max(
        (f for f in members if f.subset >= MERGE * most),
        key=lambda f: (len(f.terms), f.score, f.subset, f.terms),
    )
    rest = sorted((f for f in members if f is not shown), key=lambda f: (-f.score, f.terms))
    return [shown, *rest]


def ideas(findings: Iterable[Form], linked: Links | None = None) -> list[Idea]:
    # In a fixed order: candidates come out of sets, whose order changes from
    # one process to the next, and grouping keeps ties in the order given; so
    # every worker shows the same forms of an idea in the same order.
    found = sorted(findings, key=lambda f: (-f.score, f.terms))
    words = [f for f in found if len(f.terms) == 1]
    merged = [Idea(forms) for forms in group((f for f in found if len(f.terms) > 1), linked)]
    # By word, each idea with it and the largest count of its forms with
    # it: a word is absorbed by an idea when one of them does (absorbs).
    by_term: dict[str, list[tuple[Idea, int]]] = defaultdict(list)
    for idea in merged:
        most: dict[str, int] = {}
        for f in idea.forms:
            for term in f.terms:
                if f.subset > most.get(term, -1):
                    most[term] = f.subset
        for term, count in most.items():
            by_term[term].append((idea, count))
    alone = []
    for word in words:
        least = MERGE * word.subset
        inside = [idea for idea, count in by_term.get(word.terms[0], ()) if count >= least]
        for idea in inside:
            idea.words.append(word)
        if not inside:
            alone.append(Idea([word]))
    return merged + alone


def ranked(
    findings: Iterable[Form],
    value: Callable[[Any], float],
    limit: int,
    kind: Callable[[Any], Any],
    linked: Links | None = None,
) -> tuple[dict[Any, list[Idea]], list[Idea]]:
    """The best `limit` ideas of each kind (the kind of their shown form),
    by the best `value` of their forms; and every idea, best first
    (`linked`: see group)."""
    every = ideas(findings, linked)
    every.sort(key=lambda i: (-i.strength(value), -max(f.score for f in i.forms), i.shown.terms))
    lists: dict[Any, list[Idea]] = defaultdict(list)
    for idea in every:
        shown = lists[kind(idea.shown)]
        if len(shown) < limit:
            shown.append(idea)
    return lists, every
