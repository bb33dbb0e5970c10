"""Operations routes every service serves: alive, ready (database reachable), metrics."""

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from common.problems import Problem, Text

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="Liveness", operation_id="healthz")
async def healthz() -> dict[str, str]:
    """The process answers: for an orchestrator's liveness probe. Public, reads nothing."""
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness: the database answers", operation_id="readyz")
async def readyz(request: Request) -> dict[str, str]:
    """The service can serve: its database answers a query. Public; 503 `not_ready` while it does not, within
    the readiness timeout even when the database hangs (a probe that waits is worse than one that says no)."""
    settings = request.app.state.settings
    try:
        async with asyncio.timeout(settings.readiness_timeout_seconds):
            async with request.app.state.db.transaction(write=False) as session:
                await session.execute(text("SELECT 1"))
    except Exception as exc:  # TimeoutError included
        raise Problem(
            Text("Base de données injoignable.", "Database unreachable."),
            status=503, code="not_ready", title=Text("Service indisponible", "Service unavailable"),
            headers={"Retry-After": str(settings.readiness_retry_after_seconds)},
        ) from exc
    return {"status": "ready"}


@router.get("/metrics", summary="Prometheus metrics", operation_id="metrics", response_class=PlainTextResponse)
async def metrics(request: Request) -> PlainTextResponse:
    """The service's counters and latency histograms in Prometheus' text format, for a scraper. Public."""
    return PlainTextResponse(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
