"""A seed fund's mid-term learning review, written by the collective and accepted by the desk; its verdict."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from common.auth import Authorize
from common.clock import ClockDep
from common.db import SessionDep
from common.etag import check_if_match, etag_of, if_match_parameter
from common.idempotency import IdempotencyDep
from common.problems import NotFound, problem_responses
from common.tokens import Principal
from services.funding.dossiers import service as dossiers
from services.funding.dossiers import visibility as dossiers_visibility
from services.funding.financial_reports.schemas import ReviewComment
from services.funding.grants.schemas import LearningReviewIn, LearningReviewPublic
from services.funding.seed_fund import learning_reviews, verdicts
from services.funding.seed_fund.schemas import VerdictIn, VerdictOutcome
from services.vocabulary import DESK_ROLES, FUNDER_ROLES, HOLDER_ROLES, Scope

router = APIRouter(prefix="/dossiers", tags=["dossiers"])

Reader = Annotated[
    Principal, Depends(Authorize(roles=DESK_ROLES | FUNDER_ROLES | HOLDER_ROLES, scope=Scope.dossiers_read))
]
Holder = Annotated[Principal, Depends(Authorize(roles=HOLDER_ROLES, scope=Scope.dossiers_write))]
Desk = Annotated[Principal, Depends(Authorize(roles=DESK_ROLES, scope=Scope.dossiers_write))]
MOVE = {
    "response_model": LearningReviewPublic,
    "responses": problem_responses(400, 401, 403, 404, 409, 412, 413, 422),
    "openapi_extra": if_match_parameter(required=False),
}


@router.get(
    "/{dossier_id}/learning-review",
    summary="Le bilan d'apprentissage à mi-parcours d'un projet du fonds d'amorçage",
    response_model=LearningReviewPublic,
    responses=problem_responses(401, 403, 404, 422),
)
async def get_learning_review(
    dossier_id: uuid.UUID, session: SessionDep, caller: Reader, response: Response
) -> LearningReviewPublic:
    dossier = await dossiers_visibility.visible_dossier(session, principal=caller, dossier_id=dossier_id)
    review = await learning_reviews.review_of(session, dossier.id)
    if review is None:
        raise NotFound(learning_reviews.REVIEW_NOT_FOUND)
    response.headers["ETag"] = etag_of(review.version)
    return learning_reviews.to_public(review)


@router.put(
    "/{dossier_id}/learning-review",
    summary=(
        "Écrire le bilan d'apprentissage à mi-parcours (porteur, projet du fonds d'amorçage financé ; If-Match "
        "requis dès qu'il existe)"
    ),
    response_model=LearningReviewPublic,
    responses={
        **problem_responses(400, 401, 403, 404, 409, 412, 413, 422, 428),
        201: {"description": "Premier bilan", "model": LearningReviewPublic},
    },
    openapi_extra=if_match_parameter(required=False),
)
async def write_learning_review(
    dossier_id: uuid.UUID, body: LearningReviewIn, request: Request, response: Response, session: SessionDep,
    caller: Holder,
) -> LearningReviewPublic:
    dossier = await dossiers_visibility.owned_dossier(session, principal=caller, dossier_id=dossier_id)
    current = await learning_reviews.review_of(session, dossier.id, for_update=True)
    check_if_match(request, current.version if current else 0, required=current is not None)
    review, created = await learning_reviews.write(session, dossier=dossier, current=current, request=body)
    await session.flush()
    response.headers["ETag"] = etag_of(review.version)
    if created:
        response.status_code = 201
        response.headers["Location"] = f"/api/v1/dossiers/{dossier.id}/learning-review"
    return learning_reviews.to_public(review)


async def _answer(session: SessionDep, call: IdempotencyDep, review: learning_reviews.LearningReview) -> Response:
    await session.flush()
    public = learning_reviews.to_public(review)
    return await call.respond(session, status_code=200, content=public, headers={"ETag": etag_of(public.version)})


@router.post("/{dossier_id}/learning-review/submit", summary="Déposer le bilan d'apprentissage (porteur)", **MOVE)
async def submit_learning_review(
    dossier_id: uuid.UUID, request: Request, session: SessionDep, caller: Holder, call: IdempotencyDep,
    clock: ClockDep,
) -> Response:
    dossier = await dossiers_visibility.owned_dossier(session, principal=caller, dossier_id=dossier_id)
    current = await learning_reviews.review_of(session, dossier.id, for_update=True)
    check_if_match(request, current.version if current else 0, required=False)
    return await _answer(session, call, learning_reviews.submit(current, clock.now()))


@router.post(
    "/{dossier_id}/learning-review/accept",
    summary="Valider le bilan : les derniers versements des subventions du dossier peuvent devenir dus (guichet)",
    **MOVE,
)
async def accept_learning_review(
    dossier_id: uuid.UUID, request: Request, session: SessionDep, caller: Desk, call: IdempotencyDep,
    clock: ClockDep,
) -> Response:
    dossier = await dossiers.any_dossier(session, dossier_id)
    current = await learning_reviews.review_of(session, dossier.id, for_update=True)
    check_if_match(request, current.version if current else 0, required=False)
    reviewed = await learning_reviews.review(
        session, principal=caller, current=current, now=clock.now(), accepted=True, comment=None
    )
    return await _answer(session, call, reviewed)


@router.post(
    "/{dossier_id}/learning-review/request-changes",
    summary="Demander des compléments au bilan d'apprentissage (guichet)",
    **MOVE,
)
async def request_learning_review_changes(
    dossier_id: uuid.UUID, body: ReviewComment, request: Request, session: SessionDep, caller: Desk,
    call: IdempotencyDep, clock: ClockDep,
) -> Response:
    dossier = await dossiers.any_dossier(session, dossier_id)
    current = await learning_reviews.review_of(session, dossier.id, for_update=True)
    check_if_match(request, current.version if current else 0, required=False)
    reviewed = await learning_reviews.review(
        session, principal=caller, current=current, now=clock.now(), accepted=False, comment=body.comment
    )
    return await _answer(session, call, reviewed)


@router.post(
    "/{dossier_id}/verdict",
    summary=(
        "Rendre le verdict d'un projet du fonds d'amorçage : arrêter, continuer, ou essaimer (un brouillon de "
        "dossier CPO ou appel annuel s'ouvre, pré-rempli, sur le même fil) — guichet"
    ),
    response_model=VerdictOutcome,
    responses=problem_responses(400, 401, 403, 404, 409, 412, 413, 422),
    openapi_extra=if_match_parameter(required=False),
)
async def give_verdict(
    dossier_id: uuid.UUID, body: VerdictIn, request: Request, session: SessionDep, caller: Desk,
    call: IdempotencyDep, clock: ClockDep,
) -> Response:
    """Once the project's mid-term learning review is accepted; once."""
    dossier = await dossiers.any_dossier(session, dossier_id)
    check_if_match(request, dossier.version, required=False)
    outcome = await verdicts.give(session, principal=caller, dossier=dossier, request=body, now=clock.now())
    headers = {"ETag": etag_of(outcome.dossier.version)}
    if outcome.draft is not None:
        headers["Location"] = f"/api/v1/dossiers/{outcome.draft.id}"
    return await call.respond(session, status_code=200, content=outcome, headers=headers)
