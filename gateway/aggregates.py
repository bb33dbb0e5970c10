"""Aggregated views: read from the services in parallel, compose, mark what did not arrive. No rule here."""

import asyncio
import uuid
from typing import Annotated, Any, Literal

import aiohttp
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

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
    if dossier.data is None:  # without the dossier there is no view
        return _upstream_problem("funding", dossier, raw)
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


class FunderDashboard(BaseModel):
    year: int
    figures: dict[str, Any] = Field(description="Les chiffres du financeur (funding : /api/v1/stats/funder).")
    indicators: Part = Field(description="Les indicateurs partagés de l'année, cibles et réalisés (projects).")


@router.get(
    "/api/v1/dashboards/funder",
    summary="Tableau de bord d'un financeur : enveloppes, dossiers, délais, répartition, levier, et les indicateurs",
    response_model=FunderDashboard,
    responses=problem_responses(400, 401, 403, 422, 502),
    operation_id="funder_dashboard",
)
async def funder_dashboard(
    request: Request,
    year: Annotated[int, Query(ge=2000, le=2100)],
    funder_id: Annotated[uuid.UUID | None, Query(description="Le guichet nomme le financeur.")] = None,
) -> Any:
    """The figures come from funding (without them there is no dashboard); the indicators from projects, marked
    when they do not arrive."""
    authorization = request.headers.get("authorization")
    if not authorization:
        raise Unauthorized(Text("Un jeton d'accès est requis.", "An access token is required."))
    upstreams: Upstreams = request.app.state.upstreams
    timeout = request.app.state.settings.aggregate_timeout_seconds
    query = f"year={year}" + (f"&funder_id={funder_id}" if funder_id else "")
    (figures, raw), (indicators, _) = await asyncio.gather(
        _fetch(upstreams, "funding", f"/api/v1/stats/funder?{query}", authorization, timeout),
        _fetch(upstreams, "projects", f"/api/v1/indicators/aggregates?year={year}&limit=200", authorization, timeout),
    )
    if figures.data is None:
        return _upstream_problem("funding", figures, raw)
    return FunderDashboard(year=year, figures=figures.data, indicators=indicators)


def _upstream_problem(service: str, part: Part, raw: Any) -> JSONResponse:
    """The service's own problem, unchanged; 502 when it gave none."""
    if part.http_status is None or part.http_status >= 500 or not isinstance(raw, dict):
        raise BadGateway(
            Text(f"Le service {service} ne répond pas.", f"The {service} service does not answer."),
            extra={"upstream": service},
        )
    return JSONResponse(raw, status_code=part.http_status, media_type=PROBLEM_MEDIA_TYPE)
