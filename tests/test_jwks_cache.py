"""Services keep identity's public keys cached, and fetch them again when a token names an unknown kid."""

import pytest

from common.tokens import JwksKeySource
from services.identity.keys import KeyStore, generate_pem


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class FakeIdentity:
    def __init__(self) -> None:
        self.published = [KeyStore.from_pem(generate_pem())]
        self.fetches = 0

    async def jwks(self) -> dict:
        self.fetches += 1
        return {"keys": [k for store in self.published for k in store.jwks()["keys"]]}


@pytest.mark.anyio
async def test_keys_are_fetched_once_then_served_from_the_cache() -> None:
    identity = FakeIdentity()
    source = JwksKeySource(identity.jwks, min_refresh_seconds=0)
    kid = identity.published[0].kid
    assert await source.get(kid) is not None
    assert await source.get(kid) is not None
    assert identity.fetches == 1


@pytest.mark.anyio
async def test_an_unknown_kid_triggers_a_refresh_that_finds_a_rotated_key() -> None:
    identity = FakeIdentity()
    source = JwksKeySource(identity.jwks, min_refresh_seconds=0)
    await source.get(identity.published[0].kid)
    rotated = KeyStore.from_pem(generate_pem())
    identity.published.insert(0, rotated)  # identity starts signing with a new key
    assert await source.get(rotated.kid) is not None
    assert identity.fetches == 2


@pytest.mark.anyio
async def test_unknown_kids_cannot_make_us_hammer_identity() -> None:
    identity = FakeIdentity()
    source = JwksKeySource(identity.jwks, min_refresh_seconds=60)
    await source.get(identity.published[0].kid)
    for attempt in range(5):
        assert await source.get(f"forged-{attempt}") is None
    assert identity.fetches == 1


@pytest.mark.anyio
async def test_an_unreachable_identity_leaves_the_kid_unknown() -> None:
    async def down() -> dict:
        raise OSError("connection refused")

    source = JwksKeySource(down, min_refresh_seconds=0)
    assert await source.get("any") is None
