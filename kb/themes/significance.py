"""How sure a finding is when thousands of words and phrases were tested at
once: the Benjamini–Hochberg step-up procedure over every candidate tested,
at a false discovery rate of Q.

A candidate's p-value is that of its G² under the chi² distribution with one
degree of freedom, P(X ≥ G²) = erfc(√(G²/2)) (exact for one degree of
freedom, so no statistics library is needed); discovery tests for
over-representation only, so a candidate less common in the subset has p = 1.

Discovery counts exactly only the candidates that could be findings; for
the rest it knows an upper bound on G², so a lower bound on p. BH is
monotone (a smaller p-value never rejects fewer), so giving those p = 1
yields a count that surely passes, and giving them their bound yields the
most that could: when the two agree, the count is exact.
"""

import math
from collections.abc import Iterable
from dataclasses import dataclass

Q = 0.05


def p_value(g2: float) -> float:
    """The chance of a G² this large or larger by luck alone (one degree of
    freedom), for an over-represented phrase; 1 for any other."""
    return math.erfc(math.sqrt(g2 / 2)) if g2 > 0 else 1.0


def rejected(p_values: Iterable[float], tested: int, q: float = Q) -> int:
    """How many of `tested` hypotheses BH rejects, given the p-values below 1
    (those of 1 are never rejected and need not be listed)."""
    found = 0
    for rank, p in enumerate(sorted(p_values), start=1):
        if p <= q * rank / tested:
            found = rank
    return found


@dataclass
class Correction:
    tested: int  # candidates tested (the m of BH)
    passing: int  # candidates that surely pass
    most: int  # candidates that may pass (equal to passing when exact)
    q: float = Q

    @property
    def exact(self) -> bool:
        return self.passing == self.most

    @property
    def cutoff(self) -> float:
        """The largest p-value that passes."""
        return self.q * self.passing / self.tested if self.tested else 0.0

    def passes(self, p: float) -> bool:
        return self.passing > 0 and p <= self.cutoff


def correct(exact: Iterable[float], bounded: Iterable[float], tested: int) -> Correction:
    """BH over `tested` candidates: G² of those counted exactly, and upper
    bounds on G² of the others."""
    known = [p for g2 in exact if (p := p_value(g2)) < 1]
    least = [p for g2 in bounded if (p := p_value(g2)) < 1]
    sure = rejected(known, tested)
    most = rejected(known + least, tested) if least else sure
    return Correction(tested, sure, most)
