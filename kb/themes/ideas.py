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


def group(phrases: Iterable[Form], linked: dict | None = None) -> list[list[Form]]:
    """The phrases linked as forms of one idea, each group's shown form first.

    `linked`, when given, keeps same_idea of each pair of phrases (by their
    terms) for the next call: discovery groups its findings again each time
    it has counted more of them, and most pairs were compared before."""
    found = list(phrases)
    if linked is None:
        linked = {}
    parent = list(range(len(found)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    by_term: dict[str, list[int]] = defaultdict(list)
    for i, f in enumerate(found):
        for term in set(f.terms):
            by_term[term].append(i)
    for members in by_term.values():
        members.sort(key=lambda i: -found[i].subset)
        for x, i in enumerate(members):
            for j in members[x + 1 :]:
                if found[j].subset < MERGE * found[i].subset:
                    break  # the rest are rarer still
                if root(i) == root(j):
                    continue
                a, b = found[i], found[j]
                key = (a.terms, b.terms)
                same = linked.get(key)
                if same is None:
                    same = linked[key] = same_idea(a, b)
                if same:
                    parent[root(j)] = root(i)
    groups: dict[int, list[Form]] = defaultdict(list)
    for i, f in enumerate(found):
        groups[root(i)].append(f)
    return [_ordered(members) for members in groups.values()]


def _ordered(members: list[Form]) -> list[Form]:
    most = max(f.subset for f in members)
    shown = max(
        (f for f in members if f.subset >= MERGE * most),
        key=lambda f: (len(f.terms), f.score, f.subset, f.terms),
    )
    rest = sorted((f for f in members if f is not shown), key=lambda f: (-f.score, f.terms))
    return [shown, *rest]


def ideas(findings: Iterable[Form], linked: dict | None = None) -> list[Idea]:
    # In a fixed order: candidates come out of sets, whose order changes from
    # one process to the next, and grouping keeps ties in the order given; so
    # every worker shows the same forms of an idea in the same order.
    found = sorted(findings, key=lambda f: (-f.score, f.terms))
    words = [f for f in found if len(f.terms) == 1]
    merged = [Idea(forms) for forms in group((f for f in found if len(f.terms) > 1), linked)]
    by_term: dict[str, list[Idea]] = defaultdict(list)
    for idea in merged:
        for term in idea.terms:
            by_term[term].append(idea)
    alone = []
    for word in words:
        inside = [
            idea
            for idea in by_term.get(word.terms[0], [])
            if any(absorbs(f, word) for f in idea.forms)
        ]
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
    linked: dict | None = None,
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
