"""The overview answers with what arrived: a slow or failing service marks its part, never the whole view.

The upstreams are small stub servers on 127.0.0.1, so that one can be slow and another broken at will.
"""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from aiohttp import web

from gateway.app import Gateway
from gateway.settings import GatewaySettings
from services.identity.keys import KeyStore, generate_pem
from tests.support.stubs import serve_stub


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


DOSSIER_ID = uuid.uuid4()
PROJECT_ID = uuid.uuid4()
ORG_ID = uuid.uuid4()


@pytest.fixture
async def stubs() -> AsyncIterator[tuple[Gateway, str]]:
    keys = KeyStore.from_pem(generate_pem())

    async def jwks(_request: web.Request) -> web.Response:
        return web.json_response(keys.jwks())

    async def broken_organisation(_request: web.Request) -> web.Response:
        return web.json_response({"status": 500}, status=500)

    async def dossier(_request: web.Request) -> web.Response:
        return web.json_response({"id": str(DOSSIER_ID), "project_id": str(PROJECT_ID),
                                  "organisation_id": str(ORG_ID), "reference": "GU-2026-000001",
                                  "project_snapshot": {"title": "figé"}})

    async def funder_figures(_request: web.Request) -> web.Response:
        return web.json_response({"funder_id": str(ORG_ID), "year": 2027})

    async def funder_projects(_request: web.Request) -> web.Response:
        return web.json_response({"funder_id": str(ORG_ID), "year": 2027, "project_ids": [str(PROJECT_ID)]})

    async def search_aggregates(request: web.Request) -> web.Response:
        # As FastAPI reads it: a JSON body is one announced as such.
        if request.content_type != "application/json":
            return web.json_response({"status": 422}, status=422)
        body = await request.json()
        return web.json_response({"items": [{"asked": body}], "next_cursor": None})

    async def slow_project(_request: web.Request) -> web.Response:
        await asyncio.sleep(3)
        return web.json_response({"id": str(PROJECT_ID)})

    identity = web.Application()
    identity.router.add_get("/.well-known/jwks.json", jwks)
    identity.router.add_get("/api/v1/organisations/{id}", broken_organisation)
    funding = web.Application()
    funding.router.add_get("/api/v1/dossiers/{id}", dossier)
    funding.router.add_get("/api/v1/stats/funder", funder_figures)
    funding.router.add_get("/api/v1/stats/funder/projects", funder_projects)
    projects = web.Application()
    projects.router.add_get("/api/v1/projects/{id}", slow_project)
    projects.router.add_post("/api/v1/indicators/aggregates/search", search_aggregates)
    runners = []
    urls = {}
    for name, app in (("identity", identity), ("funding", funding), ("projects", projects)):
        runner, url = await serve_stub(app)
        runners.append(runner)
        urls[name] = url
    gateway = Gateway(GatewaySettings(
        environment="test", identity_url=urls["identity"], projects_url=urls["projects"],
        funding_url=urls["funding"], aggregate_timeout_seconds=0.5,
    ))
    now = int(time.time())
    token = keys.sign({
        "iss": "funding-desk-identity", "aud": "funding-desk", "sub": str(uuid.uuid4()), "iat": now, "nbf": now,
        "exp": now + 300, "jti": uuid.uuid4().hex, "kind": "user", "org": str(ORG_ID),
        "org_kind": "association", "roles": ["holder_admin"], "scope": "",
    })
    yield gateway, token
    await gateway.upstreams.close()
    for runner in runners:
        await runner.cleanup()


@pytest.mark.anyio
async def test_a_slow_and_a_broken_service_mark_their_parts(stubs) -> None:
    gateway, token = stubs
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=gateway), base_url="http://gw") as client:
        response = await client.get(
            f"/api/v1/dossiers/{DOSSIER_ID}/overview", headers={"Authorization": f"Bearer {token}"}
        )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["dossier"]["reference"] == "GU-2026-000001"
    assert body["project_snapshot"] == {"title": "figé"}
    assert body["project"] == {"status": "timeout", "http_status": None, "data": None}
    assert body["organisation"] == {"status": "unavailable", "http_status": 500, "data": None}


@pytest.mark.anyio
async def test_the_funder_dashboard_asks_for_its_projects_indicators_in_a_json_body(stubs) -> None:
    gateway, token = stubs
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=gateway), base_url="http://gw") as client:
        response = await client.get("/api/v1/dashboards/funder", params={"year": 2027},
                                    headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    indicators = response.json()["indicators"]
    assert indicators["status"] == "ok", indicators
    assert indicators["data"]["items"] == [{"asked": {"project_ids": [str(PROJECT_ID)], "year": 2027}}]
