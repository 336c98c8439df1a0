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

import numpy as np

Q = 0.05


def p_value(g2: float) -> float:
    """The chance of a G² this large or larger by luck alone (one degree of
    freedom), for an over-represented phrase; 1 for any other."""
    return math.erfc(math.sqrt(g2 / 2)) if g2 > 0 else 1.0


def rejected(p_values: Iterable[float], tested: int, q: float = Q) -> int:
    """How many of `tested` hypotheses BH rejects, given the p-values below 1
    (those of 1 are never rejected and need not be listed): the largest
    rank whose p-value, in ascending order, is at most q·rank/tested."""
    ordered = np.sort(_array(p_values))
    ranks = np.arange(1, len(ordered) + 1)
    passing = np.flatnonzero(ordered <= q * ranks / tested)
    return int(passing[-1]) + 1 if passing.size else 0


def _array(values: Iterable[float]) -> np.ndarray:
    if isinstance(values, np.ndarray):
        return values.astype(np.float64, copy=False)
    return np.array(list(values), np.float64)


def _p_values(g2: Iterable[float]) -> np.ndarray:
    """p_value of each G² below 1, worked out once per distinct G² (tens
    of thousands of bounds share a few thousand values)."""
    values = _array(g2)
    distinct, inverse = np.unique(values, return_inverse=True)
    found = np.array([p_value(g) for g in distinct.tolist()], np.float64)[inverse.reshape(-1)]
    return found[found < 1]


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
    known = _p_values(exact)
    least = _p_values(bounded)
    sure = rejected(known, tested)
    most = rejected(np.concatenate([known, least]), tested) if least.size else sure
    return Correction(tested, sure, most)
