"""A seed fund's mid-term learning review, written by the collective and accepted by the desk; its verdict."""

from fastapi import APIRouter, Response

from common.clock import ClockDep
from common.db import SessionDep
from common.etag import if_match_parameter
from common.idempotency import IdempotencyDep
from common.problems import problem_responses
from common.resources import answer, move_route, with_etag
from services.funding.financial_reports.schemas import ReviewComment
from services.funding.grants.schemas import LearningReviewIn, LearningReviewPublic
from services.funding.seed_fund import learning_reviews, verdicts
from services.funding.seed_fund.auth import LearningReviewWriter, SeedFundJudge
from services.funding.seed_fund.dependencies import (
    CurrentReview,
    JudgedDossier,
    JudgedReview,
    OwnReview,
    ReturnedReview,
    WritableReview,
)
from services.funding.seed_fund.schemas import VerdictIn, VerdictOutcome

router = APIRouter(prefix="/dossiers", tags=["dossiers"])

MOVE = move_route(LearningReviewPublic)


@router.get(
    "/{dossier_id}/learning-review",
    summary="Le bilan d'apprentissage à mi-parcours d'un projet du fonds d'amorçage",
    response_model=LearningReviewPublic,
    responses=problem_responses(401, 403, 404, 422),
)
async def get_learning_review(review: CurrentReview, response: Response) -> LearningReviewPublic:
    """For whoever may read the dossier, with its ETag; 404 while no review is written."""
    return with_etag(response, learning_reviews.to_public(review))


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
    body: LearningReviewIn, found: WritableReview, response: Response, session: SessionDep,
    caller: LearningReviewWriter,
) -> LearningReviewPublic:
    """The association's members write their funded seed-fund project's review (201 the first time), and rewrite
    it until submitted (If-Match required then: 428 without). Refused (409 `no_learning_review`) on another kind
    of dossier or one not decided, (409 `illegal_transition`) once submitted."""
    dossier, current = found
    review, created = await learning_reviews.write(session, dossier=dossier, current=current, request=body)
    if created:
        response.status_code = 201
        response.headers["Location"] = f"/api/v1/dossiers/{dossier.id}/learning-review"
    return with_etag(response, learning_reviews.to_public(review))


@router.post("/{dossier_id}/learning-review/submit", summary="Déposer le bilan d'apprentissage (porteur)", **MOVE)
async def submit_learning_review(
    found: OwnReview, session: SessionDep, caller: LearningReviewWriter, call: IdempotencyDep, clock: ClockDep
) -> Response:
    """The association's members hand in their review for the desk. Refused (404) while none is written, (409
    `illegal_transition`) once submitted."""
    _, current = found
    return await answer(session, call, learning_reviews.to_public(learning_reviews.submit(current, clock.now())))


@router.post(
    "/{dossier_id}/learning-review/accept",
    summary="Valider le bilan : les derniers versements des subventions du dossier peuvent devenir dus (guichet)",
    **MOVE,
)
async def accept_learning_review(
    found: JudgedReview, session: SessionDep, caller: SeedFundJudge, call: IdempotencyDep, clock: ClockDep
) -> Response:
    """The desk accepts a submitted review: the dossier's instalments that waited for it may fall due. Refused
    (404) while none is written, (409 `illegal_transition`) unless submitted."""
    _, current = found
    reviewed = await learning_reviews.review(
        session, principal=caller, current=current, now=clock.now(), accepted=True, comment=None
    )
    return await answer(session, call, learning_reviews.to_public(reviewed))


@router.post(
    "/{dossier_id}/learning-review/request-changes",
    summary="Demander des compléments au bilan d'apprentissage (guichet)",
    **MOVE,
)
async def request_learning_review_changes(
    body: ReviewComment, found: ReturnedReview, session: SessionDep, caller: SeedFundJudge, call: IdempotencyDep,
    clock: ClockDep,
) -> Response:
    """The desk sends a submitted review back to the association with a comment. Refused (404) while none is
    written, (409 `illegal_transition`) unless submitted."""
    _, current = found
    reviewed = await learning_reviews.review(
        session, principal=caller, current=current, now=clock.now(), accepted=False, comment=body.comment
    )
    return await answer(session, call, learning_reviews.to_public(reviewed))


@router.post(
    "/{dossier_id}/verdict",
    summary=(
        "Rendre le verdict d'un projet du fonds d'amorçage : arrêter, continuer, ou essaimer (un brouillon de "
        "dossier CPO ou appel annuel s'ouvre, pré-rempli, sur le même fil) — guichet"
    ),
    **move_route(VerdictOutcome),
)
async def give_verdict(
    body: VerdictIn, dossier: JudgedDossier, session: SessionDep, caller: SeedFundJudge, call: IdempotencyDep,
    clock: ClockDep,
) -> Response:
    """The desk ends a funded seed-fund project once its mid-term learning review is accepted (409
    `no_verdict_yet` before), and once (409 `verdict_given`): stop, continue, or graduate — a draft dossier then
    opens on the CPO or annual-call programme named (its Location)."""
    outcome = await verdicts.give(session, principal=caller, dossier=dossier, request=body, now=clock.now())
    location = f"/api/v1/dossiers/{outcome.draft.id}" if outcome.draft is not None else None
    return await answer(session, call, outcome, location=location)
