"""The gateway's rate limits and client address, in process with small limits, against a stand-in upstream (a real
HTTP server on loopback that says which X-Forwarded-For it received and serves the signing keys): in memory and on
Redis, per caller and per address, the headers on 200 and 429, a forged X-Forwarded-For, Redis away."""

import asyncio
import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import uvicorn
from limits.aio.storage import RedisStorage

from gateway.app import Gateway
from gateway.settings import GatewaySettings
from services.identity.keys import KeyStore, generate_pem
from tests.support.tokens import claims_for

KEYS = KeyStore.from_pem(generate_pem())
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/5")


async def upstream_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Echoes what the gateway passed on; /.well-known/jwks.json gives the test keys."""
    if scope["type"] != "http":
        return
    size = 0
    while True:
        message = await receive()
        size += len(message.get("body", b""))
        if not message.get("more_body"):
            break
    headers = dict(scope["headers"])
    if scope["path"] == "/.well-known/jwks.json":
        answer: dict[str, Any] = KEYS.jwks()
    else:
        answer = {"x-forwarded-for": headers.get(b"x-forwarded-for", b"").decode(), "received": size,
                  "forwarded": headers.get(b"forwarded", b"").decode()}
    body = json.dumps(answer).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(upstream_app, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the stand-in upstream did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=5)


@pytest.fixture(params=["memory", "redis"])
def storage(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    """(storage URL, key prefix): both stores; Redis is required under CI, as PostgreSQL is."""
    if request.param == "memory":
        yield "memory://", "unused"
        return
    yield from _redis_storage()


@pytest.fixture
def redis_storage() -> Iterator[tuple[str, str]]:
    """Redis alone, for what only Redis does (its scripts, its pipelined path): no in-memory variant to skip."""
    yield from _redis_storage()


def _redis_storage() -> Iterator[tuple[str, str]]:
    """Here a missing Redis is a skip; under CI it is a failure."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but Redis at {REDIS_URL} is unreachable: {exc}")
        pytest.skip(f"Redis at {REDIS_URL} is unreachable")
    prefix = f"test-ratelimit-{uuid.uuid4().hex}"
    yield REDIS_URL, prefix
    keys = list(client.scan_iter(f"{prefix}:*"))
    if keys:
        client.delete(*keys)
    client.close()


def settings_for(
    upstream: str, storage: tuple[str, str] = ("memory://", "unused"), **overrides: Any
) -> GatewaySettings:
    values: dict[str, Any] = {
        "environment": "test", "identity_url": upstream, "projects_url": upstream, "funding_url": upstream,
        "rate_limit_caller": "5/minute", "rate_limit_anonymous": "3/minute", "rate_limit_auth": "2/minute",
        "rate_limit_storage_url": storage[0], "rate_limit_key_prefix": storage[1],
    }
    values.update(overrides)
    return GatewaySettings(**values)


def token(subject: str, kind: str = "user") -> dict[str, str]:
    claims = claims_for(organisation_id=str(uuid.uuid4()), roles=["association_admin"], kind=kind, subject=subject)
    return {"Authorization": f"Bearer {KEYS.sign(claims)}"}


async def calls(settings: GatewaySettings, plan: list[tuple[str, str, str, dict[str, str]]]) -> list[httpx.Response]:
    """Each (address, method, path, headers) through one gateway, in order; then the gateway closes."""
    gateway = Gateway(settings)
    answers = []
    try:
        for address, method, path, headers in plan:
            transport = httpx.ASGITransport(app=gateway, client=(address, 40000))
            async with httpx.AsyncClient(transport=transport, base_url="http://desk.test") as client:
                answers.append(await client.request(method, path, headers=headers))
    finally:
        await gateway.upstreams.close()
        await gateway.limiter.close()
    return answers


def run(settings: GatewaySettings, plan: list[tuple[str, str, str, dict[str, str]]]) -> list[httpx.Response]:
    return asyncio.run(calls(settings, plan))


def problem_of(response: httpx.Response) -> dict[str, Any]:
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    return response.json()


class TestPerCaller:
    def test_a_caller_s_budget_then_429_with_the_headers(self, upstream, storage):
        alice = token("alice")
        answers = run(settings_for(upstream, storage), [("198.51.100.1", "GET", "/api/v1/projects", alice)] * 6)
        assert [a.status_code for a in answers] == [200] * 5 + [429]
        first, refused = answers[0], answers[5]
        assert first.headers["ratelimit-policy"] == '"caller";q=5;w=60'
        assert first.headers["ratelimit"].startswith('"caller";r=4;t=')
        assert answers[4].headers["ratelimit"].startswith('"caller";r=0;')
        body = problem_of(refused)
        assert body["status"] == 429 and body["code"] == "rate_limited"
        assert refused.headers["ratelimit-policy"] == '"caller";q=5;w=60'
        assert refused.headers["ratelimit"].startswith('"caller";r=0;t=')
        retry_after = int(refused.headers["retry-after"])
        assert 1 <= retry_after <= 60
        assert refused.headers["ratelimit"] == f'"caller";r=0;t={retry_after}'

    def test_two_callers_do_not_share_a_budget(self, upstream, storage):
        alice, bob = token("alice"), token("bob")
        plan = [("198.51.100.1", "GET", "/api/v1/projects", alice)] * 5
        plan += [("198.51.100.1", "GET", "/api/v1/projects", bob)]  # same address, another caller
        plan += [("198.51.100.1", "GET", "/api/v1/projects", alice)]
        answers = run(settings_for(upstream, storage), plan)
        assert [a.status_code for a in answers] == [200] * 6 + [429]
        assert answers[5].headers["ratelimit"].startswith('"caller";r=4;')

    def test_a_machine_client_is_counted_apart_from_a_person_of_the_same_subject(self, upstream):
        person, machine = token("same-id"), token("same-id", kind="client")
        answers = run(settings_for(upstream), [("198.51.100.1", "GET", "/api/v1/projects", person)] * 5
                      + [("198.51.100.1", "GET", "/api/v1/projects", machine)])
        assert answers[-1].status_code == 200

    def test_a_caller_with_a_token_is_not_held_by_its_address_s_anonymous_budget(self, upstream):
        plan = [("198.51.100.1", "GET", "/api/v1/projects", {})] * 4
        plan += [("198.51.100.1", "GET", "/api/v1/projects", token("alice"))]
        answers = run(settings_for(upstream), plan)
        assert [a.status_code for a in answers] == [200, 200, 200, 429, 200]


class TestPerAddress:
    def test_anonymous_calls_count_per_address(self, upstream, storage):
        plan = [("198.51.100.1", "GET", "/api/v1/referential/qpv", {})] * 4
        plan += [("198.51.100.2", "GET", "/api/v1/referential/qpv", {})]
        answers = run(settings_for(upstream, storage), plan)
        assert [a.status_code for a in answers] == [200, 200, 200, 429, 200]
        assert answers[0].headers["ratelimit-policy"] == '"anonymous";q=3;w=60'
        assert answers[0].headers["ratelimit"].startswith('"anonymous";r=2;')

    def test_anonymous_writes_to_identity_have_the_stricter_budget(self, upstream, storage):
        plan = [("198.51.100.1", "POST", "/api/v1/auth/token", {})] * 3
        plan += [("198.51.100.1", "POST", "/api/v1/organisations/signup", {})]  # the same budget
        plan += [("198.51.100.1", "GET", "/api/v1/referential/qpv", {})]  # anonymous reads: their own
        answers = run(settings_for(upstream, storage), plan)
        assert [a.status_code for a in answers] == [200, 200, 429, 429, 200]
        assert answers[0].headers["ratelimit-policy"] == '"auth";q=2;w=60'

    def test_an_invalid_token_counts_against_the_address(self, upstream, storage):
        forged = {"Authorization": "Bearer not.a.token"}
        answers = run(settings_for(upstream, storage), [("198.51.100.1", "GET", "/api/v1/projects", forged)] * 4
                      + [("198.51.100.1", "GET", "/api/v1/referential/qpv", {})])
        assert [a.status_code for a in answers] == [401, 401, 401, 429, 429]
        assert answers[0].headers["ratelimit"].startswith('"anonymous";r=2;')

    def test_probes_are_never_limited(self, upstream):
        answers = run(settings_for(upstream), [("198.51.100.1", "GET", "/healthz", {})] * 5)
        assert [a.status_code for a in answers] == [200] * 5
        assert "ratelimit" not in answers[0].headers


class TestClientAddress:
    def test_a_forged_x_forwarded_for_is_dropped_and_the_peer_passed_on(self, upstream):
        forged = {"X-Forwarded-For": "203.0.113.9", "Forwarded": "for=203.0.113.9"}
        answers = run(settings_for(upstream), [("198.51.100.1", "GET", "/api/v1/referential/qpv", forged)])
        assert answers[0].json()["x-forwarded-for"] == "198.51.100.1"
        assert answers[0].json()["forwarded"] == ""

    def test_forging_x_forwarded_for_does_not_buy_a_new_budget(self, upstream):
        plan = [("198.51.100.1", "GET", "/api/v1/referential/qpv", {"X-Forwarded-For": f"203.0.113.{i}"})
                for i in range(4)]
        assert [a.status_code for a in run(settings_for(upstream), plan)] == [200, 200, 200, 429]

    def test_a_trusted_proxy_names_the_client(self, upstream):
        settings = settings_for(upstream, trusted_proxies=["10.0.0.0/8"])
        chain = {"X-Forwarded-For": "203.0.113.9, 192.0.2.7, 10.0.0.3"}  # client-written, then the proxies' own
        plan = [("10.0.0.2", "GET", "/api/v1/referential/qpv", chain)] * 4
        plan += [("10.0.0.2", "GET", "/api/v1/referential/qpv", {"X-Forwarded-For": "192.0.2.8"})]
        answers = run(settings, plan)
        assert answers[0].json()["x-forwarded-for"] == "192.0.2.7"
        assert [a.status_code for a in answers] == [200, 200, 200, 429, 200]

    def test_an_untrusted_peer_s_chain_is_ignored(self, upstream):
        settings = settings_for(upstream, trusted_proxies=["10.0.0.0/8"])
        answers = run(settings, [("198.51.100.1", "GET", "/api/v1/referential/qpv", {"X-Forwarded-For": "10.0.0.3"})])
        assert answers[0].json()["x-forwarded-for"] == "198.51.100.1"


    def test_the_chain_s_lines_are_read_together_and_a_zone_id_stops_the_walk(self, upstream):
        settings = settings_for(upstream, trusted_proxies=["10.0.0.0/8"])
        two_lines = [(b"x-forwarded-for", b"203.0.113.9"), (b"x-forwarded-for", b"192.0.2.7, 10.0.0.3")]
        gateway = Gateway(settings)
        scope = {"client": ("10.0.0.2", 1), "headers": two_lines}
        assert gateway.client_address(scope, dict(two_lines)) == "192.0.2.7"
        zoned = [(b"x-forwarded-for", b"fe80::1%eth0")]
        assert gateway.client_address({"client": ("10.0.0.2", 1), "headers": zoned}, dict(zoned)) == "10.0.0.2"

    def test_an_ipv6_host_is_counted_by_its_64(self, upstream):
        plan = [(f"2001:db8:1:2::{i}", "GET", "/api/v1/referential/qpv", {}) for i in range(1, 5)]
        plan += [("2001:db8:1:3::1", "GET", "/api/v1/referential/qpv", {})]
        answers = run(settings_for(upstream), plan)
        assert [a.status_code for a in answers] == [200, 200, 200, 429, 200]


class TestStorageAway:
    def test_redis_unreachable_lets_requests_pass_and_says_so_once(self, upstream, caplog):
        with socket.socket() as sock:  # a port nobody listens on
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        settings = settings_for(upstream, (f"redis://127.0.0.1:{port}/0", "down"))
        with caplog.at_level(logging.WARNING, logger="gateway.ratelimit"):
            answers = run(settings, [("198.51.100.1", "GET", "/api/v1/referential/qpv", {})] * 5)
        assert [a.status_code for a in answers] == [200] * 5
        assert "ratelimit" not in answers[0].headers
        warnings = [r for r in caplog.records if r.name == "gateway.ratelimit"]
        assert len(warnings) == 1 and "unreachable" in warnings[0].getMessage()


class TestRedisRoundTrip:
    def test_the_pipelined_hit_reads_what_limits_public_api_reads(self, upstream, redis_storage):
        """The one-round-trip path uses limits' keys and scripts: its public API must see the same window."""

        async def scenario() -> tuple[list[int], int]:
            gateway = Gateway(settings_for(upstream, redis_storage))
            limiter = gateway.limiter
            try:
                verdicts = [await limiter.check("caller", "carol") for _ in range(3)]
                remaining = [verdict.headers for verdict in verdicts if verdict is not None]
                stats = await limiter.strategy.get_window_stats(limiter.policies["caller"].item, "caller", "carol")
            finally:
                await limiter.close()
            return [int(h[1][1].decode().split("r=")[1].split(";")[0]) for h in remaining], stats.remaining

        seen, public = asyncio.run(scenario())
        assert seen == [4, 3, 2] and public == 2

    def test_scripts_lost_by_redis_are_loaded_again(self, upstream, redis_storage):
        async def scenario() -> list[bool]:
            gateway = Gateway(settings_for(upstream, redis_storage))
            limiter = gateway.limiter
            try:
                # As if Redis had restarted: the sha the pipeline sends is unknown there (flushing the scripts
                # would touch everyone's Redis).
                assert isinstance(limiter.storage, RedisStorage)
                # The bridge is redis-py's or coredis's, chosen at run time; both keep the script under this name.
                script = limiter.storage.bridge.lua_acquire_sliding_window  # type: ignore[attr-defined]
                script.sha = "0" * 40
                verdicts = [await limiter.check("caller", "dave") for _ in range(2)]
                allowed = [verdict is not None and verdict.allowed for verdict in verdicts]
                assert script.sha != "0" * 40
                return allowed
            finally:
                await limiter.close()

        assert asyncio.run(scenario()) == [True, True]


def test_the_merged_openapi_documents_the_429_and_its_headers_on_every_operation():
    document = json.loads((Path(__file__).resolve().parent.parent / "openapi" / "gateway.json").read_text())
    operations = [(path, method, op) for path, item in document["paths"].items() for method, op in item.items()
                  if method in {"get", "put", "post", "delete", "patch"}]
    assert len(operations) > 100
    for path, method, operation in operations:
        response = operation["responses"]["429"]
        assert "application/problem+json" in response["content"], (method, path)
        assert set(response["headers"]) >= {"Retry-After", "RateLimit", "RateLimit-Policy"}, (method, path)
    # Declared once, beside the other shared headers (ETag).
    assert set(document["components"]["headers"]) >= {"RetryAfter", "RateLimit", "RateLimitPolicy"}
