"""The time the services live in: the wall clock, or one a test sets and moves (deadlines, service clocks and
overdue lists are then tested without waiting)."""

from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from fastapi import Depends, Request


class Clock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def today(self) -> date:
        return self.now().date()


class FixedClock(Clock):
    """A clock that stands still until moved."""

    def __init__(self, at: datetime):
        self.at = at

    def now(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


def _clock(request: Request) -> Clock:
    return request.app.state.clock


ClockDep = Annotated[Clock, Depends(_clock)]
