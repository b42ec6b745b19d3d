"""Percentages by the largest-remainder method: printed to one decimal, they add up to exactly 100."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from safegrade.services.reporting.circular import largest_remainder


def naive(counts: list[int]) -> list[Decimal]:
    """Each share rounded on its own (what a spreadsheet does): need not add up to 100."""
    total = sum(counts)
    return [round(Decimal(c * 100) / Decimal(total), 1) for c in counts]


@pytest.mark.parametrize(("counts", "expected", "naive_sum"), [
    ([1, 1, 1], ["33.4", "33.3", "33.3"], "99.9"),   # equal remainders: the first share gets the tenth
    ([1, 1, 4], ["16.7", "16.7", "66.6"], "100.1"),  # the smallest remainder gives one back
    ([2, 2, 2], ["33.4", "33.3", "33.3"], "99.9"),
    ([54, 29, 6], ["60.7", "32.6", "6.7"], "100.0"),  # the 2023 circular's 89 enterprises
    ([5, 0, 0], ["100.0", "0.0", "0.0"], "100.0"),
    ([1, 2], ["33.3", "66.7"], "100.0"),
])
def test_examples_where_rounding_each_share_alone_would_not_add_up(counts, expected, naive_sum):
    shares = largest_remainder(counts)
    assert shares == [Decimal(e) for e in expected]
    assert sum(shares) == Decimal(100)
    assert sum(naive(counts)) == Decimal(naive_sum)


def test_nothing_assessed_gives_zeros_and_negative_counts_are_refused():
    assert largest_remainder([0, 0, 0]) == [Decimal("0.0")] * 3
    assert largest_remainder([]) == []
    with pytest.raises(ValueError, match="must not be negative"):
        largest_remainder([3, -1])


counts_st = st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=8).filter(lambda c: sum(c) > 0)


@given(counts_st)
def test_always_exactly_100_and_each_within_a_tenth_of_its_exact_value(counts):
    shares = largest_remainder(counts)
    assert sum(shares) == Decimal("100.0")
    total = sum(counts)
    for count, share in zip(counts, shares, strict=True):
        assert share == share.quantize(Decimal("0.1"))  # one decimal
        assert abs(Fraction(share) - Fraction(count * 100, total)) < Fraction(1, 10)
        assert float(share) == float(str(share))  # what the json prints is the decimal written


@given(counts_st)
def test_a_larger_count_never_gets_a_smaller_share(counts):
    shares = largest_remainder(counts)
    for i, a in enumerate(counts):
        for j, b in enumerate(counts):
            if a > b:
                assert shares[i] >= shares[j]


@given(counts_st, st.integers(min_value=0, max_value=3))
def test_other_numbers_of_decimals_add_up_too(counts, decimals):
    shares = largest_remainder(counts, decimals)
    assert sum(shares) == 100
    assert all(s.as_tuple().exponent == -decimals for s in shares)
