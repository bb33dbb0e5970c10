"""A dossier as the API shows it: whole, or summed up for a list."""

from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from services.funding.dossiers import repository
from services.funding.dossiers.schemas import DossierPublic, DossierSummary, FundingLinePublic
from services.funding.models.dossier import Dossier

Shape = TypeVar("Shape", bound=DossierSummary)


async def to_public(session: AsyncSession, dossier: Dossier) -> DossierPublic:
    return (await to_public_many(session, [dossier]))[0]


async def to_public_many(session: AsyncSession, dossiers: Sequence[Dossier]) -> list[DossierPublic]:
    """Each dossier whole, with its co-funding plan."""
    return await _shaped(session, dossiers, DossierPublic)


async def to_summaries(session: AsyncSession, rows: Sequence[Dossier | Row[Any]]) -> list[DossierSummary]:
    """Each dossier without the snapshots (which a summary list does not load: its rows are plain columns)."""
    return await _shaped(session, rows, DossierSummary)


async def _shaped(session: AsyncSession, rows: Sequence[Dossier | Row[Any]], shape: type[Shape]) -> list[Shape]:
    lines = await repository.lines_of(session, [row.id for row in rows])
    names = [name for name in shape.model_fields if name != "funding_plan"]
    return [
        shape(
            **{name: getattr(row, name) for name in names},
            funding_plan=[
                FundingLinePublic(funder_id=line.funder_id, amount_cents=line.amount_cents,
                                  yearly_amounts_cents=line.yearly_amounts_cents or None)
                for line in lines[row.id]
            ],
        )
        for row in rows
    ]
