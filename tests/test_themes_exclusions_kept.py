"""Exclusions.kept keeps exactly the grams Exclusions.keeps keeps, in order."""

from itertools import product

from kb.themes import exclusions

TERMS = [
    "price",
    "support",
    "acme",
    "corp",
    "the",
    "about",
    "6",
    "weeks",
    "a",
    "1",
    "xxxx",
    "@acmehq",
    "http://x.io",
    "www.acme.com",
    "amp",
    "lost",
    "onboard",
    "slow",
    "x",
]


def _grams():
    for n in (1, 2, 3):
        yield from product(TERMS, repeat=n)


def test_kept_agrees_with_keeps():
    cases = [
        exclusions.for_discovery({}, {}, ()),
        exclusions.for_discovery(
            {"Acme": ["ACME Corp", "@acmehq"]}, {"outcome": "lost"}, ["slow onboard", "price"]
        ),
    ]
    grams = list(_grams())
    for left in cases:
        assert left.kept(grams) == [g for g in grams if left.keeps(g)]
        assert left.kept(iter(grams)) == [g for g in grams if left.keeps(g)]
