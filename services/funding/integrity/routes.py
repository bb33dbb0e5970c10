"""`GET /integrity`: the desk recomputes one funder's year and reads every difference (service.py's rules)."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from common.auth import Authorize
from common.db import SessionDep
from common.problems import problem_responses
from common.tokens import Principal
from services.funding.integrity import service
from services.funding.integrity.schemas import IntegrityReport
from services.vocabulary import DESK_ROLES, Scope

router = APIRouter(prefix="/integrity", tags=["envelopes"])
DeskAuditor = Annotated[Principal, Depends(Authorize(roles=DESK_ROLES, scope=Scope.envelopes_read))]


@router.get(
    "",
    summary="Contrôle d'intégrité d'un financeur pour une année : registre des enveloppes = décisions (avenants "
    "compris) = subventions = échéanciers, versements ≤ subventions, lignes SCDL = subventions notifiées",
    description="Tout est recalculé à partir des faits ; chaque différence est nommée (`differences`, vide quand "
    "tout concorde). Les enveloppes et subventions sont celles des programmes de l'année ; les lignes SCDL, celles "
    "publiées pour l'année (une CPO publie chaque année son montant). Une lecture : rien n'est écrit.",
    response_model=IntegrityReport,
    responses=problem_responses(400, 401, 403, 422),
)
async def integrity(
    session: SessionDep,
    _caller: DeskAuditor,
    funder_id: Annotated[uuid.UUID, Query(description="Le financeur.")],
    year: Annotated[int, Query(ge=2000, le=2100, description="L'année des programmes et des lignes SCDL.")],
) -> IntegrityReport:
    """The desk's check of one funder's year (services/funding/integrity/service.py lists the rules)."""
    return await service.check(session, funder_id=funder_id, year=year)
