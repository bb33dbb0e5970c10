"""A CPO's life after the committee: read it, review each year, evaluate it at the end, renew it."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from common.auth import Authorize
from common.clock import ClockDep
from common.db import SessionDep
from common.etag import check_if_match, etag_of, if_match_parameter
from common.idempotency import IdempotencyDep
from common.problems import NotFound, problem_responses
from common.tokens import Principal
from services.funding.cpo import service as cpo
from services.funding.cpo.schemas import CpoPublic, CpoReviewIn, FinalEvaluationIn, RenewalIn
from services.funding.dossiers import cpo_plan
from services.funding.dossiers import service as dossiers
from services.funding.dossiers import visibility as dossiers_visibility
from services.funding.dossiers.schemas import DossierPublic
from services.funding.models.dossier import Dossier
from services.funding.models.programme import Programme
from services.funding.peers import PeersDep
from services.vocabulary import DESK_ROLES, FUNDER_ROLES, HOLDER_ROLES, Role, Scope

router = APIRouter(prefix="/dossiers", tags=["cpo"])

Reader = Annotated[
    Principal, Depends(Authorize(roles=DESK_ROLES | FUNDER_ROLES | HOLDER_ROLES, scope=Scope.dossiers_read))
]
Desk = Annotated[Principal, Depends(Authorize(roles=DESK_ROLES, scope=Scope.dossiers_write))]
Renewer = Annotated[Principal, Depends(Authorize(roles=DESK_ROLES | {Role.holder_admin}, scope=Scope.dossiers_write))]
MOVE: dict[str, Any] = {
    "response_model": CpoPublic,
    "responses": problem_responses(400, 401, 403, 404, 409, 412, 413, 422, 502),
    "openapi_extra": if_match_parameter(required=False),
}


@router.get(
    "/{dossier_id}/cpo",
    summary="La CPO accordée : ses années, sa version en vigueur et les précédentes (avenants), ses revues",
    response_model=CpoPublic,
    responses=problem_responses(401, 403, 404, 422),
)
async def get_cpo(dossier_id: uuid.UUID, session: SessionDep, caller: Reader, response: Response) -> CpoPublic:
    dossier = await dossiers_visibility.visible_dossier(session, principal=caller, dossier_id=dossier_id)
    response.headers["ETag"] = etag_of(dossier.version)
    return await cpo.view(session, dossier)


async def _before_locking(request: Request, caller: Principal, dossier_id: uuid.UUID) -> tuple[Dossier, list[int]]:
    """The dossier and the CPO's years, read before anything is locked: the reports are then asked of projects
    (on SQLite the writer's first statement takes the write lock, which no call to another service may hold)."""
    async with request.app.state.db.reader() as reading:
        dossier = await dossiers_visibility.visible_dossier(reading, principal=caller, dossier_id=dossier_id)
        programme = await reading.get(Programme, dossier.programme_id)
    assert programme is not None  # a foreign key
    return dossier, cpo_plan.years_of(programme, dossier)


async def _locked(request: Request, session: SessionDep, dossier_id: uuid.UUID) -> Dossier:
    dossier = await dossiers.any_dossier(session, dossier_id)
    check_if_match(request, dossier.version, required=False)
    return dossier


async def _answer(session: SessionDep, call: IdempotencyDep, dossier: Dossier, status_code: int = 200) -> Response:
    view = await cpo.view(session, dossier)
    return await call.respond(session, status_code=status_code, content=view,
                              headers={"ETag": etag_of(dossier.version)})


@router.post(
    "/{dossier_id}/cpo/reviews",
    summary="Tenir la revue annuelle (guichet) : poursuivre, avenant, suspendre ou résilier",
    description="La revue d'une année se tient cette année-là, sur le compte rendu financier dû à chaque financeur "
    "et le rapport d'activité de l'année d'avant (409 `reports_missing` qui les nomme ; la première année n'en a "
    "pas). `continue` et `amend` libèrent le solde de l'année et lèvent une suspension ; `amend` change les "
    "montants ou objectifs des années suivantes (nouvelle version, les précédentes gardées) ; `suspend` arrête "
    "les versements ; `terminate` annule ceux qui restent et met fin aux conventions.",
    status_code=201,
    **MOVE,
)
async def record_cpo_review(
    dossier_id: uuid.UUID, body: CpoReviewIn, request: Request, caller: Desk, peers: PeersDep, clock: ClockDep,
    session: SessionDep, call: IdempotencyDep,
) -> Response:
    seen, years = await _before_locking(request, caller, dossier_id)
    # The first year's review has no year before it in the CPO, hence no report to read.
    reviewed = body.year in years and body.year > years[0]
    activity = await peers.activity_report(seen.project_id, str(body.year - 1)) if reviewed else None
    dossier = await _locked(request, session, dossier_id)
    await cpo.review(session, principal=caller, dossier=dossier, request=body, activity=activity, now=clock.now())
    return await _answer(session, call, dossier, 201)


@router.post(
    "/{dossier_id}/cpo/final-evaluation",
    summary="L'évaluation finale de la CPO (guichet) : les objectifs atteints ou non ; les conventions prennent fin",
    description="Après la revue de chaque année et la fin de la dernière, sur ses comptes rendus financiers et son "
    "rapport d'activité, tous les versements faits ou annulés.",
    status_code=201,
    **MOVE,
)
async def evaluate_cpo(
    dossier_id: uuid.UUID, body: FinalEvaluationIn, request: Request, caller: Desk, peers: PeersDep,
    clock: ClockDep, session: SessionDep, call: IdempotencyDep,
) -> Response:
    seen, years = await _before_locking(request, caller, dossier_id)
    activity = await peers.activity_report(seen.project_id, str(years[-1]))
    dossier = await _locked(request, session, dossier_id)
    await cpo.evaluate(session, principal=caller, dossier=dossier, request=body, activity=activity, now=clock.now())
    return await _answer(session, call, dossier, 201)


@router.post(
    "/{dossier_id}/cpo/renewal",
    summary="Renouveler la CPO évaluée : un brouillon de la CPO suivante s'ouvre sur le même fil (guichet ou "
    "administrateur de l'association)",
    status_code=201,
    response_model=DossierPublic,
    responses=problem_responses(400, 401, 403, 404, 409, 412, 413, 422),
    openapi_extra=if_match_parameter(required=False),
)
async def renew_cpo(
    dossier_id: uuid.UUID, body: RenewalIn, request: Request, caller: Renewer, clock: ClockDep, session: SessionDep,
    call: IdempotencyDep,
) -> Response:
    dossier = await dossiers.any_dossier(session, dossier_id)
    if not caller.has_any_role(DESK_ROLES) and dossier.organisation_id != caller.organisation_id:
        raise NotFound(dossiers.DOSSIER_NOT_FOUND)
    check_if_match(request, dossier.version, required=False)
    draft = await cpo.renew(session, principal=caller, dossier=dossier, programme_id=body.programme_id,
                            now=clock.now())
    public = await dossiers.to_public(session, draft)
    return await call.respond(session, status_code=201, content=public, headers={
        "ETag": etag_of(draft.version), "Location": f"/api/v1/dossiers/{draft.id}"})
