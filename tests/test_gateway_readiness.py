"""The gateway's /readyz answers from what its background probe last saw: a hanging service is named (503
`not_ready`, Retry-After) without /readyz asking anyone; a view gone stale is not trusted; the probe runs from the
server's start. And a service's own /readyz says no in time when its database hangs."""

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web

from common.clock import FixedClock
from gateway.app import Gateway
from gateway.settings import GatewaySettings
from services.projects.app import create_app as create_projects
from services.projects.settings import ProjectsSettings
from tests.support.stubs import serve_stub


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class Services:
    calls: dict[str, int] = field(default_factory=lambda: {"identity": 0, "projects": 0, "funding": 0})
    released: asyncio.Event = field(default_factory=asyncio.Event)
    funding_hangs: bool = True
    each_asked_twice: asyncio.Event = field(default_factory=asyncio.Event)


@pytest.fixture
async def desk() -> AsyncIterator[tuple[Gateway, Services]]:
    services = Services()
    runners, urls = [], {}
    for name in services.calls:
        async def readyz(_request: web.Request, name: str = name) -> web.Response:
            services.calls[name] += 1
            if min(services.calls.values()) >= 2:
                services.each_asked_twice.set()
            if name == "funding" and services.funding_hangs:
                await services.released.wait()
            return web.json_response({"status": "ready"})

        app = web.Application()
        app.router.add_get("/readyz", readyz)
        runner, urls[name] = await serve_stub(app)
        runners.append(runner)
    gateway = Gateway(GatewaySettings(
        environment="test", identity_url=urls["identity"], projects_url=urls["projects"], funding_url=urls["funding"],
        readiness_interval_seconds=0.05, readiness_probe_timeout_seconds=0.2, readiness_max_age_seconds=5.0,
        upstream_retry_after_seconds=3,
    ))
    gateway.readiness.clock = FixedClock(datetime(2026, 12, 7, 18, 0, tzinfo=UTC))
    yield gateway, services
    services.released.set()
    await gateway.readiness.stop()
    await gateway.upstreams.close()
    await gateway.limiter.close()
    for runner in runners:
        await runner.cleanup()


async def readyz(gateway: Gateway) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=gateway), base_url="http://desk.test") as client:
        return await client.get("/readyz")


def not_ready(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["retry-after"] == "3"
    body: dict[str, Any] = response.json()
    assert body["code"] == "not_ready"
    return body


@pytest.mark.anyio
async def test_a_hanging_service_is_named_from_the_view_without_asking_it(desk) -> None:
    gateway, services = desk
    await gateway.readiness.probe()
    asked = dict(services.calls)
    body = not_ready(await readyz(gateway))
    assert services.calls == asked  # /readyz itself called no service
    assert body["failing"] == ["funding"]
    assert body["services"] == {"identity": "ready", "projects": "ready", "funding": "timeout"}
    assert body["checked_at"] == "2026-12-07T18:00:00+00:00"


@pytest.mark.anyio
async def test_ready_once_the_probe_sees_every_service_ready(desk) -> None:
    gateway, services = desk
    services.funding_hangs = False
    await gateway.readiness.probe()
    gateway.readiness.clock.advance(seconds=1)
    response = await readyz(gateway)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "status": "ready", "services": {"identity": "ready", "projects": "ready", "funding": "ready"},
        "checked_at": "2026-12-07T18:00:00+00:00", "age_seconds": 1.0,
    }


@pytest.mark.anyio
async def test_a_service_once_ready_is_named_after_two_failed_looks_in_a_row(desk) -> None:
    gateway, services = desk
    services.funding_hangs = False
    await gateway.readiness.probe()
    services.funding_hangs = True
    await gateway.readiness.probe()  # one late answer (a busy event loop) is not an outage
    once = await readyz(gateway)
    assert once.status_code == 200 and once.json()["services"]["funding"] == "timeout"
    await gateway.readiness.probe()
    body = not_ready(await readyz(gateway))
    assert body["failing"] == ["funding"] and body["services"]["funding"] == "timeout"


@pytest.mark.anyio
async def test_a_stale_view_is_not_trusted(desk) -> None:
    gateway, services = desk
    services.funding_hangs = False
    await gateway.readiness.probe()
    gateway.readiness.clock.advance(seconds=5.5)  # past the max age: the probe is stuck or dead
    body = not_ready(await readyz(gateway))
    assert body["failing"] == ["identity", "projects", "funding"] and body["age_seconds"] == 5.5


@pytest.mark.anyio
async def test_not_ready_before_the_first_look(desk) -> None:
    gateway, services = desk
    body = not_ready(await readyz(gateway))
    assert body["failing"] == ["identity", "projects", "funding"]
    assert services.calls == {"identity": 0, "projects": 0, "funding": 0}


@pytest.mark.anyio
async def test_the_server_start_starts_the_probe_and_its_stop_stops_it(desk) -> None:
    gateway, services = desk
    services.funding_hangs = False
    inbox: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, str]] = asyncio.Queue()

    async def send(message: Any) -> None:
        await outbox.put(message)

    lifespan = asyncio.create_task(gateway({"type": "lifespan"}, inbox.get, send))
    await inbox.put({"type": "lifespan.startup"})
    assert (await outbox.get())["type"] == "lifespan.startup.complete"
    async with asyncio.timeout(5):  # the probe looks again and again, with no /readyz asked
        await services.each_asked_twice.wait()
    assert (await readyz(gateway)).status_code == 200
    await inbox.put({"type": "lifespan.shutdown"})
    assert (await outbox.get())["type"] == "lifespan.shutdown.complete"
    await lifespan
    asked = dict(services.calls)
    await asyncio.sleep(0.15)  # three intervals: a probe still running would have asked again
    assert services.calls == asked


class HangingDatabase:
    """A database that never answers: each session waits forever (a server stopped, a network gone)."""

    @asynccontextmanager
    async def transaction(self, *, write: bool = True) -> AsyncIterator[None]:
        await asyncio.Event().wait()
        yield

    async def dispose(self) -> None:
        pass


@pytest.fixture
def projects(tmp_path: Path) -> Iterator[Any]:
    yield create_projects(ProjectsSettings(
        environment="development", database_url=f"sqlite:///{tmp_path / 'projects.db'}",
        readiness_timeout_seconds=0.1, readiness_retry_after_seconds=4,
    ))


@pytest.mark.anyio
async def test_a_service_whose_database_hangs_says_not_ready_in_time(projects) -> None:
    projects.state.db = HangingDatabase()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=projects), base_url="http://p") as client:
        response = await client.get("/readyz")
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["retry-after"] == "4"
    assert response.json()["code"] == "not_ready"
