"""Idempotency-Key: the same key and body give the same answer again; another body is 422;
a call still running is 409. The answer is stored in the same transaction as the change."""

import hashlib
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Request
from fastapi.encoders import jsonable_encoder
from sqlalchemy import JSON, Column, Integer, MetaData, String, Table, Text, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from starlette.datastructures import UploadFile
from starlette.responses import JSONResponse, Response

from common.auth import optional_principal
from common.db import Database, SessionDep, UtcDateTime, utcnow
from common.problems import Conflict, UnprocessableContent
from common.problems import Text as Msg
from common.tokens import Principal

# A reservation left behind by a crashed call is taken over after this long.
ABANDONED_AFTER = timedelta(seconds=60)
REPLAYED_HEADERS = ("location", "etag")


def idempotency_table(metadata: MetaData) -> Table:
    return Table(
        "idempotency_keys",
        metadata,
        Column("principal", String(200), primary_key=True),
        Column("key", String(255), primary_key=True),
        Column("request_hash", String(64), nullable=False),
        Column("status_code", Integer, nullable=True),  # NULL while the first call runs
        Column("response_body", Text, nullable=True),
        Column("response_headers", JSON, nullable=True),
        Column("created_at", UtcDateTime, nullable=False),
    )


class IdempotentReplay(Exception):
    def __init__(self, response: Response):
        self.response = response


class IdempotentCall:
    """Handed to a route; `respond` builds the answer and, under a key, stores it for replays."""

    def __init__(self, table: Table | None, principal: str | None, key: str | None):
        self.table = table
        self.principal = principal
        self.key = key

    async def respond(
        self, session: Any, *, status_code: int, content: Any, headers: dict[str, str] | None = None
    ) -> JSONResponse:
        headers = headers or {}
        response = JSONResponse(jsonable_encoder(content), status_code=status_code, headers=headers)
        if self.key and self.table is not None:
            # The very bytes sent now are replayed later.
            await session.execute(
                update(self.table)
                .where(self.table.c.principal == self.principal, self.table.c.key == self.key)
                .values(
                    status_code=status_code,
                    response_body=bytes(response.body).decode(),
                    response_headers={k.lower(): v for k, v in headers.items()},
                )
            )
        return response


def _request_hash(request: Request, body: bytes) -> str:
    digest = hashlib.sha256()
    digest.update(f"{request.method} {request.url.path}\n".encode())
    digest.update(body)
    return digest.hexdigest()


async def _body_fingerprint(request: Request) -> bytes:
    """The request's body, or for a multipart form (parsed, its stream spent, before any dependency runs) a digest
    of its parts: fields and files' bytes, not the boundary a client draws anew on every retry."""
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        return await request.body()
    digest = hashlib.sha256()
    for name, value in (await request.form()).multi_items():
        if isinstance(value, UploadFile):
            digest.update(f"{len(name)}:{name} file {value.filename!r} {value.content_type!r}\n".encode())
            await value.seek(0)
            while chunk := await value.read(1 << 20):
                digest.update(chunk)
            await value.seek(0)
            digest.update(b"\n")
        else:
            digest.update(f"{len(name)}:{name} {len(value)}:{value}\n".encode())
    return digest.hexdigest().encode()


# How many times a call tries to claim a key whose reservation keeps vanishing under it (each time, a first call
# that failed released it between our insert and our lookup); then it answers that the key is busy.
RESERVE_ATTEMPTS = 3


def _in_progress() -> Conflict:
    return Conflict(
        Msg(
            "Une requête avec cette clé d'idempotence est encore en cours.",
            "A request with this Idempotency-Key is still in progress.",
        ),
        code="idempotency_in_progress",
    )


async def _reserve(database: Database, table: Table, principal: str, key: str, request_hash: str) -> None:
    """Claim the key in its own committed transaction so that concurrent retries see it."""
    for _attempt in range(RESERVE_ATTEMPTS):
        if await _claim(database, table, principal, key, request_hash):
            return
    raise _in_progress()


async def _claim(database: Database, table: Table, principal: str, key: str, request_hash: str) -> bool:
    """True once the key is ours; False when its reservation vanished between our insert and our lookup: the
    call that held it failed and released it, so the key is free again and the caller tries once more, as a
    fresh attempt (the lookup's `.one()` made that race a 500 `NoResultFound`)."""
    try:
        async with database.transaction() as session:
            await session.execute(
                insert(table).values(principal=principal, key=key, request_hash=request_hash, created_at=utcnow())
            )
        return True
    except IntegrityError:
        pass  # the key is taken: by this very request earlier (a replay), another one, or one that crashed
    async with database.transaction() as session:
        row = (
            await session.execute(select(table).where(table.c.principal == principal, table.c.key == key))
        ).one_or_none()
        if row is None:
            return False
        if row.request_hash != request_hash:
            raise UnprocessableContent(
                Msg(
                    "Cette clé d'idempotence a déjà servi pour une autre requête.",
                    "This Idempotency-Key was already used with another request.",
                ),
                code="idempotency_key_reused",
            )
        if row.status_code is not None:
            headers = dict(row.response_headers or {})
            headers["idempotent-replayed"] = "true"
            raise IdempotentReplay(
                Response(
                    row.response_body, status_code=row.status_code, headers=headers,
                    media_type="application/json",
                )
            )
        if utcnow() - row.created_at < ABANDONED_AFTER:
            raise _in_progress()
        await session.execute(
            update(table).where(table.c.principal == principal, table.c.key == key).values(created_at=utcnow())
        )
        return True


async def _release(database: Database, table: Table, principal: str, key: str) -> None:
    async with database.transaction() as session:
        await session.execute(
            delete(table).where(table.c.principal == principal, table.c.key == key, table.c.status_code.is_(None))
        )


async def _idempotent_call(
    request: Request,
    session: SessionDep,  # entered first, so this guard exits before the commit
    principal: Annotated[Principal | None, Depends(optional_principal)],
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=255,
            description="Clé unique choisie par le client pour rejouer une requête sans la dupliquer.",
        ),
    ] = None,
) -> AsyncIterator[IdempotentCall]:
    table: Table = request.app.state.idempotency_table
    if idempotency_key is None or principal is None:
        yield IdempotentCall(None, None, None)
        return
    database: Database = request.app.state.db
    request_hash = _request_hash(request, await _body_fingerprint(request))
    await _reserve(database, table, principal.subject, idempotency_key, request_hash)
    try:
        yield IdempotentCall(table, principal.subject, idempotency_key)
    except BaseException:
        # The request's own transaction is over: end it before `_release` opens another one. On SQLite it
        # holds the write lock, and `_release` would wait for it until the busy timeout (then a 500).
        await session.rollback()
        await _release(database, table, principal.subject, idempotency_key)
        raise


# The dependency itself, for a dependency that must be solved after it (common.resources.locked_resource).
IDEMPOTENT_CALL = Depends(_idempotent_call, scope="function")
IdempotencyDep = Annotated[IdempotentCall, IDEMPOTENT_CALL]


def install_idempotency(app: FastAPI, table: Table) -> None:
    app.state.idempotency_table = table

    @app.exception_handler(IdempotentReplay)
    async def _replay(_request: Request, exc: IdempotentReplay) -> Response:
        return exc.response


