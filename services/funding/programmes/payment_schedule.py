"""A grant cut into instalments, in integer cents: the instalments always add up to the grant, to the cent.

Each instalment is the floor of its exact share; the cents the flooring leaves over go one by one to the
instalments with the largest remainders, the earlier instalment first on a tie (the largest remainder method).
So each instalment is within one cent of its exact share, and no float ever touches the money.
"""

BASIS_POINTS = 10_000  # a share in hundredths of a percent: 7_000 is 70 %
MAX_YEARS = 10


def split_amount(amount_cents: int, shares: list[int]) -> list[int]:
    """`amount_cents` cut along `shares` (basis points, each > 0, adding up to 10_000), in the order of the shares:
    `split_amount(1_200_000, [7_000, 3_000]) == [840_000, 360_000]`."""
    _check_amount(amount_cents)
    if any(not _is_int(share) for share in shares):
        raise TypeError("shares are integer basis points")
    if any(share <= 0 for share in shares):
        raise ValueError(f"every share is a positive number of basis points: {shares}")
    if sum(shares) != BASIS_POINTS:
        raise ValueError(f"shares add up to {BASIS_POINTS} basis points, not {sum(shares)}: {shares}")
    return _largest_remainder(amount_cents, shares, BASIS_POINTS)


def yearly_split(amount_cents: int, years: int) -> list[int]:
    """`amount_cents` in equal yearly parts over 1 to 10 years, the earlier years taking the cents left over:
    `yearly_split(10_000, 3) == [3_334, 3_333, 3_333]`."""
    _check_amount(amount_cents)
    if not _is_int(years):
        raise TypeError("years is an integer")
    if not 1 <= years <= MAX_YEARS:
        raise ValueError(f"a yearly split runs over 1 to {MAX_YEARS} years, not {years}")
    # Equal weights out of `years` rather than basis points: 10_000 does not divide by 3, 6, 7 or 9.
    return _largest_remainder(amount_cents, [1] * years, years)


def proportional_split(amount_cents: int, weights: list[int]) -> list[int]:
    """`amount_cents` cut in proportion to `weights` (positive integers, e.g. what was asked each year):
    `proportional_split(1_000, [2, 1, 1]) == [500, 250, 250]`."""
    _check_amount(amount_cents)
    if not weights or any(not _is_int(weight) for weight in weights):
        raise TypeError("weights are a non-empty list of integers")
    if any(weight <= 0 for weight in weights):
        raise ValueError(f"every weight is positive: {weights}")
    return _largest_remainder(amount_cents, weights, sum(weights))


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_amount(amount_cents: int) -> None:
    # A float amount would carry floats into every instalment: refused rather than rounded.
    if not _is_int(amount_cents):
        raise TypeError("an amount is integer cents")
    if amount_cents < 0:
        raise ValueError(f"an amount is never negative: {amount_cents}")


def _largest_remainder(amount_cents: int, weights: list[int], whole: int) -> list[int]:
    """Instalment i is amount × weights[i] / whole, floored, plus one cent for the largest remainders."""
    parts = [divmod(amount_cents * weight, whole) for weight in weights]
    instalments = [floor for floor, _ in parts]
    # The remainders add up to `left` × whole, each below whole: fewer cents left over than instalments.
    left = amount_cents - sum(instalments)
    by_remainder = sorted(range(len(parts)), key=lambda index: (-parts[index][1], index))
    for index in by_remainder[:left]:
        instalments[index] += 1
    return instalments
