"""Tables of the programmes: a call (its track, year, dates, territory and rules) and the funders it gathers."""

import uuid
from datetime import date
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, ForeignKey
from sqlmodel import Field

from services.funding.models.base import FundingTable, IdColumn, Timestamps, Versioned


class Track(StrEnum):
    seed = "seed"
    small = "small"
    annual = "annual"
    cpo = "cpo"


class GrantNature(StrEnum):
    """What the programme's grants give, as the SCDL `nature` says it."""

    cash = "cash"
    in_kind = "in_kind"
    both = "both"


class Programme(FundingTable, IdColumn, Versioned, Timestamps, table=True):
    __tablename__ = "programmes"
    __table_args__ = (
        CheckConstraint("closes_on >= opens_on", name="ck_programmes_dates_ordered"),
        CheckConstraint("aid_nature IN ('cash', 'in_kind', 'both')", name="ck_programmes_aid_nature"),
    )

    title: str = Field(max_length=200)
    track: str = Field(max_length=16, index=True)
    year: int = Field(index=True)
    opens_on: date
    closes_on: date
    # The territory: a project must touch at least one of these QPVs (empty: any QPV of the contrat de ville).
    qpv_codes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # The funders that must sit for a committee to decide on this programme (empty: two funders, one the State).
    quorum_funder_ids: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # The track's rules where the programme departs from their defaults (ceilings, durations, shares, delays).
    rules: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # What its grants publish as open data (SCDL): the scheme's stable code (dispositifAide; the title may change),
    # the nature of the aid, whether it was notified to the European Commission (State aid), its RAE number.
    scheme_code: str | None = Field(default=None, max_length=60)
    aid_nature: str = Field(default=GrantNature.cash, max_length=8)
    eu_notified: bool = Field(default=False)
    rae_id: str | None = Field(default=None, max_length=5)
    created_by: str = Field(max_length=200)


class ProgrammeFunder(FundingTable, table=True):
    __tablename__ = "programme_funders"

    programme_id: uuid.UUID = Field(sa_column=Column(ForeignKey("programmes.id", ondelete="CASCADE"), primary_key=True))
    funder_id: uuid.UUID = Field(primary_key=True)
