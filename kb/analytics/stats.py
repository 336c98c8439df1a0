"""How far a win rate can be trusted: its 95 % Wilson interval, and whether
a theme's win rate differs from the rest of the deals by more than chance
(Fisher's exact test), read out in plain words.

Small exact implementations: the figures need two functions, not a
statistics library.
"""

import math
from dataclasses import dataclass

from kb import app_settings

Z95 = 1.959963984540054  # the normal quantile of 97.5 %
MIN_GROWTH_COUNT = 10  # mentions below which growth is shown as counts
SIGNIFICANT_P = 0.05


def min_sample() -> int:
    """Decided deals a win-rate comparison needs: what an admin set, else
    KB_MIN_WIN_RATE_SAMPLE (kb.app_settings)."""
    return app_settings.value_of(app_settings.MIN_WIN_RATE_SAMPLE)


def wilson(successes: int, trials: int, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson score interval of a proportion; None without trials."""
    if trials <= 0:
        return None
    p = successes / trials
    z2 = z * z
    centre = (p + z2 / (2 * trials)) / (1 + z2 / trials)
    half = z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials)) / (1 + z2 / trials)
    return max(0.0, centre - half), min(1.0, centre + half)


def _log_choose(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def fisher_exact(a: int, b: int, c: int, d: int) -> float:
    """Two-sided p-value of Fisher's exact test for the table [[a, b], [c, d]]:
    the probability, with the margins fixed, of a table as unlikely as this
    one or more (as scipy.stats.fisher_exact computes it)."""
    row1, col1, n = a + b, a + c, a + b + c + d
    if n == 0:
        return 1.0
    low, high = max(0, col1 - (n - row1)), min(row1, col1)
    log_total = _log_choose(n, col1)

    def prob(x: int) -> float:
        return math.exp(_log_choose(row1, x) + _log_choose(n - row1, col1 - x) - log_total)

    observed = prob(a)
    # A relative tolerance, as scipy's, so that ties in probability count.
    limit = observed * (1 + 1e-7)
    return min(1.0, sum(p for x in range(low, high + 1) if (p := prob(x)) <= limit))


@dataclass
class Comparison:
    """A group's win rate against the other deals'."""

    won: int
    decided: int
    other_won: int
    other_decided: int
    minimum: int

    @property
    def rate(self) -> float | None:
        return self.won / self.decided if self.decided else None

    @property
    def other_rate(self) -> float | None:
        return self.other_won / self.other_decided if self.other_decided else None

    @property
    def too_few(self) -> bool:
        return min(self.decided, self.other_decided) < self.minimum

    @property
    def p_value(self) -> float | None:
        if self.too_few:
            return None
        return fisher_exact(
            self.won,
            self.decided - self.won,
            self.other_won,
            self.other_decided - self.other_won,
        )

    @property
    def significant(self) -> bool:
        p = self.p_value
        return p is not None and p < SIGNIFICANT_P

    @property
    def reading(self) -> str:
        if self.too_few:
            return (
                f"Too few deals to tell (fewer than {self.minimum} decided deals "
                f"{'with' if self.decided < self.minimum else 'without'} it)."
            )
        direction = "lower" if self.rate < self.other_rate else "higher"
        p = self.p_value
        shown = "p < 0.001" if p < 0.001 else f"p = {p:.3f}"
        if self.significant:
            return (
                f"Significantly {direction} than the other deals ({shown}): unlikely to be chance."
            )
        return f"No clear difference from the other deals ({shown}): it may be chance."


def compare(won: int, decided: int, all_won: int, all_decided: int) -> Comparison:
    """A group's win rate against the rest of all deals (the group's own
    deals taken out of the whole)."""
    return Comparison(
        won,
        decided,
        max(0, all_won - won),
        max(0, all_decided - decided),
        min_sample(),
    )


def small_counts(before: int, now: int, minimum: int = MIN_GROWTH_COUNT) -> bool:
    """Whether a growth between two counts is too small to be a percentage."""
    return min(before, now) < minimum
