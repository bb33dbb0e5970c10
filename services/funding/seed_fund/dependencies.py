"""The learning review (and the dossier) a route works on, loaded or locked for the caller: 404 for what it may
not see, 412 for a stale If-Match."""

import uuid
from typing import Annotated

from fastapi import Depends, Request

from common.db import SessionDep
from common.etag import check_if_match
from common.resources import locked_resource, resource, validated_body
from services.funding.financial_reports.schemas import ReviewComment
from services.funding.grants.schemas import LearningReviewIn
from services.funding.models.agreement import LearningReview
from services.funding.models.dossier import Dossier
from services.funding.seed_fund import learning_reviews, verdicts
from services.funding.seed_fund.auth import LearningReviewReader, LearningReviewWriter, SeedFundJudge
from services.funding.seed_fund.schemas import VerdictIn

ReviewOf = tuple[Dossier, LearningReview | None]

CurrentReview = Annotated[
    LearningReview, resource(learning_reviews.readable_review, path="dossier_id", caller=LearningReviewReader)
]
# A move of the review: If-Match optional, checked against the review's version (0 before there is one).
OwnReview = Annotated[
    ReviewOf,
    locked_resource(learning_reviews.own_review, path="dossier_id", caller=LearningReviewWriter,
                    if_match_required=False, version_of=learning_reviews.version_of),
]
JudgedReview = Annotated[
    ReviewOf,
    locked_resource(learning_reviews.any_review, path="dossier_id", caller=SeedFundJudge, if_match_required=False,
                    version_of=learning_reviews.version_of),
]


ReturnedReview = Annotated[
    ReviewOf,
    locked_resource(learning_reviews.any_review, path="dossier_id", caller=SeedFundJudge, if_match_required=False,
                    version_of=learning_reviews.version_of, before=[validated_body(ReviewComment)]),
]
JudgedDossier = Annotated[
    Dossier,
    locked_resource(verdicts.judged_dossier, path="dossier_id", caller=SeedFundJudge, if_match_required=False,
                    before=[validated_body(VerdictIn)]),
]


async def _writable_review(
    caller: LearningReviewWriter, dossier_id: uuid.UUID, body: LearningReviewIn, request: Request,
    session: SessionDep,
) -> ReviewOf:
    """The caller's own dossier and its review, locked; If-Match is required once the review exists (a rewrite
    would otherwise silently lose another's), and there is no Idempotency-Key (a PUT). `body` is the route's:
    read here, an invalid one answers 422 before anything is locked or compared."""
    found = await learning_reviews.own_review(session, caller, dossier_id)
    check_if_match(request, learning_reviews.version_of(found), required=found[1] is not None)
    return found


WritableReview = Annotated[ReviewOf, Depends(_writable_review)]
