"""A seed fund's mid-term learning review: the collective says what it has learnt so far; once the desk accepts
it, the last instalment of each grant (30 % by default) may fall due."""

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from common.db import utcnow
from common.problems import Conflict, NotFound, Text
from common.tokens import Principal
from services.funding.dossiers import service as dossiers_service
from services.funding.dossiers import visibility as dossiers_visibility
from services.funding.grants.schemas import LearningReviewIn, LearningReviewPublic
from services.funding.models.agreement import LearningReview, ReviewState
from services.funding.models.dossier import Dossier, DossierState
from services.funding.models.programme import Track
from services.funding.programmes import repository as programmes_repository
from services.funding.seed_fund import repository

REVIEW_NOT_FOUND = Text("Bilan d'apprentissage introuvable.", "Learning review not found.")


async def readable_review(session: AsyncSession, principal: Principal, dossier_id: uuid.UUID) -> LearningReview:
    """The review of a dossier the caller may read; 404 without the dossier or without a review."""
    dossier = await dossiers_visibility.visible_dossier(session, principal=principal, dossier_id=dossier_id)
    review = await repository.review_of(session, dossier.id)
    if review is None:
        raise NotFound(REVIEW_NOT_FOUND)
    return review


async def own_review(
    session: AsyncSession, principal: Principal, dossier_id: uuid.UUID
) -> tuple[Dossier, LearningReview | None]:
    """The caller's own dossier and its review (None before the first one), both locked for the change."""
    dossier = await dossiers_visibility.owned_dossier(session, principal=principal, dossier_id=dossier_id)
    return dossier, await repository.review_of(session, dossier.id, for_update=True)


async def any_review(
    session: AsyncSession, principal: Principal, dossier_id: uuid.UUID
) -> tuple[Dossier, LearningReview | None]:
    """For the desk: any dossier and its review (None before the first one), both locked for the change."""
    dossier = await dossiers_service.any_dossier(session, dossier_id)
    return dossier, await repository.review_of(session, dossier.id, for_update=True)


def version_of(found: tuple[Dossier, LearningReview | None]) -> int:
    """The version an If-Match names: the review's, 0 before there is one."""
    _, review = found
    return review.version if review is not None else 0


def _refused(action: str, state: str | None) -> Conflict:
    return Conflict(
        Text(f"Action « {action} » impossible sur ce bilan ({state or 'aucun'}).",
             f"Action '{action}' is not allowed on this review ({state or 'none'})."),
        code="illegal_transition",
        extra={"state": state},
    )


async def write(
    session: AsyncSession, *, dossier: Dossier, current: LearningReview | None, request: LearningReviewIn
) -> tuple[LearningReview, bool]:
    """The holder's review of a decided seed-fund dossier, written or rewritten until submitted."""
    programme = await programmes_repository.programme_by_id(session, dossier.programme_id)
    if programme is None or programme.track != Track.seed or dossier.state != DossierState.decided:
        raise Conflict(
            Text("Un bilan d'apprentissage suit un projet du fonds d'amorçage financé.",
                 "A learning review follows a funded seed-fund project."),
            code="no_learning_review",
        )
    if current is not None and current.state not in (ReviewState.draft, ReviewState.changes_requested):
        raise _refused("update", current.state)
    content = request.model_dump()
    if current is not None and all(getattr(current, name) == value for name, value in content.items()):
        return current, False
    if current is None:
        current = LearningReview(dossier_id=dossier.id, organisation_id=dossier.organisation_id, **content)
        session.add(current)
        await session.flush()
        return current, True
    for name, value in content.items():
        setattr(current, name, value)
    _moved(current)
    await session.flush()
    return current, False


def _moved(review: LearningReview) -> None:
    review.version += 1
    review.updated_at = utcnow()


def submit(review: LearningReview | None, now: datetime) -> LearningReview:
    if review is None:
        raise NotFound(REVIEW_NOT_FOUND)
    if review.state not in (ReviewState.draft, ReviewState.changes_requested):
        raise _refused("submit", review.state)
    review.state, review.submitted_at = ReviewState.submitted, now
    _moved(review)
    return review


async def review(
    session: AsyncSession, *, principal: Principal, current: LearningReview | None, now: datetime, accepted: bool,
    comment: str | None,
) -> LearningReview:
    """The desk accepts it (the dossier's last instalments may fall due) or asks for changes."""
    if current is None:
        raise NotFound(REVIEW_NOT_FOUND)
    if current.state != ReviewState.submitted:
        raise _refused("accept" if accepted else "request_changes", current.state)
    current.state = ReviewState.accepted if accepted else ReviewState.changes_requested
    current.reviewed_at, current.reviewed_by, current.review_comment = now, principal.subject, comment
    _moved(current)
    if accepted:
        await repository.release_after_review(session, current.dossier_id, now)
    await session.flush()
    return current


def to_public(review: LearningReview) -> LearningReviewPublic:
    return LearningReviewPublic(**review.model_dump(exclude={"reviewed_by"}))
