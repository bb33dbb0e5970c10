"""The pass-through waits per route: reads a short while, writes longer, the slow operations (a submission asks
projects and identity before it answers) longest; past it, 504 `upstream_timeout` with Retry-After. A service
that cannot be reached is a 503 with Retry-After. The aggregated views say the same when their main part is late.

The upstreams are stub servers on 127.0.0.1: one hangs until the test lets it go, one answers after a delay
that lies between the read and the slow timeouts."""

import asyncio
import socket
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from aiohttp import web

from gateway.app import Gateway
from gateway.settings import GatewaySettings
from gateway.upstreams import RouteTimeouts
from services.identity.keys import KeyStore, generate_pem
from tests.support.stubs import serve_stub

READ, WRITE, SLOW = 0.2, 0.4, 3.0
DELAY = 0.6  # above the read and write timeouts, well under the slow one
KEYS = KeyStore.from_pem(generate_pem())


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class Desk:
    gateway: Gateway
    released: asyncio.Event

    async def call(self, method: str, path: str, **kwargs: object) -> httpx.Response:
        transport = httpx.ASGITransport(app=self.gateway)
        async with httpx.AsyncClient(transport=transport, base_url="http://desk.test") as client:
            return await client.request(method, path, **kwargs)  # type: ignore[arg-type]


def _closed_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"  # nobody listens once the socket is closed


@pytest.fixture
async def desk() -> AsyncIterator[Desk]:
    released = asyncio.Event()

    async def hang(_request: web.Request) -> web.Response:
        await released.wait()  # never answers while the test runs
        return web.json_response({})

    async def late(_request: web.Request) -> web.Response:
        await asyncio.sleep(DELAY)
        return web.json_response({"late": True})

    async def jwks(_request: web.Request) -> web.Response:
        return web.json_response(KEYS.jwks())

    funding = web.Application()
    funding.router.add_get("/api/v1/dossiers/{id}", hang)
    funding.router.add_get("/api/v1/dossiers/{id}/history", late)
    funding.router.add_post("/api/v1/dossiers/{id}/submit", late)
    funding.router.add_post("/api/v1/dossiers/{id}/withdraw", hang)
    identity = web.Application()
    identity.router.add_get("/.well-known/jwks.json", jwks)
    funding_runner, funding_url = await serve_stub(funding)
    identity_runner, identity_url = await serve_stub(identity)
    gateway = Gateway(GatewaySettings(
        environment="test", identity_url=identity_url, projects_url=_closed_port(), funding_url=funding_url,
        upstream_read_timeout_seconds=READ, upstream_write_timeout_seconds=WRITE, upstream_slow_timeout_seconds=SLOW,
        aggregate_timeout_seconds=READ, upstream_retry_after_seconds=7,
    ))
    yield Desk(gateway, released)
    released.set()
    await gateway.upstreams.close()
    await gateway.limiter.close()
    await funding_runner.cleanup()
    await identity_runner.cleanup()


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["retry-after"] == "7"
    body: dict[str, object] = response.json()
    assert body["code"] == code and body["status"] == status
    return body


def test_each_route_gets_its_timeout() -> None:
    timeouts = RouteTimeouts(GatewaySettings(
        upstream_read_timeout_seconds=READ, upstream_write_timeout_seconds=WRITE, upstream_slow_timeout_seconds=SLOW,
        aggregate_timeout_seconds=READ,
    ))
    dossier = f"/api/v1/dossiers/{uuid.uuid4()}"
    assert {
        (method, path): timeouts.seconds(method, path)
        for method, path in [
            ("GET", dossier), ("HEAD", dossier), ("GET", "/api/v1/dossiers"), ("PATCH", dossier),
            ("POST", f"{dossier}/withdraw"), ("POST", "/api/v1/dossiers"), ("POST", f"{dossier}/submit"),
            ("GET", f"{dossier}/submit"), ("POST", f"{dossier}/admissibility"), ("GET", "/api/v1/exports/scdl"),
            ("POST", "/api/v1/sessions/s1/close"), ("POST", f"{dossier}/submit/more"),
        ]
    } == {
        ("GET", dossier): READ, ("HEAD", dossier): READ, ("GET", "/api/v1/dossiers"): READ,
        ("PATCH", dossier): WRITE, ("POST", f"{dossier}/withdraw"): WRITE,
        ("POST", "/api/v1/dossiers"): SLOW, ("POST", f"{dossier}/submit"): SLOW,
        ("GET", f"{dossier}/submit"): READ,  # the method is part of the operation
        ("POST", f"{dossier}/admissibility"): SLOW, ("GET", "/api/v1/exports/scdl"): SLOW,
        ("POST", "/api/v1/sessions/s1/close"): SLOW,
        ("POST", f"{dossier}/submit/more"): WRITE,  # `*` is one segment, and the path is matched whole
    }


def test_a_slow_operation_is_said_as_method_and_path() -> None:
    with pytest.raises(ValueError, match="METHOD /path"):
        GatewaySettings(upstream_slow_operations=["/api/v1/dossiers/*/submit"])


def test_an_aggregate_waits_no_longer_than_a_read() -> None:
    with pytest.raises(ValueError, match="aggregate_timeout_seconds"):
        GatewaySettings(upstream_read_timeout_seconds=1.0, aggregate_timeout_seconds=2.0)


@pytest.mark.anyio
async def test_a_read_of_a_hanging_service_is_a_504_problem(desk: Desk) -> None:
    response = await desk.call("GET", f"/api/v1/dossiers/{uuid.uuid4()}", headers={"Accept-Language": "en"})
    body = assert_problem(response, 504, "upstream_timeout")
    assert body["upstream"] == "funding" and body["detail"] == "funding did not answer in time."


@pytest.mark.anyio
async def test_a_write_of_a_hanging_service_is_a_504_problem_too(desk: Desk) -> None:
    response = await desk.call("POST", f"/api/v1/dossiers/{uuid.uuid4()}/withdraw")
    assert_problem(response, 504, "upstream_timeout")


@pytest.mark.anyio
async def test_a_submission_waits_longer_than_a_read(desk: Desk) -> None:
    """The same delay is too long for a read and within a submission's wait."""
    dossier = f"/api/v1/dossiers/{uuid.uuid4()}"
    read, submission = await asyncio.gather(desk.call("GET", f"{dossier}/history"),
                                            desk.call("POST", f"{dossier}/submit"))
    assert_problem(read, 504, "upstream_timeout")
    assert submission.status_code == 200 and submission.json() == {"late": True}


@pytest.mark.anyio
async def test_an_unreachable_service_is_a_503_problem(desk: Desk) -> None:
    response = await desk.call("GET", "/api/v1/projects")
    body = assert_problem(response, 503, "upstream_unavailable")
    assert body["upstream"] == "projects"


@pytest.mark.anyio
async def test_an_overview_whose_dossier_is_late_is_a_504_problem(desk: Desk) -> None:
    now = int(time.time())
    token = KEYS.sign({
        "iss": "funding-desk-identity", "aud": "funding-desk", "sub": str(uuid.uuid4()), "iat": now, "nbf": now,
        "exp": now + 300, "jti": uuid.uuid4().hex, "kind": "user", "org": str(uuid.uuid4()),
        "org_kind": "association", "roles": ["holder_admin"], "scope": "",
    })
    response = await desk.call("GET", f"/api/v1/dossiers/{uuid.uuid4()}/overview",
                               headers={"Authorization": f"Bearer {token}"})
    assert_problem(response, 504, "upstream_timeout")
