"""Instalments of a grant: they add up to the grant to the cent, each within a cent of its exact share, the cents
left over going to the largest remainders (the earlier instalment on a tie)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.funding.programmes.payment_schedule import BASIS_POINTS, proportional_split, split_amount, yearly_split

amounts = st.integers(min_value=0, max_value=10**12)
years = st.integers(min_value=1, max_value=10)


@st.composite
def shares(draw: st.DrawFn) -> list[int]:
    """Positive basis points adding up to 10_000: the gaps between distinct cuts of 0..10_000, in any order."""
    cuts = sorted(draw(st.lists(st.integers(1, BASIS_POINTS - 1), unique=True, max_size=24)))
    bounds = [0, *cuts, BASIS_POINTS]
    return draw(st.permutations([high - low for low, high in zip(bounds, bounds[1:], strict=False)]))


class TestSplitAmountProperties:
    @given(amounts, shares())
    def test_the_instalments_add_up_to_the_amount(self, amount: int, parts: list[int]) -> None:
        assert sum(split_amount(amount, parts)) == amount

    @given(amounts, shares())
    def test_each_instalment_is_its_exact_share_floored_or_one_cent_more(self, amount: int, parts: list[int]) -> None:
        instalments = split_amount(amount, parts)
        assert len(instalments) == len(parts)
        for instalment, share in zip(instalments, parts, strict=True):
            floor = amount * share // BASIS_POINTS
            assert instalment in (floor, floor + 1)
            # |instalment − amount × share / 10_000| < 1 cent, multiplied out to stay in integers
            assert abs(instalment * BASIS_POINTS - amount * share) < BASIS_POINTS

    @given(amounts, shares())
    def test_instalments_are_non_negative_integers(self, amount: int, parts: list[int]) -> None:
        assert all(type(instalment) is int and instalment >= 0 for instalment in split_amount(amount, parts))

    @given(amounts, shares())
    def test_the_extra_cents_go_to_the_largest_remainders_the_earlier_first(
        self, amount: int, parts: list[int]
    ) -> None:
        instalments = split_amount(amount, parts)
        remainders = [amount * share % BASIS_POINTS for share in parts]
        rounded_up = [i for i, (n, share) in enumerate(zip(instalments, parts, strict=True))
                      if n * BASIS_POINTS > amount * share]
        kept_down = [i for i in range(len(parts)) if i not in rounded_up]
        for up in rounded_up:
            for down in kept_down:
                assert (remainders[up], -up) > (remainders[down], -down), (up, down, remainders)

    @given(amounts, shares())
    def test_the_same_input_gives_the_same_instalments(self, amount: int, parts: list[int]) -> None:
        assert split_amount(amount, list(parts)) == split_amount(amount, list(parts))

    @given(amounts, shares())
    def test_the_shares_are_left_as_they_were(self, amount: int, parts: list[int]) -> None:
        given_parts = list(parts)
        split_amount(amount, given_parts)
        assert given_parts == parts


class TestSplitAmountExamples:
    def test_12_000_euros_at_70_30_is_8_400_and_3_600_euros(self) -> None:
        assert split_amount(1_200_000, [7_000, 3_000]) == [840_000, 360_000]

    def test_100_euros_01_in_halves_gives_the_odd_cent_to_the_first(self) -> None:
        assert split_amount(10_001, [5_000, 5_000]) == [5_001, 5_000]

    def test_one_cent_at_70_30_goes_to_the_larger_share(self) -> None:
        assert split_amount(1, [7_000, 3_000]) == [1, 0]

    def test_one_cent_at_30_70_goes_to_the_larger_share_even_when_it_is_second(self) -> None:
        assert split_amount(1, [3_000, 7_000]) == [0, 1]

    def test_the_largest_remainder_wins_over_the_earlier_instalment(self) -> None:
        # exact shares 33.33, 33.33 and 33.34 cents: the floors leave one cent, and the third's .34 takes it
        assert split_amount(100, [3_333, 3_333, 3_334]) == [33, 33, 34]
        # 0.3333, 0.3333, 0.3334: one cent left, to the largest remainder, the third
        assert split_amount(1, [3_333, 3_333, 3_334]) == [0, 0, 1]

    def test_a_single_share_takes_everything(self) -> None:
        assert split_amount(123_456_789_012, [10_000]) == [123_456_789_012]

    def test_nothing_to_split_gives_zero_instalments(self) -> None:
        assert split_amount(0, [2_500, 7_500]) == [0, 0]

    def test_a_trillion_cents_keeps_every_cent(self) -> None:
        assert split_amount(10**12 + 1, [3_333, 3_333, 3_334]) == [333_300_000_000, 333_300_000_000, 333_400_000_001]


class TestSplitAmountRefusals:
    @pytest.mark.parametrize(
        "parts",
        [[], [7_000, 2_999], [7_000, 3_001], [10_000, 0], [11_000, -1_000], [0, 10_000], [5_000, 5_000, 1]],
    )
    def test_shares_that_are_not_positive_or_do_not_add_up_to_10_000_are_a_value_error(self, parts: list[int]) -> None:
        with pytest.raises(ValueError):
            split_amount(1_000, parts)

    def test_a_negative_amount_is_a_value_error(self) -> None:
        with pytest.raises(ValueError):
            split_amount(-1, [10_000])

    @pytest.mark.parametrize(("amount", "parts"), [(100.0, [10_000]), (100, [7_000.0, 3_000]), (True, [10_000])])
    def test_anything_but_integers_is_a_type_error(self, amount: object, parts: list[object]) -> None:
        with pytest.raises(TypeError):
            split_amount(amount, parts)  # type: ignore[arg-type]


class TestYearlySplit:
    def test_100_euros_over_three_years_gives_the_extra_cent_to_the_first(self) -> None:
        assert yearly_split(10_000, 3) == [3_334, 3_333, 3_333]

    def test_two_extra_cents_go_to_the_first_two_years(self) -> None:
        assert yearly_split(10_002, 4) == [2_501, 2_501, 2_500, 2_500]

    def test_one_year_takes_everything(self) -> None:
        assert yearly_split(4_800_000, 1) == [4_800_000]

    @given(amounts, years)
    def test_the_years_add_up_to_the_amount_in_equal_parts_the_earlier_ones_larger(
        self, amount: int, count: int
    ) -> None:
        parts = yearly_split(amount, count)
        assert len(parts) == count
        assert sum(parts) == amount
        assert parts == sorted(parts, reverse=True)
        assert parts[0] - parts[-1] <= 1
        assert all(abs(part * count - amount) < count for part in parts)  # within a cent of amount / years

    @given(amounts, years)
    def test_the_same_input_gives_the_same_years(self, amount: int, count: int) -> None:
        assert yearly_split(amount, count) == yearly_split(amount, count)

    @pytest.mark.parametrize("count", [0, -1, 11])
    def test_outside_1_to_10_years_is_a_value_error(self, count: int) -> None:
        with pytest.raises(ValueError):
            yearly_split(10_000, count)

    def test_a_negative_amount_is_a_value_error(self) -> None:
        with pytest.raises(ValueError):
            yearly_split(-5, 2)


weights = st.lists(st.integers(min_value=1, max_value=10**9), min_size=1, max_size=6)


class TestProportionalSplit:
    """A CPO's grant cut along what was asked each year."""

    @given(amounts, weights)
    def test_the_parts_add_up_to_the_amount(self, amount: int, asked: list[int]) -> None:
        assert sum(proportional_split(amount, asked)) == amount

    @given(amounts, weights)
    def test_each_part_is_within_a_cent_of_its_exact_share(self, amount: int, asked: list[int]) -> None:
        whole = sum(asked)
        for part, weight in zip(proportional_split(amount, asked), asked, strict=True):
            assert abs(part * whole - amount * weight) < whole

    def test_a_grant_of_what_was_asked_keeps_each_year(self) -> None:
        assert proportional_split(11_000_000, [6_000_000, 3_000_000, 2_000_000]) == [6_000_000, 3_000_000, 2_000_000]

    def test_half_of_what_was_asked_halves_each_year(self) -> None:
        assert proportional_split(3_000_000, [3_000_000, 2_000_000, 1_000_000]) == [1_500_000, 1_000_000, 500_000]

    def test_no_weights_or_a_zero_weight_is_refused(self) -> None:
        with pytest.raises(TypeError):
            proportional_split(100, [])
        with pytest.raises(ValueError):
            proportional_split(100, [1, 0])
