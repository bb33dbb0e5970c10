"""A lost database connection (a failover, a terminated backend, a server restarting) is a 503
`database_unavailable` with `Retry-After`, never a 500; a safe read that lost it is run once more on a fresh one.
A pool that had no connection free in time is a 503 `database_busy`, run again never.

A pure ASGI layer, inside the request-context one and outside FastAPI's exception handlers (which let a database
error through to here): it sees the error before anything is rendered. Writes are never run again by the server,
as their commit may have happened: the client retries with its Idempotency-Key. Nothing is run again once the
response has started (a streamed export failing midway): then the error goes on, as any other.
"""

import logging

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from common.db import SAFE_METHODS
from common.problems import ServiceUnavailable, Text, problem_response

log = logging.getLogger("database")
# A failover or a restart takes seconds: what a client is told to wait before trying again.
RETRY_AFTER_SECONDS = 2


class DatabaseUnavailable(ServiceUnavailable):
    code = "database_unavailable"


class DatabaseBusy(ServiceUnavailable):
    """Every pooled connection stayed busy for the pool's timeout: the process is over its capacity for now."""

    code = "database_busy"


def connection_lost(exc: BaseException) -> bool:
    """SQLAlchemy marks an error that came with a dead connection (the dialect's `is_disconnect`) as
    `connection_invalidated`, and has then invalidated the pool's older connections; a connection that cannot
    be opened at all (the server down or refusing) fails before any statement."""
    if not isinstance(exc, DBAPIError):
        return False
    return exc.connection_invalidated or (isinstance(exc, OperationalError) and exc.statement is None)


class ConnectionLossMiddleware:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False
        body: list[Message] = []

        async def watching_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        async def recording_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                body.append(message)
            return message

        safe = scope["method"] in SAFE_METHODS
        try:
            await self.app(scope, recording_receive if safe else receive, watching_send)
            return
        except PoolTimeout as exc:
            # Not run again: under that load a second wait would only double the client's.
            if started:
                raise
            await self._busy(scope, receive, send, exc)
            return
        except Exception as exc:
            if started or not connection_lost(exc):
                raise
            if not safe:
                await self._unavailable(scope, receive, send, exc)
                return
            log.warning("database connection lost during %s %s: read run again", scope["method"], scope["path"])
        replayed = list(body)

        async def replay() -> Message:
            return replayed.pop(0) if replayed else await receive()

        started = False
        try:
            await self.app(scope, replay, watching_send)
        except PoolTimeout as exc:
            if started:
                raise
            await self._busy(scope, receive, send, exc)
        except Exception as exc:
            if started or not connection_lost(exc):
                raise
            await self._unavailable(scope, receive, send, exc)

    async def _busy(self, scope: Scope, receive: Receive, send: Send, exc: Exception) -> None:
        log.warning("no database connection free for %s %s: 503", scope["method"], scope["path"], exc_info=exc)
        problem = DatabaseBusy(
            Text("Le service est momentanément saturé ; réessayez.", "The service is saturated for now; try again."),
            retry_after=RETRY_AFTER_SECONDS,
        )
        await problem_response(Request(scope, receive), problem)(scope, receive, send)

    async def _unavailable(self, scope: Scope, receive: Receive, send: Send, exc: Exception) -> None:
        log.warning("database connection lost during %s %s: 503", scope["method"], scope["path"], exc_info=exc)
        problem = DatabaseUnavailable(
            Text("La base de données est momentanément injoignable ; réessayez.",
                 "The database is unreachable for now; try again."),
            retry_after=RETRY_AFTER_SECONDS,
        )
        await problem_response(Request(scope, receive), problem)(scope, receive, send)
