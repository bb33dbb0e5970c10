"""The instruction's queries: who reads which opinions on a dossier (`readable_opinions`), an organisation's
opinion, the opinions counted for the committee, a funder's routing."""

import uuid

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from common.tokens import Principal
from services.funding.instruction.schemas import AuthorKind
from services.funding.models.dossier import DossierOpinion, DossierRouting
from services.vocabulary import COUNCIL_ROLES

COUNCIL_AUTHOR: AuthorKind = "citizen_council"


def readable_opinions(principal: Principal, dossier_id: uuid.UUID, routed: set[uuid.UUID]) -> Select[DossierOpinion]:
    """The opinions on the dossier the caller reads: a citizen council its own; the desk and the funders the
    dossier is routed to (`routed`) every council's and every routed funder's (a funder that declined the dossier
    has no say on it any more)."""
    statement = select(DossierOpinion).where(col(DossierOpinion.dossier_id) == dossier_id)
    if principal.has_any_role(COUNCIL_ROLES):
        return statement.where(col(DossierOpinion.organisation_id) == principal.organisation_id)
    return statement.where(
        or_(col(DossierOpinion.author_kind) == COUNCIL_AUTHOR, col(DossierOpinion.organisation_id).in_(routed))
    )


async def opinions(session: AsyncSession, statement: Select[DossierOpinion]) -> list[DossierOpinion]:
    """The opinions `statement` selects, in the order they were first given."""
    rows = await session.execute(statement.order_by(col(DossierOpinion.created_at), col(DossierOpinion.id)))
    return list(rows.scalars())


async def opinion_of(
    session: AsyncSession, dossier_id: uuid.UUID, organisation_id: uuid.UUID | None
) -> DossierOpinion | None:
    """The organisation's opinion on the dossier, if it gave one."""
    rows = await session.execute(
        select(DossierOpinion).where(
            col(DossierOpinion.dossier_id) == dossier_id, col(DossierOpinion.organisation_id) == organisation_id
        )
    )
    return rows.scalars().first()


async def opinions_given_by(session: AsyncSession, dossier_id: uuid.UUID, organisations: set[uuid.UUID]) -> int:
    """How many of these organisations gave their opinion on the dossier."""
    rows = await session.execute(
        select(func.count()).select_from(DossierOpinion).where(
            col(DossierOpinion.dossier_id) == dossier_id, col(DossierOpinion.organisation_id).in_(organisations)
        )
    )
    return rows.scalar_one()


async def routing_of(session: AsyncSession, dossier_id: uuid.UUID, funder_id: uuid.UUID) -> DossierRouting | None:
    """The funder's routing of the dossier (routed or declined), if it was ever routed to it."""
    rows = await session.execute(
        select(DossierRouting).where(
            col(DossierRouting.dossier_id) == dossier_id, col(DossierRouting.funder_id) == funder_id
        )
    )
    return rows.scalars().first()
