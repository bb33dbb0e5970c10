"""Services keep identity's public keys cached, fetch them at start-up and in the background, and again when a
token names an unknown kid; while identity is away a kid they cannot check is a 503, never a 401."""

import asyncio

import pytest

from common.tokens import IdentityUnavailable, JwksKeySource
from services.identity.keys import KeyStore, generate_pem


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class FakeIdentity:
    def __init__(self) -> None:
        self.published = [KeyStore.from_pem(generate_pem())]
        self.fetches = 0
        self.up = True

    async def jwks(self) -> dict:
        self.fetches += 1
        if not self.up:
            raise OSError("connection refused")
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
async def test_without_any_key_set_a_kid_is_a_503_not_a_401() -> None:
    identity = FakeIdentity()
    identity.up = False
    source = JwksKeySource(identity.jwks, min_refresh_seconds=10)
    with pytest.raises(IdentityUnavailable) as refused:
        await source.get(identity.published[0].kid)
    assert refused.value.status == 503
    assert refused.value.headers["Retry-After"] == "10"
    identity.up = True  # no key set held yet: the next token tries again at once
    assert await source.get(identity.published[0].kid) is not None


@pytest.mark.anyio
async def test_an_unknown_kid_while_identity_is_away_is_a_503_and_known_ones_still_pass() -> None:
    identity = FakeIdentity()
    source = JwksKeySource(identity.jwks, min_refresh_seconds=0)
    known = identity.published[0].kid
    await source.get(known)
    identity.up = False
    with pytest.raises(IdentityUnavailable):
        await source.get("rotated-meanwhile")  # perhaps identity's new key: nobody can tell now
    assert await source.get(known) is not None
    assert not source.fresh


@pytest.mark.anyio
async def test_an_unknown_kid_refused_by_a_fetched_key_set_stays_unknown() -> None:
    identity = FakeIdentity()
    source = JwksKeySource(identity.jwks, min_refresh_seconds=0)
    assert await source.get("forged") is None
    assert source.fresh


@pytest.mark.anyio
async def test_tokens_waiting_on_a_hanging_identity_share_one_attempt() -> None:
    release = asyncio.Event()
    fetches = []

    async def hanging() -> dict:
        fetches.append(1)
        await release.wait()
        raise OSError("timed out")

    source = JwksKeySource(hanging, min_refresh_seconds=0)
    waiting = [asyncio.create_task(source.get("k")) for _ in range(5)]
    await asyncio.sleep(0)
    release.set()
    results = await asyncio.gather(*waiting, return_exceptions=True)
    assert all(isinstance(result, IdentityUnavailable) for result in results)
    assert len(fetches) == 1


@pytest.mark.anyio
async def test_start_does_not_wait_for_an_absent_identity_and_the_background_picks_the_keys_up() -> None:
    identity = FakeIdentity()
    identity.up = False
    source = JwksKeySource(identity.jwks, min_refresh_seconds=0, refresh_seconds=60)
    await source.start(wait_seconds=5)  # the first attempt failed: start returns at once
    assert not source.fresh
    identity.up = True
    for _ in range(100):  # the background tries again every retry_seconds
        if source.fresh:
            break
        await asyncio.sleep(source.retry_seconds)
    await source.stop()
    assert source.fresh
    fetches = identity.fetches
    assert await source.get(identity.published[0].kid) is not None
    assert identity.fetches == fetches  # from the background's fetch, not the request's


@pytest.mark.anyio
async def test_start_waits_no_longer_than_told_for_a_hanging_identity() -> None:
    never = asyncio.Event()

    async def hanging() -> dict:
        await never.wait()
        return {}

    source = JwksKeySource(hanging)
    await source.start(wait_seconds=0.01)
    assert not source.fresh
    await source.stop()
