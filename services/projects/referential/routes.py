"""Reference lists: QPVs and the contrat de ville's priorities."""

from typing import Annotated

from fastapi import APIRouter, Query

from common.db import SessionDep
from common.pagination import Page
from common.problems import problem_responses
from services.projects.referential import repository
from services.projects.referential.auth import ReferentialRead
from services.projects.referential.schemas import PriorityPublic, QpvCommunePublic, QpvPublic
from services.vocabulary import INSEE_COMMUNE_PATTERN, QPV_DEPARTMENT_PATTERN

router = APIRouter(prefix="/referential", tags=["referential"])


@router.get(
    "/qpv",
    summary="Quartiers prioritaires (QPV)",
    response_model=Page[QpvPublic],
    responses=problem_responses(401, 403, 422),
)
async def list_qpv(
    session: SessionDep,
    _caller: ReferentialRead,
    department: Annotated[
        str | None,
        Query(
            pattern=QPV_DEPARTMENT_PATTERN,
            description="Département sur 3 caractères, comme dans le code QPV : 035, 974, 02A ou 02B pour la Corse.",
            examples=["035"],
        ),
    ] = None,
    q: Annotated[
        str | None,
        Query(min_length=2, max_length=100,
              description="Recherche dans le code, le nom, les communes (nom ou code INSEE) ou l'EPCI."),
    ] = None,
    insee_commune: Annotated[
        str | None,
        Query(pattern=INSEE_COMMUNE_PATTERN, examples=["35238"],
              description="Les QPV d'une commune (code INSEE ; un QPV sur plusieurs communes : n'importe laquelle)."),
    ] = None,
    epci: Annotated[
        str | None,
        Query(min_length=2, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$", examples=["Rennes Métropole"],
              description="Les QPV d'un EPCI, le territoire d'un contrat de ville (son nom exact, sans casse)."),
    ] = None,
    include_retired: Annotated[
        bool,
        Query(description="Inclure les QPV retirés de la liste nationale (`retired: true`), que gardent d'anciens "
                          "projets mais qu'aucun nouveau ne peut choisir."),
    ] = False,
) -> dict:
    """The QPVs, filtered, read by every role and service, each with its communes; the whole reference list fits in
    one page (about 1,600 QPVs nationally). Those a newer national list dropped are left out unless asked for."""
    rows = await repository.qpv_list(
        session, department=department, search=q, insee_commune=insee_commune, epci=epci,
        include_retired=include_retired,
    )
    communes = await repository.communes_of(session, [r.code for r in rows])
    items = [
        QpvPublic(
            **r.model_dump(exclude={"retired_at"}),
            communes=[QpvCommunePublic(insee_code=c.insee_code, name=c.name) for c in communes.get(r.code, [])],
            retired=r.retired_at is not None,
            retired_at=r.retired_at,
        )
        for r in rows
    ]
    return {"items": items, "next_cursor": None}


@router.get(
    "/priorities",
    summary="Priorités (piliers et axes transversaux) du contrat de ville",
    response_model=Page[PriorityPublic],
    responses=problem_responses(401, 403),
)
async def list_priorities(session: SessionDep, _caller: ReferentialRead) -> dict:
    """The contrat de ville's priorities (pillars and cross-cutting axes), in one page; read by every role and
    service."""
    rows = await repository.priority_list(session)
    return {"items": [PriorityPublic.model_validate(r, from_attributes=True) for r in rows], "next_cursor": None}
