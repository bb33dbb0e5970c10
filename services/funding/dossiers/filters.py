"""What a partner narrows a list of dossiers by (programme, track, year, funder, QPV, priority, reference): the
query filter, and the dependency that reads it from the query string."""

import uuid
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Query
from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Mapped
from sqlmodel import col

from common.db import where_given
from services.funding.fields import QpvCode
from services.funding.models.dossier import Dossier, DossierTag, FundingLine
from services.funding.models.programme import Programme, Track

Narrowed = TypeVar("Narrowed", bound=Select[*tuple[Any, ...]])


@dataclass(frozen=True)
class DossierFilters:
    """What a partner narrows a list of dossiers by, each an indexed lookup: the programme, its track and year, a
    funder the plan asks, a QPV or a priority of the project as submitted, a reference (the thread's: every dossier
    of the thread; a renewal's own: that one)."""

    programme_id: uuid.UUID | None = None
    track: str | None = None
    year: int | None = None
    funder_id: uuid.UUID | None = None
    qpv: str | None = None
    priority: str | None = None
    reference: str | None = None

    def narrow(self, statement: Narrowed) -> Narrowed:
        """`statement` (a select over dossiers) kept to the dossiers these filters keep."""
        if self.programme_id is not None:
            statement = statement.where(col(Dossier.programme_id) == self.programme_id)
        if self.track is not None or self.year is not None:
            programmes = where_given(
                select(col(Programme.id)), (col(Programme.track), self.track), (col(Programme.year), self.year)
            )
            statement = statement.where(col(Dossier.programme_id).in_(programmes))
        if self.funder_id is not None:
            statement = statement.where(col(Dossier.id).in_(
                select(col(FundingLine.dossier_id)).where(col(FundingLine.funder_id) == self.funder_id)))
        if self.reference is not None:
            statement = statement.where(or_(col(Dossier.thread_reference) == self.reference,
                                            col(Dossier.reference) == self.reference))
        for kind, value in (("qpv", self.qpv), ("priority", self.priority)):
            if value is not None:
                statement = statement.where(col(Dossier.id).in_(
                    select(col(DossierTag.dossier_id)).where(
                        col(DossierTag.kind) == kind, col(DossierTag.value) == value)))
        return statement

    def narrow_rows(self, statement: Narrowed, dossier_id: Mapped[uuid.UUID]) -> Narrowed:
        """Rows that hang off a dossier (agreements, payments, decisions…) kept to the dossiers these filters keep:
        one semi-join on their indexed `dossier_id` column, nothing when no filter is set."""
        if self == DossierFilters():
            return statement
        return statement.where(dossier_id.in_(self.narrow(select(col(Dossier.id)))))


ReferenceParam = Annotated[str | None, Query(
    pattern=r"^GU-[0-9]{4}-[0-9]{6}$", examples=["GU-2027-000123"],
    description="Une référence : celle du fil donne chaque dossier du fil (une CPO et ses renouvellements), la "
    "référence propre d'un renouvellement ce dossier seul.",
)]


def _dossier_filters(
    programme_id: Annotated[uuid.UUID | None, Query(description="Le programme du dossier.")] = None,
    track: Annotated[Track | None, Query(description="Le parcours du programme du dossier.")] = None,
    qpv: Annotated[QpvCode | None, Query(description="Un QPV du projet, tel qu'au dépôt du dossier.")] = None,
    priority: Annotated[str | None, Query(
        pattern=r"^[a-z_]{1,40}$", description="Une priorité du projet, telle qu'au dépôt du dossier.",
    )] = None,
    reference: ReferenceParam = None,
) -> DossierFilters:
    """The dossier filters every list hanging off a dossier shares (its year is each list's own: see its route)."""
    return DossierFilters(programme_id=programme_id, track=track, qpv=qpv, priority=priority, reference=reference)


DossierFiltersDep = Annotated[DossierFilters, Depends(_dossier_filters)]
