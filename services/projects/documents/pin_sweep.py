"""The sweep of lapsed pin reservations: a task of the projects service's lifespan, one short transaction per
pass (a deletion also skips a lapsed reservation by itself, so the sweep only keeps the table and the documents'
pins honest)."""

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress
from typing import Any

from fastapi import FastAPI

from common.clock import Clock
from common.db import Database
from services.projects.documents import pins

log = logging.getLogger("projects.pins")


async def sweep_once(database: Database, clock: Clock) -> int:
    """Delete the reservations lapsed by the clock's now; how many."""
    async with database.transaction() as session:
        return await pins.sweep(session, now=clock.now())


async def _sweep_forever(app: FastAPI, every: float) -> None:
    while True:
        await asyncio.sleep(every)
        try:
            swept = await sweep_once(app.state.db, app.state.clock)
            if swept:
                log.info("%d lapsed pin reservation(s) released", swept)
        except Exception:  # a database away: the next pass tries again
            log.exception("pin sweep failed")


def with_pin_sweep(app: FastAPI, every: float) -> None:
    """Run the sweep every `every` seconds for as long as the app lives (0: never)."""
    inner: Any = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(running: FastAPI) -> AsyncIterator[None]:
        context: AbstractAsyncContextManager[Any] = inner(running)
        async with context:
            task = asyncio.create_task(_sweep_forever(running, every)) if every > 0 else None
            try:
                yield
            finally:
                if task is not None:
                    task.cancel()
                    with suppress(asyncio.CancelledError):
                        await task

    app.router.lifespan_context = lifespan
