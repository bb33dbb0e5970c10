"""The reference lists: the QPV (priority neighbourhoods of the city policy) and the contrat de ville's priorities."""

from datetime import datetime

from sqlalchemy import Column, ForeignKey
from sqlmodel import Field

from common.db import UtcDateTime
from services.projects.models.base import ProjectsTable


class Qpv(ProjectsTable, table=True):
    __tablename__ = "qpv"

    code: str = Field(primary_key=True, max_length=8)
    name: str = Field(max_length=200)
    # Every commune's name joined by ", " (searched as one text); the communes themselves are in `qpv_communes`.
    commune: str = Field(max_length=200)
    insee_commune: str = Field(max_length=5)  # the first commune's, as the file lists them
    epci: str = Field(max_length=200)  # empty for a commune outside any EPCI (Saint-Martin)
    epci_siren: str = Field(max_length=9)
    department: str = Field(max_length=3, index=True)
    # Set when a newer national list no longer holds the code: never deleted (projects keep it), no longer chosen.
    retired_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class QpvCommune(ProjectsTable, table=True):
    """A commune a QPV covers (several for an intercommunal QPV), so that any of them finds it."""

    __tablename__ = "qpv_communes"

    qpv_code: str = Field(sa_column=Column(ForeignKey("qpv.code", ondelete="CASCADE"), primary_key=True))
    insee_code: str = Field(max_length=5, primary_key=True, index=True)
    position: int
    name: str = Field(max_length=200)  # empty when the file gives no name for it


class Priority(ProjectsTable, table=True):
    __tablename__ = "priorities"

    code: str = Field(primary_key=True, max_length=40)
    kind: str = Field(max_length=20)
    label_fr: str = Field(max_length=200)
    label_en: str = Field(max_length=200)
