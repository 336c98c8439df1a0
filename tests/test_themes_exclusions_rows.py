"""Exclusions.kept_rows keeps exactly the phrases Exclusions.keeps keeps, on
phrases given as rows of places among terms."""

from itertools import product

import numpy as np

from kb.themes import exclusions
from tests.test_themes_exclusions_kept import TERMS


def test_kept_rows_agrees_with_keeps():
    cases = [
        exclusions.for_discovery({}, {}, ()),
        exclusions.for_discovery(
            {"Acme": ["ACME Corp", "@acmehq"]},
            {"outcome": "lost"},
            ["slow onboard", "price", "onboard slow support"],
        ),
    ]
    terms = [*TERMS, "vendor"]
    rows = [np.array(list(product(range(len(terms)), repeat=n)), np.int64) for n in (2, 3)]
    for left in cases:
        kept = left.kept_rows(terms, rows)
        for part, keep in zip(rows, kept, strict=True):
            grams = [tuple(terms[t] for t in row) for row in part.tolist()]
            assert keep.tolist() == [left.keeps(g) for g in grams]
    assert cases[0].kept_rows(terms, []) == []
