"""A body over GATEWAY_MAX_BODY_BYTES is a 413 problem however it comes: with a Content-Length (refused before
reading) or chunked, with no length said (counted as it arrives, stopped at the limit)."""

import asyncio
from collections.abc import AsyncIterator

import httpx

from gateway.app import Gateway
from tests.test_ratelimit import settings_for, upstream  # noqa: F401 - the stand-in upstream fixture

LIMIT = 64 * 1024


async def chunks(total: int, size: int = 8 * 1024) -> AsyncIterator[bytes]:
    sent = 0
    while sent < total:
        piece = min(size, total - sent)
        sent += piece
        yield b"x" * piece


async def post(base: str, total: int, *, chunked: bool) -> httpx.Response:
    gateway = Gateway(settings_for(base, max_body_bytes=LIMIT, rate_limit_anonymous="1000/minute"))
    try:
        transport = httpx.ASGITransport(app=gateway, client=("198.51.100.1", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://desk.test") as client:
            body = chunks(total) if chunked else b"x" * total
            return await client.post("/api/v1/documents", content=body)
    finally:
        await gateway.upstreams.close()
        await gateway.limiter.close()


def test_a_chunked_body_over_the_limit_is_413_not_502(upstream):  # noqa: F811
    response = asyncio.run(post(upstream, LIMIT * 4, chunked=True))
    assert response.status_code == 413, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "payload_too_large"


def test_a_chunked_body_within_the_limit_reaches_the_service_whole(upstream):  # noqa: F811
    response = asyncio.run(post(upstream, LIMIT - 1, chunked=True))
    assert response.status_code == 200 and response.json()["received"] == LIMIT - 1


def test_a_declared_length_over_the_limit_is_413(upstream):  # noqa: F811
    response = asyncio.run(post(upstream, LIMIT + 1, chunked=False))
    assert response.status_code == 413 and response.json()["code"] == "payload_too_large"
