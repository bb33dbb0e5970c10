"""Idempotency-Key: the same key and body give the same answer again; another body is 422;
a call still running is 409 with `Retry-After`. The answer is stored and committed in the same transaction as the
change, by the guard itself, so that any failure it sees (the route's or the commit's) frees the key at once.

A reservation is a lease that starts at its `created_at`: a call whose process died without releasing its key is
taken over once the lease is over. Takeover and completion are compare-and-set on `created_at` (the lease's
fencing token): a call still alive past its lease finds its reservation taken and rolls back, never doubling the
change of the call that took it over."""

import hashlib
import logging
import math
from collections.abc import AsyncIterator
from contextlib import suppress
from datetime import datetime, timedelta
from typing import Annotated, Any, cast

from fastapi import Depends, FastAPI, Header, Request
from fastapi.encoders import jsonable_encoder
from sqlalchemy import JSON, Column, Integer, MetaData, String, Table, Text, delete, insert, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from starlette.datastructures import UploadFile
from starlette.responses import JSONResponse, Response

from common.auth import optional_principal
from common.db import Database, SessionDep, UtcDateTime, utcnow
from common.problems import Conflict, UnprocessableContent
from common.problems import Text as Msg
from common.tokens import Principal

# A reservation left behind by a dead process is taken over after this long (ServiceSettings.idempotency_lease_seconds).
DEFAULT_LEASE = timedelta(seconds=15)
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


log = logging.getLogger("idempotency")


class IdempotentCall:
    """Handed to a route; `respond` builds the answer and, under a key, stores it for replays."""

    def __init__(
        self, table: Table | None, principal: str | None, key: str | None, claimed_at: datetime | None = None
    ):
        self.table = table
        self.principal = principal
        self.key = key
        self.claimed_at = claimed_at  # the lease this call holds: the reservation's created_at

    async def respond(
        self, session: Any, *, status_code: int, content: Any, headers: dict[str, str] | None = None
    ) -> JSONResponse:
        headers = headers or {}
        response = JSONResponse(jsonable_encoder(content), status_code=status_code, headers=headers)
        if self.key and self.table is not None:
            # The very bytes sent now are replayed later; only under our own lease (see the module's docstring).
            stored = await session.execute(
                update(self.table)
                .where(*_ours(self.table, self.principal, self.key, self.claimed_at))
                .values(
                    status_code=status_code,
                    response_body=bytes(response.body).decode(),
                    response_headers={k.lower(): v for k, v in headers.items()},
                )
            )
            if cast(CursorResult[Any], stored).rowcount != 1:
                raise _in_progress(1)  # taken over after our lease: the call that took it answers
        return response


def _ours(table: Table, principal: str | None, key: str | None, claimed_at: datetime | None) -> tuple[Any, ...]:
    """The reservation as this call claimed it: still unanswered and still under its lease."""
    return (
        table.c.principal == principal, table.c.key == key, table.c.status_code.is_(None),
        table.c.created_at == claimed_at,
    )


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


def _in_progress(retry_after_seconds: float) -> Conflict:
    return Conflict(
        Msg(
            "Une requête avec cette clé d'idempotence est encore en cours.",
            "A request with this Idempotency-Key is still in progress.",
        ),
        code="idempotency_in_progress",
        headers={"Retry-After": str(max(1, math.ceil(retry_after_seconds)))},
    )


async def _reserve(
    database: Database, table: Table, principal: str, key: str, request_hash: str, lease: timedelta
) -> datetime:
    """Claim the key in its own committed transaction so that concurrent retries see it; the lease's start."""
    for _attempt in range(RESERVE_ATTEMPTS):
        claimed_at = await _claim(database, table, principal, key, request_hash, lease)
        if claimed_at is not None:
            return claimed_at
    raise _in_progress(1)


async def _claim(
    database: Database, table: Table, principal: str, key: str, request_hash: str, lease: timedelta
) -> datetime | None:
    """The lease's start once the key is ours; None when its reservation vanished or changed between our insert
    and our takeover: the call that held it failed and released it (the key is free again), or it answered, or
    another retry took it over, so the caller looks once more, as a fresh attempt (the lookup's `.one()` made that
    race a 500 `NoResultFound`)."""
    # The wall clock, not the app's: a lease measures how long a process has been silent, and a test clock that
    # stands still would keep a dead process's key forever.
    now = utcnow()
    try:
        async with database.transaction() as session:
            await session.execute(
                insert(table).values(principal=principal, key=key, request_hash=request_hash, created_at=now)
            )
        return now
    except IntegrityError:
        pass  # the key is taken: by this very request earlier (a replay), another one, or one that crashed
    async with database.transaction() as session:
        row = (
            await session.execute(select(table).where(table.c.principal == principal, table.c.key == key))
        ).one_or_none()
        if row is None:
            return None
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
        left = lease - (now - row.created_at)
        if left > timedelta(0):
            raise _in_progress(left.total_seconds())
        # Taken over only as it was read: a call that answered or another retry that took it meanwhile wins.
        taken = await session.execute(
            update(table).where(*_ours(table, principal, key, row.created_at)).values(created_at=now)
        )
        return now if cast(CursorResult[Any], taken).rowcount == 1 else None


async def _release(database: Database, table: Table, principal: str, key: str, claimed_at: datetime) -> None:
    """Free the key at once for a retry; a reservation taken over since is another call's and stays."""
    try:
        async with database.transaction() as session:
            await session.execute(delete(table).where(*_ours(table, principal, key, claimed_at)))
    except Exception:
        # The database is away too: the lease frees the key instead; the client gets the first failure.
        log.warning("idempotency key %r not released; its lease will free it", key, exc_info=True)


async def _idempotent_call(
    request: Request,
    session: SessionDep,  # entered first: this guard commits it, and its own commit then finds nothing to do
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
    lease: timedelta = request.app.state.idempotency_lease
    request_hash = _request_hash(request, await _body_fingerprint(request))
    claimed_at = await _reserve(database, table, principal.subject, idempotency_key, request_hash, lease)
    try:
        yield IdempotentCall(table, principal.subject, idempotency_key, claimed_at)
        # Committed here, inside the try, not by SessionDep after this guard has exited: the change and its stored
        # answer commit together, and a commit that fails frees the key below. Still before the answer is sent
        # (scope="function"), so a failed commit is never a 2xx.
        await session.commit()
    except BaseException:
        # The request's own transaction is over: end it before `_release` opens another one. On SQLite it
        # holds the write lock, and `_release` would wait for it until the busy timeout (then a 500). A rollback
        # on a lost connection may fail in turn: the key is released all the same.
        with suppress(Exception):
            await session.rollback()
        await _release(database, table, principal.subject, idempotency_key, claimed_at)
        raise


# The dependency itself, for a dependency that must be solved after it (common.resources.locked_resource).
IDEMPOTENT_CALL = Depends(_idempotent_call, scope="function")
IdempotencyDep = Annotated[IdempotentCall, IDEMPOTENT_CALL]


def install_idempotency(app: FastAPI, table: Table, *, lease: timedelta = DEFAULT_LEASE) -> None:
    app.state.idempotency_table = table
    app.state.idempotency_lease = lease

    @app.exception_handler(IdempotentReplay)
    async def _replay(_request: Request, exc: IdempotentReplay) -> Response:
        return exc.response


