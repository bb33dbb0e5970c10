"""The funders' decisions in committee, listed for their systems: a funder reads its own, the desk every funder's
(or one's). The association gets its answer whole, with the committee's notification, never this list."""

import uuid
from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Query

from common.db import SessionDep
from common.pagination import CursorParam, LimitParam, Page, UpdatedSinceParam
from common.problems import problem_responses
from services.funding.committee import decisions
from services.funding.committee.auth import DecisionReader
from services.funding.committee.schemas import DecisionListed, DecisionOutcome
from services.funding.dossiers.filters import DossierFiltersDep
from services.funding.funder_scope import funder_of

router = APIRouter(prefix="/decisions", tags=["sessions"])


@router.get(
    "",
    summary="Décisions des financeurs, en séance et déléguées : les miennes (financeur) ; toutes, ou celles d'un "
    "financeur, pour le guichet",
    description="Une ligne par décision d'un financeur, dans l'ordre de création, paginée par curseur : sur un "
    "point de l'ordre du jour d'une séance (`kind` committee), ou sur un petit projet, décidé hors séance par le "
    "responsable du financeur chef de file (`kind` delegated : sans point ni séance, `final` dès qu'elle est "
    "prise). Tant que la séance est ouverte (`final` faux) la décision peut changer, et le report du point "
    "l'efface. Les filtres valent pour les deux sortes. Un conseil citoyen lit les décisions définitives des "
    "dossiers sur lesquels il a donné son avis, et elles seules (`funder_id` n'y fait que restreindre).",
    response_model=Page[DecisionListed],
    responses=problem_responses(400, 401, 403, 422),
)
async def list_decisions(
    session: SessionDep,
    caller: DecisionReader,
    filters: DossierFiltersDep,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
    funder_id: Annotated[uuid.UUID | None, Query(
        description="Le guichet : un financeur (tous sinon) ; un financeur ne nomme que lui-même (403 sinon).",
    )] = None,
    dossier_id: Annotated[uuid.UUID | None, Query()] = None,
    outcome: Annotated[DecisionOutcome | None, Query(
        description="granted : un montant accordé ; refused : rien d'accordé.",
    )] = None,
    year: Annotated[int | None, Query(ge=2000, le=2100, description="L'année du programme du dossier.")] = None,
    updated_since: UpdatedSinceParam = None,
) -> Page[DecisionListed]:
    """A funder's people and machine clients read their own funder's decisions (naming another funder is a 403);
    the desk reads every funder's, or one's; in session and delegated alike; a citizen council the final ones on
    the dossiers it gave its opinion on. (The operation's description is the
    French text above.)"""
    council = decisions.council_of(caller)
    return await decisions.listed_decisions(
        session, council_id=council,
        # A council's funder_id only narrows what it reads; a funder's is its own, the desk's any.
        funder_id=funder_id if council else funder_of(caller, funder_id, desk_may_take_all=True), dossier_id=dossier_id,
        outcome=outcome, updated_since=updated_since, filters=replace(filters, year=year), limit=limit,
        cursor=cursor,
    )
