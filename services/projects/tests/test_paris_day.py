"""The service's calendar day is the day in Paris, whatever the hour in UTC."""

from datetime import UTC, date, datetime

import pytest

from common.clock import FixedClock
from services.projects.paris_day import paris_today


@pytest.mark.parametrize(
    ("at", "day"),
    [
        (datetime(2027, 3, 31, 21, 59, tzinfo=UTC), date(2027, 3, 31)),  # 23:59 in Paris (summer time)
        (datetime(2027, 3, 31, 22, 0, tzinfo=UTC), date(2027, 4, 1)),  # midnight in Paris: the deadline has passed
        (datetime(2026, 12, 31, 23, 30, tzinfo=UTC), date(2027, 1, 1)),  # a new budget year in Paris (winter time)
        (datetime(2026, 6, 15, 9, 0, tzinfo=UTC), date(2026, 6, 15)),
    ],
)
def test_today_is_the_paris_day_of_the_clock(at: datetime, day: date) -> None:
    assert paris_today(FixedClock(at)) == day
