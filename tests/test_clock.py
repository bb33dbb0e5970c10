"""The desk's days are Paris days: late evening in Paris is already the next day in UTC, or still the same."""

from datetime import UTC, date, datetime, timedelta, timezone

from common.clock import FixedClock, paris_day


def test_a_winter_evening_after_eleven_in_paris_is_the_next_day() -> None:
    # 23:30 in Paris on 31 December (UTC+1) is 22:30 UTC: the UTC date is still the 31st, Paris's is too...
    assert FixedClock(datetime(2026, 12, 31, 22, 30, tzinfo=UTC)).today() == date(2026, 12, 31)
    # ...and 00:30 in Paris on 1 January is 23:30 UTC on the 31st: Paris is already in the new year.
    assert FixedClock(datetime(2026, 12, 31, 23, 30, tzinfo=UTC)).today() == date(2027, 1, 1)


def test_a_deadline_of_31_march_ends_at_midnight_in_paris_summer_time() -> None:
    # Summer time from 28 March 2027: Paris is UTC+2, so its midnight is 22:00 UTC.
    assert paris_day(datetime(2027, 3, 31, 21, 59, tzinfo=UTC)) == date(2027, 3, 31)
    assert paris_day(datetime(2027, 3, 31, 22, 0, tzinfo=UTC)) == date(2027, 4, 1)


def test_an_instant_in_another_zone_and_a_naive_utc_one_read_the_same() -> None:
    instant = datetime(2027, 3, 31, 23, 0, tzinfo=timezone(timedelta(hours=-5)))  # 04:00 UTC on 1 April
    assert paris_day(instant) == date(2027, 4, 1)
    assert paris_day(datetime(2027, 4, 1, 4, 0)) == date(2027, 4, 1)


def test_a_new_budget_year_starts_at_midnight_in_paris_winter_time() -> None:
    assert paris_day(datetime(2026, 12, 31, 22, 59, tzinfo=UTC)) == date(2026, 12, 31)
    assert paris_day(datetime(2026, 12, 31, 23, 0, tzinfo=UTC)) == date(2027, 1, 1)
