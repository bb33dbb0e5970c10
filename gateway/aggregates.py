"""Aggregated views: read from the services in parallel, compose, mark what did not arrive. No rule here."""

import asyncio
import uuid
from typing import Annotated, Any, Literal, Protocol
from urllib.parse import urlencode

import aiohttp
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from common.observability import request_id_var
from common.problems import (
    PROBLEM_MEDIA_TYPE,
    BadGateway,
    NotFound,
    Text,
    Unauthorized,
    UnprocessableContent,
    problem_responses,
)
from gateway.upstreams import Upstreams, upstream_timeout, upstream_unreachable
from services.vocabulary import INSEE_COMMUNE_PATTERN, QPV_CODE_PATTERN

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
    upstreams: Upstreams, service: str, path: str, authorization: str, wait_seconds: float, search: Any = None
) -> tuple[Part, Any]:
    """One upstream read, never raising: the part's status says what happened; the raw body comes along. A
    `search` body makes it a POST (a read whose filter does not fit in an address)."""
    headers = {"authorization": authorization, "x-request-id": request_id_var.get() or ""}
    url = upstreams.base_urls[service] + path
    method = "GET" if search is None else "POST"
    if search is not None:  # the upstream sessions add no Content-Type of their own (the proxy forwards the caller's)
        headers["content-type"] = "application/json"
    try:
        async with asyncio.timeout(wait_seconds):
            async with upstreams.session(service).request(method, url, headers=headers, json=search) as response:
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
    responses=problem_responses(401, 403, 404, 422, 502, 504),
    operation_id="dossier_overview",
)
async def dossier_overview(dossier_id: uuid.UUID, request: Request) -> Any:
    """The dossier as funding gives it, its project (as frozen at submission and as it lives now) and its organisation.
    Whoever may read the dossier (funding decides: its 403 or 404 is answered as is); 401 without a token, 503 when
    funding cannot be reached, 504 when it answers too late. Each other part carries its own status: a slow or failing
    service marks its part, it does not fail the view."""
    read = _reader(request)
    dossier, raw = await read("funding", f"/api/v1/dossiers/{dossier_id}")
    if dossier.data is None:  # without the dossier there is no view
        return _upstream_problem(request, "funding", dossier, raw)
    data = dossier.data
    (project, _), (organisation, _) = await asyncio.gather(
        read("projects", f"/api/v1/projects/{data['project_id']}"),
        read("identity", f"/api/v1/organisations/{data['organisation_id']}"),
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
    indicators: Part = Field(description="Les indicateurs partagés des projets qu'il a soutenus dans l'année, cibles "
                             "et réalisés (projects).")


@router.get(
    "/api/v1/dashboards/funder",
    summary="Tableau de bord d'un financeur : enveloppes, dossiers, délais, répartition, levier, et les indicateurs",
    response_model=FunderDashboard,
    responses=problem_responses(400, 401, 403, 422, 502, 504),
    operation_id="funder_dashboard",
)
async def funder_dashboard(
    request: Request,
    year: Annotated[int, Query(ge=2000, le=2100)],
    funder_id: Annotated[uuid.UUID | None, Query(description="Le guichet nomme le financeur.")] = None,
) -> Any:
    """A funder's year: its people read their own, the desk names the funder (`funder_id`); funding decides and its
    refusal is answered as is (401 without a token, 503 when it cannot be reached, 504 when too late). The figures come
    from funding (without them there is no dashboard); the indicators from projects, marked when they do not arrive."""
    read = _reader(request)
    query = urlencode({"year": year, **({"funder_id": funder_id} if funder_id else {})})
    (figures, raw), (projects, _) = await asyncio.gather(
        read("funding", f"/api/v1/stats/funder?{query}"), read("funding", f"/api/v1/stats/funder/projects?{query}"),
    )
    if figures.data is None:
        return _upstream_problem(request, "funding", figures, raw)
    if projects.data is None:
        indicators = projects  # the projects' list did not arrive: neither can their indicators
    elif not projects.data["project_ids"]:
        indicators = Part(status="ok", data={"items": [], "next_cursor": None})
    else:
        indicators, _ = await read("projects", "/api/v1/indicators/aggregates/search?limit=200",
                                   {"project_ids": projects.data["project_ids"], "year": year})
    return FunderDashboard(year=year, figures=figures.data, indicators=indicators)


class Reader(Protocol):
    async def __call__(self, service: str, path: str, search: Any = None) -> tuple[Part, Any]: ...


def _reader(request: Request) -> Reader:
    """Reads for this request: its caller's token, the gateway's wait; 401 at once without a token."""
    authorization = request.headers.get("authorization")
    if not authorization:
        raise Unauthorized(Text("Un jeton d'accès est requis.", "An access token is required."))
    upstreams: Upstreams = request.app.state.upstreams
    timeout: float = request.app.state.settings.aggregate_timeout_seconds

    async def read(service: str, path: str, search: Any = None) -> tuple[Part, Any]:
        return await _fetch(upstreams, service, path, authorization, timeout, search)

    return read


TerritoryKind = Literal["qpv", "commune", "epci", "all"]


class TerritoryScope(BaseModel):
    kind: TerritoryKind = Field(description="qpv, commune (code INSEE), epci (un contrat de ville) ou all.")
    value: str | None
    qpv_codes: list[str] = Field(description="Les QPV qu'il couvre ; vide pour all.")


class TerritoryDashboard(BaseModel):
    year: int
    scope: TerritoryScope
    figures: dict[str, Any] = Field(description="Les chiffres du territoire (funding : /api/v1/stats/territory).")
    indicators: Part = Field(description="Les indicateurs partagés de ses QPV pour l'année, cibles et réalisés.")


@router.get(
    "/api/v1/dashboards/territory",
    summary="Tableau de bord d'un territoire (un QPV, une commune, un contrat de ville, ou tout) : l'argent par "
    "financeur, parcours et priorité, projets et associations soutenus, indicateurs",
    response_model=TerritoryDashboard,
    responses=problem_responses(400, 401, 403, 404, 422, 502, 504),
    operation_id="territory_dashboard",
)
async def territory_dashboard(
    request: Request,
    year: Annotated[int, Query(ge=2000, le=2100)],
    qpv: Annotated[str | None, Query(pattern=QPV_CODE_PATTERN, description="Un QPV.")] = None,
    insee_commune: Annotated[
        str | None, Query(pattern=INSEE_COMMUNE_PATTERN, description="Les QPV d'une commune (code INSEE).")
    ] = None,
    epci: Annotated[
        str | None,
        Query(min_length=2, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$",
              description="Les QPV d'un EPCI : le territoire d'un contrat de ville (son nom)."),
    ] = None,
) -> Any:
    """One territory at a time (422 for two); 404 `territory_not_found` for a commune or EPCI without a QPV. Who may
    read it is funding's word, answered as is (401 without a token, 503 when a service cannot be reached, 504 when too
    late). The territory's QPVs come from projects' reference list; its figures from funding (without either there is no
    dashboard); its indicators from projects, marked when they do not arrive."""
    read = _reader(request)
    named: list[tuple[TerritoryKind, str | None]] = [("qpv", qpv), ("commune", insee_commune), ("epci", epci)]
    asked = {kind: value for kind, value in named if value}
    if len(asked) > 1:
        raise UnprocessableContent(Text("Un seul territoire à la fois : qpv, insee_commune ou epci.",
                                        "One territory at a time: qpv, insee_commune or epci."))
    kind: TerritoryKind
    value: str | None
    kind, value = next(iter(asked.items()), ("all", None))
    codes: list[str] = [qpv] if qpv else []  # one territory at a time: a QPV asked is the territory
    if kind in ("commune", "epci"):
        # Retired QPVs too: the money granted to them in past years is still the territory's.
        found, raw = await read("projects", "/api/v1/referential/qpv?" + urlencode(
            {"insee_commune" if kind == "commune" else "epci": value, "include_retired": "true"}))
        if found.data is None:
            return _upstream_problem(request, "projects", found, raw)
        codes = [item["code"] for item in found.data["items"]]
        if not codes:
            raise NotFound(Text("Aucun QPV dans ce territoire.", "No QPV in this territory."),
                           code="territory_not_found")
    scope = urlencode({"year": year, "qpv": codes}, doseq=True)
    (figures, raw), (indicators, _) = await asyncio.gather(
        read("funding", f"/api/v1/stats/territory?{scope}"),
        read("projects", f"/api/v1/indicators/aggregates?{scope}&limit=200"),
    )
    if figures.data is None:
        return _upstream_problem(request, "funding", figures, raw)
    return TerritoryDashboard(year=year, scope=TerritoryScope(kind=kind, value=value, qpv_codes=codes),
                              figures=figures.data, indicators=indicators)


class AssociationDashboard(BaseModel):
    home: dict[str, Any] = Field(description="Dossiers par état, ce qui est dû, versements attendus "
                                 "(funding : /api/v1/stats/association).")
    projects: Part = Field(description="Ses projets : la première page de 20 (la suite : /api/v1/projects).")


@router.get(
    "/api/v1/dashboards/association",
    summary="Accueil d'une association : ses projets, ses dossiers par état, ce qu'elle doit faire ensuite (pièces, "
    "comptes rendus, signatures), les versements attendus",
    response_model=AssociationDashboard,
    responses=problem_responses(400, 401, 403, 422, 502, 504),
    operation_id="association_dashboard",
)
async def association_dashboard(
    request: Request,
    organisation_id: Annotated[uuid.UUID | None, Query(description="Le guichet nomme l'association.")] = None,
) -> Any:
    """An association's members read their own home, the desk names the association (`organisation_id`); funding decides
    and its refusal is answered as is (401 without a token, 503 when it cannot be reached, 504 when too late). What the
    association must do comes from funding (without it there is no home); its projects from projects, marked when they
    do not arrive."""
    read = _reader(request)
    named = urlencode({"organisation_id": organisation_id} if organisation_id else {})
    (home, raw), (projects, _) = await asyncio.gather(
        read("funding", f"/api/v1/stats/association?{named}"),
        read("projects", f"/api/v1/projects?limit=20&{named}"),
    )
    if home.data is None:
        return _upstream_problem(request, "funding", home, raw)
    return AssociationDashboard(home=home.data, projects=projects)


def _upstream_problem(request: Request, service: str, part: Part, raw: Any) -> JSONResponse:
    """The service's own problem, unchanged (its 503 with Retry-After too); as the pass-through says, 504 when it did
    not answer in time and 503 when it could not be reached; 502 when it answered something else than a problem."""
    if part.status == "timeout":
        raise upstream_timeout(service, request.app.state.settings)
    if part.http_status is None:
        raise upstream_unreachable(service, request.app.state.settings)
    if (part.http_status >= 500 and part.http_status != 503) or not isinstance(raw, dict):
        raise BadGateway(
            Text(f"Le service {service} ne répond pas.", f"The {service} service does not answer."),
            headers={"Retry-After": str(request.app.state.settings.upstream_retry_after_seconds)},
            extra={"upstream": service},
        )
    return JSONResponse(raw, status_code=part.http_status, media_type=PROBLEM_MEDIA_TYPE)
