"""A call from one service to another that gets no proper answer, as the caller's client sees it: no connection
or one that broke is 503 `upstream_unavailable` with Retry-After (the peer is away: come back), silence past the
timeout is 504 `upstream_timeout` with Retry-After (the peer may have acted: come back with the same key), a peer
that says it is away (503) is away for us too, any other 5xx or a body that is not JSON is 502."""

import httpx
import pytest

from common.problems import Problem
from common.upstream import ServiceTokenProvider, get_json, post_json


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def client(handler) -> httpx.AsyncClient:  # noqa: ANN001
    return httpx.AsyncClient(transport=httpx.MockTransport(handler), base_url="http://projects.test")


def raising(error: type[httpx.TransportError]):  # noqa: ANN201
    def handler(request: httpx.Request) -> httpx.Response:
        raise error("cut", request=request)
    return handler


@pytest.mark.anyio
@pytest.mark.parametrize(("handler", "status", "code", "retry"), [
    (raising(httpx.ConnectError), 503, "upstream_unavailable", True),
    (raising(httpx.RemoteProtocolError), 503, "upstream_unavailable", True),  # the peer died mid-answer
    (raising(httpx.ReadTimeout), 504, "upstream_timeout", True),
    (raising(httpx.ConnectTimeout), 504, "upstream_timeout", True),
    (lambda request: httpx.Response(503, json={"code": "identity_unavailable"}), 503, "upstream_unavailable", True),
    (lambda request: httpx.Response(500, json={"code": "internal_error"}), 502, "upstream_unavailable", False),
    (lambda request: httpx.Response(200, text="<html>"), 502, "upstream_unavailable", False),
])
@pytest.mark.parametrize("call", ["get", "post"])
async def test_what_our_caller_is_told(handler, status: int, code: str, retry: bool, call: str) -> None:  # noqa: ANN001
    async with client(handler) as http:
        with pytest.raises(Problem) as raised:
            if call == "get":
                await get_json(http, "/api/v1/projects/1", token="t", service="projects")
            else:
                await post_json(http, "/api/v1/documents/pins", {}, token="t", service="projects")
    problem = raised.value
    assert (problem.status, problem.code, problem.extra["upstream"]) == (status, code, "projects")
    assert ("Retry-After" in problem.headers) is retry


@pytest.mark.anyio
async def test_a_peer_answering_4xx_is_the_callers_to_read() -> None:
    async with client(lambda request: httpx.Response(404, json={"code": "not_found"})) as http:
        assert await get_json(http, "/api/v1/projects/1", token="t", service="projects") == (404, {"code": "not_found"})


@pytest.mark.anyio
async def test_identity_away_when_a_service_token_is_asked_is_a_503() -> None:
    async with client(raising(httpx.ConnectError)) as http:
        tokens = ServiceTokenProvider(http, identity_url="http://identity.test", client_id="funding",
                                      client_secret="s", scope="projects:read")
        with pytest.raises(Problem) as raised:
            await tokens.token()
    assert (raised.value.status, raised.value.code) == (503, "upstream_unavailable")
    assert int(raised.value.headers["Retry-After"]) >= 1
