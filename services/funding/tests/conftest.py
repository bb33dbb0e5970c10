"""Fixtures of the funding tests."""

import pytest

from common.clock import FixedClock
from tests.support.world import World


@pytest.fixture
def clock(world: World) -> FixedClock:
    """Funding's clock, at TEST_NOW and moved by the test (every clock is set back before the next test)."""
    clock = world.stack.apps["funding"].state.clock
    assert isinstance(clock, FixedClock)
    return clock
