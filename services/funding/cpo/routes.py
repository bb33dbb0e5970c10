"""A CPO's life after the committee: read it, review each year, evaluate it at the end, renew it."""

from typing import Annotated

from fastapi import APIRouter, Path, Response

from common.clock import ClockDep
from common.db import SessionDep
from common.idempotency import IdempotencyDep
from common.problems import problem_responses
from common.resources import answer, move_route, with_etag
from services.funding.cpo import service as cpo
from services.funding.cpo import year_commitments, yearly_review
from services.funding.cpo.auth import CpoRenewer, CpoReviewer, CpoYearCommitter
from services.funding.cpo.dependencies import (
    CommittedCpo,
    CpoDossier,
    EvaluatedCpo,
    EvaluationActivity,
    RenewalProject,
    RenewedCpo,
    ReviewActivity,
    ReviewedCpo,
)
from services.funding.cpo.schemas import CpoPublic, CpoReviewIn, FinalEvaluationIn, RenewalIn, YearCommitIn
from services.funding.dossiers import service as dossiers
from services.funding.dossiers.schemas import DossierPublic

router = APIRouter(prefix="/dossiers", tags=["cpo"])

MOVE = move_route(CpoPublic, upstream=True)


@router.get(
    "/{dossier_id}/cpo",
    summary="La CPO accordée : ses années, sa version en vigueur et les précédentes (avenants), ses revues",
    response_model=CpoPublic,
    responses=problem_responses(401, 403, 404, 422),
)
async def get_cpo(dossier: CpoDossier, session: SessionDep, response: Response) -> CpoPublic:
    """The CPO of a granted dossier, for whoever may read the dossier (404 otherwise, or when the dossier is no
    granted CPO), with the dossier's ETag."""
    return with_etag(response, await cpo.view(session, dossier))


@router.post(
    "/{dossier_id}/cpo/reviews",
    summary="Tenir la revue annuelle (guichet) : poursuivre, avenant, suspendre ou résilier",
    status_code=201,
    **MOVE,
)
async def record_cpo_review(
    body: CpoReviewIn, dossier: ReviewedCpo, activity: ReviewActivity, caller: CpoReviewer, clock: ClockDep,
    session: SessionDep, call: IdempotencyDep,
) -> Response:
    """The desk holds a year's review in that year, on the financial report owed to each funder and the activity
    report of the year before (409 `reports_missing`, naming them; the first year has none). `continue` and
    `amend` release the year's balance and lift a suspension; `amend` changes the later years' amounts or
    objectives (a new version, the earlier ones kept); `suspend` stops the payments; `terminate` cancels those
    left and ends the agreements. Refused (409 `review_too_early`, `review_out_of_order`, `review_done`,
    `cpo_not_running`, `year_already_paid`); 503 while projects cannot be asked (504 when too slow)."""
    await yearly_review.review(
        session, principal=caller, dossier=dossier, request=body, activity=activity, now=clock.now()
    )
    return await answer(session, call, await cpo.view(session, dossier), status_code=201)


@router.post(
    "/{dossier_id}/cpo/years/{year}/commit",
    summary="Engager une année de la CPO sur l'enveloppe de cette année-là, à son ouverture (financeur : sa part ; "
    "guichet : un financeur ou tous)",
    **MOVE,
)
async def commit_cpo_year(
    year: Annotated[int, Path(ge=2024, le=2100, description="L'année de la CPO à engager.")],
    dossier: CommittedCpo, caller: CpoYearCommitter, clock: ClockDep, session: SessionDep, call: IdempotencyDep,
    body: YearCommitIn | None = None,
) -> Response:
    """Each later year of a CPO is subject to that year's budget vote: from 1 January of the year (409
    `year_not_open` before), its amount is committed on that year's envelope of each funder (the funder's own
    share; the desk's for `funder_id`, or for every funder). 409 `envelope_missing` or `envelope_exceeded` (with
    `year`, `funder_id` and the envelope's balances) when an envelope cannot take it: nothing is committed then.
    A year already committed is left as it is (the same call again answers the same CPO). Its payments wait for
    it (409 `year_not_committed`); the year's review commits it too."""
    await year_commitments.open_year(session, principal=caller, dossier=dossier, year=year,
                                     request=body or YearCommitIn(), now=clock.now())
    return await answer(session, call, await cpo.view(session, dossier))


@router.post(
    "/{dossier_id}/cpo/final-evaluation",
    summary="L'évaluation finale de la CPO (guichet) : les objectifs atteints ou non ; les conventions prennent fin",
    status_code=201,
    **MOVE,
)
async def evaluate_cpo(
    body: FinalEvaluationIn, dossier: EvaluatedCpo, activity: EvaluationActivity, caller: CpoReviewer,
    clock: ClockDep, session: SessionDep, call: IdempotencyDep,
) -> Response:
    """The desk evaluates the CPO after each year's review and the end of the last year, on its financial
    reports and activity report (409 `evaluation_too_early`, `reports_missing`), every payment made or cancelled
    (409 `payments_outstanding`); its agreements then end. 503 while projects cannot be asked (504 when too slow)."""
    await cpo.evaluate(session, principal=caller, dossier=dossier, request=body, activity=activity, now=clock.now())
    return await answer(session, call, await cpo.view(session, dossier), status_code=201)


@router.post(
    "/{dossier_id}/cpo/renewal",
    summary="Renouveler la CPO évaluée : un brouillon de la CPO suivante s'ouvre sur le même fil (guichet ou "
    "administrateur de l'association)",
    status_code=201,
    **move_route(DossierPublic),
)
async def renew_cpo(
    body: RenewalIn, dossier: RenewedCpo, project: RenewalProject, caller: CpoRenewer, clock: ClockDep,
    session: SessionDep, call: IdempotencyDep,
) -> Response:
    """The desk, or the association's admin for its own, opens the next CPO as a draft on an open CPO programme,
    on the same thread (its Location): each funder asked its last year's amount for each year; on `project_id`, the
    association's project for the new years (422 `unknown_project` for another's), else the same project. Refused
    (409 `not_evaluated`) before the final evaluation, (422 `not_a_cpo_programme`) on another programme; 503 while
    projects cannot be asked (504 when too slow)."""
    draft = await cpo.renew(session, principal=caller, dossier=dossier, programme_id=body.programme_id,
                            now=clock.now(), project=project)
    public = await dossiers.to_public(session, draft)
    return await answer(session, call, public, status_code=201, location=f"/api/v1/dossiers/{draft.id}")
