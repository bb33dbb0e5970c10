"""A seed fund's mid-term learning review: the collective says what it has learnt so far; once the desk accepts
it, the last instalment of each grant (30 % by default) may fall due."""

import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from common.db import utcnow
from common.problems import Conflict, NotFound, Text
from common.tokens import Principal
from services.funding.grants.schemas import LearningReviewIn, LearningReviewPublic
from services.funding.models.agreement import LearningReview, Payment, PaymentCondition, ReviewState
from services.funding.models.dossier import Dossier, DossierState
from services.funding.models.programme import Programme, Track

REVIEW_NOT_FOUND = Text("Bilan d'apprentissage introuvable.", "Learning review not found.")


async def review_of(session: AsyncSession, dossier_id: uuid.UUID, *, for_update: bool = False) -> LearningReview | None:
    statement = select(LearningReview).where(LearningReview.dossier_id == dossier_id)
    if for_update:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    return (await session.execute(statement)).scalars().first()


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
    programme = await session.get(Programme, dossier.programme_id)
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
        await session.execute(
            update(Payment)
            .where(Payment.dossier_id == current.dossier_id, Payment.condition == PaymentCondition.after_review)
            .values(released_at=now, version=Payment.version + 1, updated_at=now)
            .execution_options(synchronize_session="fetch")
        )
    await session.flush()
    return current


def to_public(review: LearningReview) -> LearningReviewPublic:
    return LearningReviewPublic(**review.model_dump(exclude={"reviewed_by"}))
