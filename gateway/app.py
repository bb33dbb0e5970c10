"""The one public door: a raw ASGI pass-through for the services' routes, FastAPI for the gateway's own
(merged OpenAPI, docs, aggregated views, operations)."""

import asyncio
import ipaddress
import logging
import re
import time
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import Message, Receive, Scope, Send

from common.client_address import client_of, networks_of
from common.docs import DOCS_PATHS, docs_router
from common.observability import Metrics
from common.problems import BadGateway, Problem, Text, install_problem_handlers
from common.tokens import JwksKeySource, TokenVerifier
from gateway import aggregates
from gateway.openapi_merge import merge
from gateway.proxy import Proxy, language_of, request_context, send_problem
from gateway.ratelimit import RateLimiter, too_many
from gateway.readiness import Readiness
from gateway.settings import GatewaySettings
from gateway.upstreams import Upstreams, upstream_for

log = logging.getLogger("gateway.access")
# Routes the gateway answers itself, even under a prefix owned by a service.
OWN_PATHS = re.compile(
    rf"^(/api/v1/openapi\.json|{DOCS_PATHS}|/healthz|/readyz|/metrics|/api/v1/dossiers/[^/]+/overview|/api/v1/dashboards/.*)$"
)
# Probes and scrapes of the infrastructure: never rate limited, or a flood would make the desk look dead.
UNLIMITED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


def create_fastapi(settings: GatewaySettings, upstreams: Upstreams, readiness: Readiness) -> FastAPI:
    app = FastAPI(
        title="Guichet unique — gateway",
        version="1.0.0",
        docs_url=None,
        redoc_url=None,
        openapi_url="/gateway/openapi.json",
        openapi_tags=[{"name": "aggregates", "description": "Vues composées par la passerelle à partir des services."}],
        separate_input_output_schemas=False,
    )
    app.state.settings = settings
    app.state.upstreams = upstreams
    app.state.merged_openapi = None
    install_problem_handlers(app)
    app.include_router(aggregates.router)
    app.include_router(docs_router(openapi_url="/api/v1/openapi.json", title="Guichet unique — API"))

    @app.get("/api/v1/openapi.json", include_in_schema=False)
    async def merged_openapi() -> JSONResponse:
        if app.state.merged_openapi is None:
            documents = await asyncio.gather(
                *(_fetch_document(upstreams, service) for service in ("identity", "projects", "funding"))
            )
            app.state.merged_openapi = merge(
                dict(zip(("identity", "projects", "funding"), documents, strict=True)), app.openapi()
            )
        return JSONResponse(app.state.merged_openapi)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> dict[str, Any]:
        """Ready when every service said so at the last look, and that look is recent (gateway/readiness.py):
        answered from the view, never by asking the services now."""
        return readiness.answer()

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> PlainTextResponse:
        return PlainTextResponse(generate_latest(app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app


async def _fetch_document(upstreams: Upstreams, service: str) -> dict[str, Any]:
    try:
        async with upstreams.session(service).get(upstreams.base_urls[service] + "/openapi.json") as response:
            if response.status == 200:
                document: dict[str, Any] = await response.json()
                return document
    except Exception as exc:  # any network failure: say which service, never a 500
        raise BadGateway(
            Text(f"{service} injoignable.", f"{service} unreachable."), extra={"upstream": service}
        ) from exc
    raise BadGateway(Text(f"{service} injoignable.", f"{service} unreachable."), extra={"upstream": service})


class Gateway:
    """The ASGI application served by uvicorn."""

    def __init__(self, settings: GatewaySettings | None = None):
        self.settings = settings or GatewaySettings()
        self.upstreams = Upstreams(self.settings)
        jwks_url = self.upstreams.base_urls["identity"] + "/.well-known/jwks.json"

        async def fetch_jwks() -> dict[str, Any]:
            async with self.upstreams.session("identity").get(jwks_url) as response:
                response.raise_for_status()
                keys: dict[str, Any] = await response.json()
                return keys

        self.verifier = TokenVerifier(
            JwksKeySource(
                fetch_jwks, min_refresh_seconds=self.settings.jwks_min_refresh_seconds,
                refresh_seconds=self.settings.jwks_refresh_seconds,
            ),
            issuer=self.settings.token_issuer,
            audience=self.settings.token_audience,
        )
        self.proxy = Proxy(self.upstreams, self.verifier, max_body_bytes=self.settings.max_body_bytes)
        self.limiter = RateLimiter(self.settings)
        self.trusted_proxies = networks_of(self.settings.trusted_proxies)
        self.metrics = Metrics("gateway")
        self.readiness = Readiness(self.upstreams, self.settings)
        self.app = create_fastapi(self.settings, self.upstreams, self.readiness)
        self.app.state.metrics = self.metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers, request_id = request_context(scope)
        status = {"code": 500}
        limit_headers: list[tuple[bytes, bytes]] = []

        async def send_with_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                if not any(k == b"x-request-id" for k, _ in message.get("headers", [])):
                    message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
                if limit_headers:
                    message["headers"] = [*message["headers"], *limit_headers]
            await send(message)

        path = scope["path"]
        service = None if OWN_PATHS.match(path) else upstream_for(path)
        client = self.client_address(scope, headers)
        try:
            if path not in UNLIMITED_PATHS:
                token_problem: Problem | None = None
                try:
                    principal = await self.proxy.check_token(headers)
                except Problem as refused:  # counted against the address, then refused
                    principal, token_problem = None, refused
                if principal is not None:
                    verdict = await self.limiter.check("caller", f"{principal.kind}:{principal.subject}")
                elif service == "identity" and scope["method"] == "POST":
                    # Identity's anonymous writes are all credential work: logins, sign-ups, resets,
                    # invitation acceptances, verifications.
                    verdict = await self.limiter.check("auth", address_key(client))
                else:
                    verdict = await self.limiter.check("anonymous", address_key(client))
                if verdict is not None:
                    limit_headers = verdict.headers
                    if not verdict.allowed:
                        raise too_many(verdict)
                if token_problem is not None:
                    raise token_problem
            else:
                await self.proxy.check_token(headers)  # a bad token is refused everywhere, as before
            if service is None:
                scope["headers"] = [(k, v) for k, v in scope["headers"] if k != b"x-request-id"] + [
                    (b"x-request-id", request_id.encode())
                ]
                await self.app(scope, receive, send_with_status)
            else:
                await self.proxy.forward(scope, receive, send_with_status, service, request_id, client)
        except Problem as problem:
            if status["code"] == 500:  # nothing sent yet
                await send_problem(
                    send_with_status, problem, path=path, request_id=request_id, lang=language_of(headers)
                )
        finally:
            route = service or "gateway"
            elapsed = time.perf_counter() - started
            self.metrics.requests.labels("gateway", scope["method"], route, str(status["code"])).inc()
            self.metrics.latency.labels("gateway", scope["method"], route).observe(elapsed)
            if log.isEnabledFor(logging.INFO):
                log.info(
                    "request",
                    extra={
                        "fields": {
                            "method": scope["method"],
                            "path": path,
                            "status": status["code"],
                            "upstream": service,
                            "duration_ms": round(elapsed * 1000, 2),
                        }
                    },
                )

    def client_address(self, scope: Scope, headers: dict[bytes, bytes]) -> str:
        """The peer, or the client a trusted proxy names in X-Forwarded-For (common.client_address)."""
        peer = scope["client"][0] if scope.get("client") else None
        lines = [value.decode("latin-1") for name, value in scope["headers"] if name == b"x-forwarded-for"]
        return client_of(peer, lines, self.trusted_proxies) or "unknown"

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                # Identity's keys before the first token, if identity answers soon; the gateway starts either way.
                await self.verifier.keys.start(wait_seconds=self.settings.jwks_startup_wait_seconds)
                self.readiness.start()  # in the server's loop, where the upstream sessions live
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.readiness.stop()
                await self.verifier.keys.stop()
                await self.upstreams.close()
                await self.limiter.close()
                await send({"type": "lifespan.shutdown.complete"})
                return


def address_key(address: str) -> str:
    """The key an address is counted under: an IPv6 host holds a whole /64, so that is what is counted."""
    if ":" not in address:
        return address
    try:
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    except ValueError:
        return address


def create_gateway(settings: GatewaySettings | None = None) -> Gateway:
    return Gateway(settings)
