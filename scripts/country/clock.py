"""Time as the seed counts it: PostgreSQL's own binary units, so that rows go to COPY without any conversion.

An instant is an int of microseconds since 2000-01-01 00:00 UTC (the binary `timestamptz`); a day is an int of
days since 2000-01-01 (the binary `date`). Building millions of datetime objects would cost more than the rows.
"""

from datetime import UTC, date, datetime, timedelta

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
EPOCH_ORDINAL = date(2000, 1, 1).toordinal()
SECOND = 1_000_000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR


def instant(moment: datetime) -> int:
    delta = moment - EPOCH
    return (delta.days * 86_400 + delta.seconds) * SECOND + delta.microseconds


def instant_of_day(day: int, hour: int = 0, minute: int = 0) -> int:
    return day * DAY + hour * HOUR + minute * MINUTE


def day_of(at: int) -> int:
    return at // DAY


def day(year: int, month: int, dom: int) -> int:
    return date(year, month, dom).toordinal() - EPOCH_ORDINAL


def date_of(day_number: int) -> date:
    return date.fromordinal(day_number + EPOCH_ORDINAL)


def day_from(calendar_day: date) -> int:
    return calendar_day.toordinal() - EPOCH_ORDINAL


def iso(at: int) -> str:
    """RFC 3339 in UTC, as the API serialises a timestamp."""
    return (EPOCH + timedelta(microseconds=at)).isoformat().replace("+00:00", "Z")


def iso_day(day_number: int) -> str:
    return date_of(day_number).isoformat()


def year_of(at: int) -> int:
    return date_of(day_of(at)).year
