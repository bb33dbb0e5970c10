"""The time the services live in: the wall clock, or one a test sets and moves (deadlines, service clocks and
overdue lists are then tested without waiting)."""

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Depends, Request

# The desk's calendar: a deadline of 31 March ends at midnight in Paris; timestamps stay UTC.
PARIS = ZoneInfo("Europe/Paris")


def paris_day(at: datetime) -> date:
    """The calendar day in Paris at that instant (a naive datetime is taken as UTC, as the databases store it)."""
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(PARIS).date()


class Clock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def today(self) -> date:
        return paris_day(self.now())


class FixedClock(Clock):
    """A clock that stands still until moved."""

    def __init__(self, at: datetime):
        self.at = at

    def now(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


class FileClock(Clock):
    """The time a file says (an ISO datetime with its offset), or the wall clock while it is missing or empty:
    end-to-end tests move a running service through a CPO's years this way. Never in production (settings)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def now(self) -> datetime:
        try:
            said = self.path.read_text().strip()
        except FileNotFoundError:
            said = ""
        return datetime.fromisoformat(said) if said else super().now()


def clock_of(clock_file: str | None) -> Clock:
    return FileClock(clock_file) if clock_file else Clock()


def _clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


ClockDep = Annotated[Clock, Depends(_clock)]


def _today(clock: ClockDep) -> date:
    return clock.today()


# A route's calendar day: the app's clock read in Paris.
TodayDep = Annotated[date, Depends(_today)]
