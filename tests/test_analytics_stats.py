"""The figures that say how far a win rate can be trusted, against values
worked out by hand: the Wilson interval, Fisher's exact test, the
plain-words reading, and growth shown as counts when there are few."""

import math

import pytest

from kb.analytics import stats
from kb.analytics.charts import interval
from kb.themes.figures import Overview


def test_the_wilson_interval_as_worked_out_by_hand():
    # 8 of 10, z = 1.96: centre (0.8 + z²/20)/(1 + z²/10) = 0.7167, half-width
    # z·sqrt(0.016 + z²/400)/(1 + z²/10) = 0.2266.
    low, high = stats.wilson(8, 10)
    assert (low, high) == (pytest.approx(0.4902, abs=1e-4), pytest.approx(0.9433, abs=1e-4))
    # None of 4 won: the interval still reaches half-way up (not "0 %, certain").
    low, high = stats.wilson(0, 4)
    assert low == 0.0 and high == pytest.approx(0.4899, abs=1e-4)
    # The more deals, the narrower.
    small, large = stats.wilson(4, 10), stats.wilson(400, 1000)
    assert small[1] - small[0] > 4 * (large[1] - large[0])
    assert stats.wilson(0, 0) is None
    assert interval(8, 10) == "49–94%" and interval(0, 0) == "—"


def _by_hand(table) -> float:
    """Two-sided Fisher p: the hypergeometric probabilities of the tables
    with these margins that are no likelier than the one observed."""
    (a, b), (c, d) = table
    row1, col1, n = a + b, a + c, a + b + c + d
    probs = {
        x: math.comb(row1, x) * math.comb(n - row1, col1 - x) / math.comb(n, col1)
        for x in range(max(0, col1 - (n - row1)), min(row1, col1) + 1)
    }
    return sum(p for p in probs.values() if p <= probs[a] * (1 + 1e-9))


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        # Fisher's lady tasting tea: 1, 16, 36, 16, 1 of 70 -> 34/70.
        (((3, 1), (1, 3)), 34 / 70),
        # scipy.stats.fisher_exact's documented example: 400/11440.
        (((8, 2), (1, 5)), 0.03496503496503497),
        (((0, 5), (5, 0)), 2 / 252),
        (((10, 10), (10, 10)), 1.0),
    ],
)
def test_fisher_exact_against_values_worked_out_by_hand(table, expected):
    (a, b), (c, d) = table
    assert stats.fisher_exact(a, b, c, d) == pytest.approx(expected, rel=1e-9)
    assert _by_hand(table) == pytest.approx(expected, rel=1e-9)


def test_fisher_exact_on_larger_tables_agrees_with_the_sum_by_hand():
    for table in (((12, 30), (80, 90)), ((45, 5), (60, 40)), ((1, 39), (20, 40))):
        (a, b), (c, d) = table
        assert stats.fisher_exact(a, b, c, d) == pytest.approx(_by_hand(table), rel=1e-7)


def test_a_clear_difference_is_called_significant_in_plain_words():
    # 6 of 40 deals won when mentioned, against 60 of 100 others.
    found = stats.compare(6, 40, 66, 140)
    assert (found.other_won, found.other_decided) == (60, 100)
    assert found.p_value < 0.001 and found.significant
    assert found.reading == (
        "Significantly lower than the other deals (p < 0.001): unlikely to be chance."
    )


def test_a_small_difference_on_enough_deals_may_be_chance():
    found = stats.compare(18, 40, 72, 140)  # 45 % against 54 %
    assert not found.significant
    assert found.p_value == pytest.approx(stats.fisher_exact(18, 22, 54, 46))
    assert found.reading.startswith("No clear difference from the other deals (p = 0.")
    assert found.reading.endswith("it may be chance.")


def test_too_few_deals_to_tell(app):
    # 0 of 4: a theme of four lost deals says nothing about a 50 % base.
    found = stats.compare(0, 4, 100, 200)
    assert found.too_few and found.p_value is None and not found.significant
    assert found.reading == "Too few deals to tell (fewer than 30 decided deals with it)."
    app.config["KB_MIN_WIN_RATE_SAMPLE"] = 3
    assert not stats.compare(0, 4, 100, 200).too_few


def test_growth_on_few_mentions_is_shown_as_counts():
    def overview(before: int, now: int) -> Overview:
        return Overview(1, [], [], now, before, now / 100, (before or 1) / 100, None, None, [])

    assert overview(1, 6).growth_as_counts and overview(9, 40).growth_as_counts
    assert not overview(10, 40).growth_as_counts
    assert overview(10, 40).growth == pytest.approx(3.0)
