"""The ceiling the benchmarks read funding against: the same two reads as funding's `GET /api/v1/dossiers/{id}` and
`GET /api/v1/dossiers?limit=…`, as little as a Python server can do for them, and nothing else.

Same token check (common.tokens' verifier on identity's JWKS, then the same guard as the routes), same rows of the
same database (funding's settings: FUNDING_DATABASE_URL, FUNDING_DB_SCHEMA, its pool), same JSON body and ETag;
but Starlette without FastAPI's dependencies and models, prebuilt SQLAlchemy Core statements of only the columns
the answer shows (no ORM objects, no session), and orjson writing the answer. The engine is funding's own
(common.db.Database): what it costs to read a JSON column, for one, moves both sides of the ratio alike.
`bench.quick` checks, before it measures, that both answer the same body; so does tests/test_bench.py.

Covers the desk (every dossier), a holder (its association's) and a funder (those routed to it); a citizen
council, which funding asks identity about, gets 404 here (the benchmarks do not read as one).

`python -m uvicorn --factory bench.minimal_app:create_app --port 8013` in funding's environment.
"""

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import httpx
import orjson
from sqlalchemy import Select, bindparam, exists, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from common.app import remote_jwks
from common.auth import Authorize
from common.db import Database
from common.etag import etag_of
from common.pagination import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor, encode_cursor
from common.problems import BadRequest, NotFound, Problem, Text, Unauthorized
from common.tokens import Principal, TokenVerifier, bearer_token
from services.funding.dossiers.schemas import DossierPublic
from services.funding.models.dossier import Dossier, DossierRouting, FundingLine, RoutingState
from services.funding.settings import FundingSettings
from services.vocabulary import COUNCIL_ROLES, DESK_ROLES, FUNDER_ROLES, HOLDER_ROLES, Scope

DOSSIERS = Dossier.__table__  # type: ignore[attr-defined]
LINES = FundingLine.__table__  # type: ignore[attr-defined]
ROUTINGS = DossierRouting.__table__  # type: ignore[attr-defined]
# The route's guard, called as a plain coroutine on the verified caller.
READER = Authorize(roles=HOLDER_ROLES | FUNDER_ROLES | DESK_ROLES | COUNCIL_ROLES, scope=Scope.dossiers_read)
# The body's fields, as funding's model names them: the plan and the computed period are added below.
COLUMNS = [name for name in DossierPublic.model_fields if name != "funding_plan"]
SUPPORT_FIELDS = ("support_message", "support_helper")
JSON_OPTIONS = orjson.OPT_UTC_Z  # pydantic writes a UTC instant with Z


def _readable(statement: Select[Any], who: str) -> Select[Any]:
    """funding's `readable_clause`, one statement per kind of caller: `org` is the caller's organisation."""
    if who == "holder":
        return statement.where(DOSSIERS.c.organisation_id == bindparam("org"))
    if who == "funder":
        return statement.where(exists().where(
            ROUTINGS.c.dossier_id == DOSSIERS.c.id, ROUTINGS.c.funder_id == bindparam("org"),
            ROUTINGS.c.state == RoutingState.routed.value))
    return statement


_BASE = select(*(DOSSIERS.c[name] for name in COLUMNS))
# Built once: one dossier by id, and a first page or a page after a cursor, for each kind of caller.
ONE = {who: _readable(_BASE.where(DOSSIERS.c.id == bindparam("id")), who) for who in ("desk", "holder", "funder")}
_ORDERED = {who: _readable(_BASE, who).order_by(DOSSIERS.c.created_at, DOSSIERS.c.id).limit(bindparam("limit"))
            for who in ("desk", "holder", "funder")}
FIRST_PAGE = _ORDERED
# (created_at, id) after the cursor's, as a row value: the index range starts there (common.pagination.keyset).
AFTER = {who: statement.where(tuple_(DOSSIERS.c.created_at, DOSSIERS.c.id) > tuple_(
    bindparam("after_at", type_=DOSSIERS.c.created_at.type), bindparam("after_id", type_=DOSSIERS.c.id.type)))
    for who, statement in _ORDERED.items()}
PLAN = (select(LINES.c.dossier_id, LINES.c.funder_id, LINES.c.amount_cents, LINES.c.yearly_amounts_cents)
        .where(LINES.c.dossier_id.in_(bindparam("ids", expanding=True))).order_by(LINES.c.position))


def caller_kind(principal: Principal) -> str | None:
    """Which statement reads for the caller (None: a citizen council, not served here)."""
    if principal.has_any_role(DESK_ROLES):
        return "desk"
    if principal.has_any_role(HOLDER_ROLES):
        return "holder"
    if principal.has_any_role(FUNDER_ROLES):
        return "funder"
    return None


def body_of(row: Any, plan: list[dict[str, Any]], who: str) -> dict[str, Any]:
    """The dossier as funding's DossierPublic writes it, for this kind of caller."""
    body = dict(row._mapping)
    body["funding_plan"] = plan
    body["request_period"] = "multi_year" if body["cpo_years"] is not None else "annual"
    if who == "funder":  # the holder's call for help is between it and the desk
        for name in SUPPORT_FIELDS:
            body[name] = None
    return body


async def plans_of(connection: AsyncConnection, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[dict[str, Any]]]:
    plans: dict[uuid.UUID, list[dict[str, Any]]] = {dossier_id: [] for dossier_id in ids}
    for dossier_id, funder_id, amount, years in await connection.execute(PLAN, {"ids": list(ids)}):
        line: dict[str, Any] = {"funder_id": funder_id, "amount_cents": amount}
        if years:  # written only for a CPO, as FundingLinePublic does
            line["yearly_amounts_cents"] = years
        plans[dossier_id].append(line)
    return plans


def problem(exc: Problem) -> Response:
    return Response(orjson.dumps({"status": exc.status, "code": exc.code}), status_code=exc.status,
                    media_type="application/problem+json", headers=exc.headers)


async def reader(request: Request) -> tuple[Principal, str]:
    token = bearer_token(request.headers.get("authorization"))
    if token is None:
        raise Unauthorized(Text("Un jeton d'accès est requis.", "An access token is required."))
    verifier: TokenVerifier = request.app.state.verifier
    principal = await READER(await verifier.verify(token))
    who = caller_kind(principal)
    if who is None:
        raise NotFound(Text("Dossier introuvable.", "Dossier not found."))
    return principal, who


async def get_dossier(request: Request) -> Response:
    try:
        principal, who = await reader(request)
        try:
            dossier_id = uuid.UUID(request.path_params["dossier_id"])
        except ValueError as exc:
            raise NotFound(Text("Dossier introuvable.", "Dossier not found.")) from exc
        database: Database = request.app.state.db
        async with database.engine.connect() as connection:
            row = (await connection.execute(ONE[who], {"id": dossier_id, "org": principal.organisation_id})).first()
            if row is None:
                raise NotFound(Text("Dossier introuvable.", "Dossier not found."))
            plan = (await plans_of(connection, [row.id]))[row.id]
    except Problem as exc:
        return problem(exc)
    return Response(orjson.dumps(body_of(row, plan, who), option=JSON_OPTIONS), media_type="application/json",
                    headers={"ETag": etag_of(row.version)})


def _limit(request: Request) -> int:
    raw = request.query_params.get("limit", str(DEFAULT_LIMIT))
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise BadRequest(Text("Taille de page invalide.", "Invalid page size."))
    return int(raw)


async def list_dossiers(request: Request) -> Response:
    """The first page, or the page after a cursor, in the `full` view; no filters."""
    try:
        principal, who = await reader(request)
        limit = _limit(request)
        cursor = request.query_params.get("cursor")
        values: dict[str, Any] = {"org": principal.organisation_id, "limit": limit + 1}
        database: Database = request.app.state.db
        async with database.engine.connect() as connection:
            if cursor:
                values["after_at"], values["after_id"] = decode_cursor(cursor)
            rows = list(await connection.execute((AFTER if cursor else FIRST_PAGE)[who], values))
            page = rows[:limit]
            plans = await plans_of(connection, [row.id for row in page])
    except Problem as exc:
        return problem(exc)
    next_cursor = encode_cursor(page[-1].created_at, page[-1].id) if len(rows) > limit and page else None
    items = [body_of(row, plans[row.id], who) for row in page]
    return Response(orjson.dumps({"items": items, "next_cursor": next_cursor}, option=JSON_OPTIONS),
                    media_type="application/json")


def create_app(
    settings: FundingSettings | None = None, *, database: Database | None = None,
    verifier: TokenVerifier | None = None,
) -> Starlette:
    """In funding's environment; a test passes the in-process funding's own database and verifier."""
    settings = settings or FundingSettings()
    http: httpx.AsyncClient | None = None
    if verifier is None:
        http = httpx.AsyncClient(timeout=settings.upstream_timeout_seconds)
        keys = remote_jwks(http, settings)
        verifier = TokenVerifier(keys, issuer=settings.token_issuer, audience=settings.token_audience)
    if database is None:
        database = Database(
            settings.database_url, schema=settings.db_schema, pool_size=settings.database_pool_size,
            max_overflow=settings.database_max_overflow, pool_timeout=settings.database_pool_timeout_seconds,
        )

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        if http is not None:
            await verifier.keys.start(wait_seconds=settings.jwks_startup_wait_seconds)
        yield
        if http is not None:
            await verifier.keys.stop()
            await http.aclose()
            await database.dispose()

    app = Starlette(routes=[
        Route("/api/v1/dossiers", list_dossiers, methods=["GET"]),
        Route("/api/v1/dossiers/{dossier_id}", get_dossier, methods=["GET"]),
        Route("/healthz", lambda _request: Response(b'{"status":"ok"}', media_type="application/json")),
    ], lifespan=lifespan)
    app.state.db = database
    app.state.verifier = verifier
    return app
