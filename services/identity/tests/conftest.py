"""Fixtures of identity's own tests, on top of the shared `world` (demo territory, real logins)."""

import pytest

from services.identity.settings import IdentitySettings
from tests.support.stack import Api
from tests.support.world import World


@pytest.fixture
def anonymous(world: World) -> Api:
    """A caller of identity without any token."""
    return world.stack.api("identity")


@pytest.fixture
def identity_settings(world: World) -> IdentitySettings:
    return world.stack.settings["identity"]
