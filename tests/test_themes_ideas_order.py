"""Forms of one idea come out the same whatever order discovery found them
in: candidates come out of sets, whose order differs from one worker
process to the next, and every worker must show the same rows."""

import random
from dataclasses import dataclass

from kb.themes import ideas


@dataclass(frozen=True)
class F:
    terms: tuple[str, ...]
    score: float
    subset: int
    bits: int


def shape(result: list[ideas.Idea]) -> list:
    return [
        (i.shown.terms, [v.terms for v in i.variants], [w.terms for w in i.words]) for i in result
    ]


def test_the_same_findings_in_any_order_make_the_same_ideas():
    # Overlapping phrases whose links are not transitive (a-b and b-c are
    # one idea by their debriefs, a-c are not), with tied counts and scores,
    # and words inside them: the case where the order given decides.
    everyone = (1 << 10) - 1
    found = [
        F(("late", "discount"), 50.0, 10, everyone),
        F(("discount", "came"), 50.0, 10, everyone),
        F(("came", "late"), 50.0, 8, (1 << 8) - 1),
        F(("came", "late", "matter"), 40.0, 7, (1 << 7) - 1),
        F(("late", "matter"), 40.0, 7, ((1 << 7) - 1) << 3),
        F(("discount",), 30.0, 10, everyone),
        F(("late",), 30.0, 10, everyone),
        F(("roadmap",), 20.0, 4, 0b1111),
    ]
    expected = shape(ideas.ideas(found))
    rng = random.Random(3)
    for _ in range(30):
        shuffled = found[:]
        rng.shuffle(shuffled)
        assert shape(ideas.ideas(shuffled)) == expected
