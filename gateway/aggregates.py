"""Aggregated views: read from the services in parallel, compose, mark what did not arrive. No rule here."""

import asyncio
import uuid
from typing import Any, Literal

import aiohttp
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from common.observability import request_id_var
from common.problems import PROBLEM_MEDIA_TYPE, BadGateway, Text, Unauthorized, problem_responses
from gateway.upstreams import Upstreams

router = APIRouter(tags=["aggregates"])

PartStatus = Literal["ok", "not_found", "forbidden", "unavailable", "timeout"]


class Part(BaseModel):
    status: PartStatus
    http_status: int | None = None
    data: dict[str, Any] | None = None


class DossierOverview(BaseModel):
    dossier: dict[str, Any]
    project_snapshot: dict[str, Any] | None
    project: Part
    organisation: Part


async def _fetch(
    upstreams: Upstreams, service: str, path: str, authorization: str, wait_seconds: float
) -> tuple[Part, Any]:
    """One upstream read, never raising: the part's status says what happened; the raw body comes along."""
    headers = {"authorization": authorization, "x-request-id": request_id_var.get() or ""}
    url = upstreams.base_urls[service] + path
    try:
        async with asyncio.timeout(wait_seconds):
            async with upstreams.session(service).get(url, headers=headers) as response:
                body = await response.json(content_type=None)
                status = response.status
    except TimeoutError:
        return Part(status="timeout"), None
    except (aiohttp.ClientError, ValueError):
        return Part(status="unavailable"), None
    if status == 200 and isinstance(body, dict):
        return Part(status="ok", http_status=status, data=body), body
    if status in (401, 403):
        return Part(status="forbidden", http_status=status), body
    if status == 404:
        return Part(status="not_found", http_status=status), body
    return Part(status="unavailable", http_status=status), body


@router.get(
    "/api/v1/dossiers/{dossier_id}/overview",
    summary="Vue d'ensemble d'un dossier : dossier, projet figé et projet vivant, organisation",
    response_model=DossierOverview,
    responses=problem_responses(401, 403, 404, 422, 502),
    operation_id="dossier_overview",
)
async def dossier_overview(dossier_id: uuid.UUID, request: Request) -> Any:
    """Each part carries its own status: a slow or failing service marks its part, it does not fail the view."""
    authorization = request.headers.get("authorization")
    if not authorization:
        raise Unauthorized(Text("Un jeton d'accès est requis.", "An access token is required."))
    upstreams: Upstreams = request.app.state.upstreams
    timeout = request.app.state.settings.aggregate_timeout_seconds
    dossier, raw = await _fetch(upstreams, "funding", f"/api/v1/dossiers/{dossier_id}", authorization, timeout)
    if dossier.data is None:
        # Without the dossier there is no view: the service's own problem goes back unchanged.
        if dossier.http_status is None or dossier.http_status >= 500 or not isinstance(raw, dict):
            raise BadGateway(
                Text("Le service funding ne répond pas.", "The funding service does not answer."),
                extra={"upstream": "funding"},
            )
        return JSONResponse(raw, status_code=dossier.http_status, media_type=PROBLEM_MEDIA_TYPE)
    data = dossier.data
    (project, _), (organisation, _) = await asyncio.gather(
        _fetch(upstreams, "projects", f"/api/v1/projects/{data['project_id']}", authorization, timeout),
        _fetch(upstreams, "identity", f"/api/v1/organisations/{data['organisation_id']}", authorization, timeout),
    )
    return DossierOverview(
        dossier={k: v for k, v in data.items() if k != "project_snapshot"},
        project_snapshot=data.get("project_snapshot"),
        project=project,
        organisation=organisation,
    )
