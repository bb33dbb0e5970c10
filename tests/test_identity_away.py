"""A service, or the gateway, started while identity is away answers a valid token 503 `identity_unavailable` with
`Retry-After` (never 401 `invalid_token`, which would send the client to a login that fails too), and takes the
same token once identity answers again; a kid unknown to a key set identity did send stays a 401."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiohttp import web

from gateway.app import Gateway
from gateway.settings import GatewaySettings
from scripts import demo_data
from services.identity.keys import KeyStore, generate_pem
from tests.support.stack import HOSTS, build_apps, problem
from tests.support.stubs import serve_stub
from tests.support.tokens import claims_for
from tests.support.world import HOLDER, World

HOLDER_USER = next(u for u in demo_data.USERS if u.email == HOLDER)


def holder_claims() -> dict[str, Any]:
    return claims_for(organisation_id=str(demo_data.organisation("blosne-avenir").id), roles=["holder_admin"],
                      subject=str(HOLDER_USER.id))


def assert_identity_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert problem(response)["code"] == "identity_unavailable"
    assert int(response.headers["retry-after"]) >= 1


class TestServices:
    def test_a_service_started_without_identity_answers_503_then_takes_the_token(self, world: World) -> None:
        """Projects starts (its lifespan runs) while identity is not mounted: it starts, serves /healthz, answers
        a valid token 503; once identity is mounted, its background refresh fetches the keys."""
        stack = world.stack
        token = KeyStore.from_pem(stack.signing_key_file.read_bytes()).sign(holder_claims())
        apps, transport = build_apps(stack.settings, jwks_min_refresh_seconds=0, jwks_startup_wait_seconds=0.5)
        projects = apps["projects"]
        transport.apps.pop("identity.test")  # identity is away: connection refused
        bearer = {"Authorization": f"Bearer {token}"}

        async def scenario() -> None:
            async with projects.router.lifespan_context(projects), httpx.AsyncClient(
                transport=httpx.ASGITransport(app=projects), base_url=HOSTS["projects"]
            ) as client:
                assert (await client.get("/healthz")).status_code == 200
                assert_identity_unavailable(await client.get("/api/v1/projects", headers=bearer))
                transport.mount(HOSTS["identity"], apps["identity"])
                keys = projects.state.verifier.keys
                for _ in range(100):  # the background tries again every retry_seconds
                    if keys.fresh:
                        break
                    await asyncio.sleep(keys.retry_seconds)
                assert (await client.get("/api/v1/projects", headers=bearer)).status_code == 200
            for app in apps.values():
                await app.state.http.aclose()
                await app.state.db.dispose()

        stack.run(scenario)

    def test_the_next_request_fetches_the_keys_once_identity_is_back(self, world: World) -> None:
        """No lifespan (no background refresh): the request itself tries identity again, as no key set is held."""
        stack = world.stack
        token = KeyStore.from_pem(stack.signing_key_file.read_bytes()).sign(holder_claims())
        apps, transport = build_apps(stack.settings)
        transport.apps.pop("identity.test")
        bearer = {"Authorization": f"Bearer {token}"}

        async def scenario() -> None:
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=apps["funding"]), base_url=HOSTS["funding"]
            ) as client:
                assert_identity_unavailable(await client.get("/api/v1/dossiers", headers=bearer))
                assert_identity_unavailable(await client.get("/api/v1/dossiers", headers=bearer))
                transport.mount(HOSTS["identity"], apps["identity"])
                assert (await client.get("/api/v1/dossiers", headers=bearer)).status_code == 200
            for app in apps.values():
                await app.state.http.aclose()
                await app.state.db.dispose()

        stack.run(scenario)

    def test_an_unknown_kid_with_identity_reachable_stays_401(self, world: World) -> None:
        stranger = KeyStore.from_pem(generate_pem()).sign(holder_claims())
        for service, path in (("projects", "/api/v1/projects"), ("funding", "/api/v1/dossiers")):
            response = world.stack.api(service).get(path, token=stranger)
            assert response.status_code == 401, (service, response.text)
            assert problem(response)["code"] == "invalid_token"


class StubIdentity:
    """Identity's JWKS on 127.0.0.1, answering 503 while `up` is False; projects answers any read."""

    def __init__(self) -> None:
        self.keys = KeyStore.from_pem(generate_pem())
        self.up = False

    async def jwks(self, _request: web.Request) -> web.Response:
        if not self.up:
            return web.json_response({"status": 503}, status=503)
        return web.json_response(self.keys.jwks())


async def _empty_list(_request: web.Request) -> web.Response:
    return web.json_response({"items": [], "next_cursor": None})


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def gateway() -> AsyncIterator[tuple[Gateway, StubIdentity]]:
    stub = StubIdentity()
    identity = web.Application()
    identity.router.add_get("/.well-known/jwks.json", stub.jwks)
    projects = web.Application()
    projects.router.add_get("/api/v1/projects", _empty_list)
    identity_runner, identity_url = await serve_stub(identity)
    projects_runner, projects_url = await serve_stub(projects)
    built = Gateway(GatewaySettings(
        environment="test", identity_url=identity_url, projects_url=projects_url, funding_url=projects_url,
        jwks_min_refresh_seconds=0, jwks_startup_wait_seconds=1,
    ))
    yield built, stub
    await built.verifier.keys.stop()
    await built.upstreams.close()
    await identity_runner.cleanup()
    await projects_runner.cleanup()


async def _start(gateway: Gateway) -> None:
    """The ASGI lifespan's start-up, as uvicorn sends it."""
    messages: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await messages.put({"type": "lifespan.startup"})
    answered: list[dict[str, Any]] = []
    started = asyncio.Event()

    async def send(message: Any) -> None:
        answered.append(message)
        started.set()

    task = asyncio.create_task(gateway({"type": "lifespan"}, messages.get, send))
    await asyncio.wait_for(started.wait(), 10)
    assert answered == [{"type": "lifespan.startup.complete"}]
    task.cancel()


@pytest.mark.anyio
async def test_the_gateway_started_without_identity_answers_503_then_takes_the_token(gateway) -> None:
    built, stub = gateway
    await _start(built)  # identity answers 503: start-up completes all the same
    token = stub.keys.sign(holder_claims())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=built), base_url="http://gw") as client:
        assert (await client.get("/healthz")).status_code == 200
        refused = await client.get("/api/v1/projects", headers={"Authorization": f"Bearer {token}"})
        assert_identity_unavailable(refused)
        stub.up = True
        accepted = await client.get("/api/v1/projects", headers={"Authorization": f"Bearer {token}"})
        assert accepted.status_code == 200, accepted.text
        stranger = KeyStore.from_pem(generate_pem()).sign(holder_claims())
        unknown = await client.get("/api/v1/projects", headers={"Authorization": f"Bearer {stranger}"})
        assert unknown.status_code == 401
        assert problem(unknown)["code"] == "invalid_token"
