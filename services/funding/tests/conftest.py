"""Fixtures of the funding tests."""

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from common.clock import FixedClock
from tests.support.world import World


@pytest.fixture
def clock(world: World) -> Iterator[FixedClock]:
    """Funding's clock, set to now and moved by the test; the wall clock again afterwards."""
    app = world.stack.apps["funding"]
    previous = app.state.clock
    app.state.clock = FixedClock(datetime.now(UTC))
    yield app.state.clock
    app.state.clock = previous
