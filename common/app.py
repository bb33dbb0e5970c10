"""The one way a service app is assembled: problems, request context, tokens, idempotency, ops routes."""

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
from fastapi import APIRouter, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel
from sqlalchemy import Table
from starlette.routing import compile_path

from common.clock import clock_of
from common.connection_loss import ConnectionLossMiddleware
from common.db import Database
from common.docs import docs_router
from common.idempotency import install_idempotency
from common.observability import BodyLimit, Metrics, RequestContextMiddleware
from common.openapi import (
    document_etags,
    document_idempotency,
    document_security,
    document_unavailable,
    keep_example_nulls,
)
from common.ops import router as ops_router
from common.problems import ProblemDetail, install_problem_handlers
from common.settings import ServiceSettings
from common.tokens import JwksKeySource, TokenVerifier

API_PREFIX = "/api/v1"


def operation_id(route: APIRoute) -> str:
    """Stable operationIds: the route function's name."""
    return route.name


def http_client(settings: ServiceSettings, transport: httpx.AsyncBaseTransport | None) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=transport,
        timeout=httpx.Timeout(settings.upstream_timeout_seconds),
        limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
    )


def remote_jwks(http: httpx.AsyncClient, settings: ServiceSettings) -> JwksKeySource:
    url = settings.identity_url.rstrip("/") + "/.well-known/jwks.json"

    async def fetch() -> dict[str, Any]:
        response = await http.get(url)
        response.raise_for_status()
        document: dict[str, Any] = response.json()
        return document

    return JwksKeySource(
        fetch, min_refresh_seconds=settings.jwks_min_refresh_seconds, refresh_seconds=settings.jwks_refresh_seconds
    )


def create_service_app(
    *,
    service: str,
    title: str,
    description: str,
    settings: ServiceSettings,
    database: Database,
    idempotency_table: Table,
    routers: list[APIRouter],
    http: httpx.AsyncClient,
    key_source: JwksKeySource,
    openapi_tags: list[dict[str, str]],
    root_routers: Sequence[APIRouter] = (),
    extra_schemas: Sequence[type[BaseModel]] = (),
    body_limits: Sequence[BodyLimit] = (),
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await key_source.start(wait_seconds=settings.jwks_startup_wait_seconds)
        yield
        await key_source.stop()
        await http.aclose()
        await database.dispose()

    app = FastAPI(
        title=title,
        description=description,
        version="1.0.0",
        openapi_tags=openapi_tags,
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
        separate_input_output_schemas=False,
        # Relative: the service's own address, or the gateway's, which serves the same paths.
        servers=[{"url": "/", "description": f"{service}, ou la passerelle qui sert les mêmes chemins"}],
        docs_url=None,  # common.docs: served from installed files, not a CDN
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.db = database
    app.state.clock = clock_of(settings.clock_file)
    app.state.http = http
    app.state.metrics = Metrics(service)
    app.state.verifier = TokenVerifier(key_source, issuer=settings.token_issuer, audience=settings.token_audience)
    install_problem_handlers(app)
    install_idempotency(app, idempotency_table, lease=timedelta(seconds=settings.idempotency_lease_seconds))
    for router in routers:
        _uuid_segments_only(router)
        app.include_router(router, prefix=API_PREFIX)
    for router in root_routers:
        app.include_router(router)
    app.include_router(ops_router)
    app.include_router(docs_router(openapi_url="/openapi.json", title=title))
    # Inside the request context (its id, metrics and log line see the 503), outside the exception handlers.
    app.add_middleware(ConnectionLossMiddleware)
    app.add_middleware(
        RequestContextMiddleware, service=service, metrics=app.state.metrics, max_body_bytes=settings.max_body_bytes,
        body_limits=body_limits,
    )
    _register_schemas(app, [ProblemDetail, *extra_schemas])
    return app


def _uuid_segments_only(router: APIRouter) -> None:
    """A path parameter typed UUID matches only a UUID. Otherwise `GET /organisations/signup` was taken by
    `GET /organisations/{organisation_id}` (a full match always beats the method-only match of
    `POST /organisations/signup`) and answered 422 "not a UUID" instead of 405 with `Allow: POST`; now a literal
    segment never reaches a parameterised route, and a malformed id names no resource: 404. The routes stay
    written as `{organisation_id}`: their parameters and OpenAPI come from `path_format`, which drops the
    convertor. Idempotent, as the routers are shared by every app built from them."""
    for route in router.routes:
        if not isinstance(route, APIRoute):
            continue
        # Flattened: a load-or-404 dependency (common.resources) declares the route's id for it.
        typed = {field.name for field in _path_params(route.dependant) if field.field_info.annotation is uuid.UUID}
        for name in typed:
            route.path = route.path.replace(f"{{{name}}}", f"{{{name}:uuid}}")
        if typed:
            route.path_regex, route.path_format, route.param_convertors = compile_path(route.path)


def _path_params(dependant: Dependant) -> list[Any]:
    """The path parameters a route declares, its dependencies' included."""
    found = list(dependant.path_params)
    for dependency in dependant.dependencies:
        found += _path_params(dependency)
    return found


def _register_schemas(app: FastAPI, models: Sequence[type[BaseModel]]) -> None:
    """Put models that routes only reference by $ref (problems, hand-written bodies) in components, then what
    every document says the same way (common.openapi: public routes, ETags, examples' nulls)."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = original()
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        for model in models:
            generated = model.model_json_schema(ref_template="#/components/schemas/{model}")
            for name, definition in generated.pop("$defs", {}).items():
                schemas.setdefault(name, definition)
            schemas.setdefault(model.__name__, generated)
        keep_example_nulls(app, schema)
        document_security(schema)
        document_etags(schema)
        document_unavailable(schema)
        document_idempotency(schema)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
