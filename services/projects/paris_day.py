"""Calendar days are Europe/Paris days (a deadline of 31 March ends at midnight in Paris); timestamps stay UTC.

`ParisToday` is a route's today: the app's injectable clock (`app.state.clock`, which tests set and move) read in
Paris."""

from datetime import date
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Depends

from common.clock import Clock, ClockDep

PARIS = ZoneInfo("Europe/Paris")


def paris_today(clock: Clock) -> date:
    """The day it is in Paris at the clock's instant."""
    return clock.now().astimezone(PARIS).date()


def _today(clock: ClockDep) -> date:
    return paris_today(clock)


ParisToday = Annotated[date, Depends(_today)]
