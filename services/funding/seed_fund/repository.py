"""The seed fund's queries: a dossier's learning review, and the instalments its acceptance releases."""

import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.funding.models.agreement import LearningReview, Payment, PaymentCondition


async def review_of(session: AsyncSession, dossier_id: uuid.UUID, *, for_update: bool = False) -> LearningReview | None:
    """The dossier's learning review, if written (locked `for_update`, for the change about to be made)."""
    statement = select(LearningReview).where(col(LearningReview.dossier_id) == dossier_id)
    if for_update:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    return (await session.execute(statement)).scalars().first()


async def release_after_review(session: AsyncSession, dossier_id: uuid.UUID, now: datetime) -> None:
    """The dossier's instalments that wait for its review may now fall due."""
    await session.execute(
        update(Payment)
        .where(col(Payment.dossier_id) == dossier_id, col(Payment.condition) == PaymentCondition.after_review)
        .values(released_at=now, version=col(Payment.version) + 1, updated_at=now)
        .execution_options(synchronize_session="fetch")
    )
