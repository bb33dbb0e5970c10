"""The reference lists: the QPV (priority neighbourhoods of the city policy) and the contrat de ville's priorities."""

from sqlmodel import Field

from services.projects.models.base import ProjectsTable


class Qpv(ProjectsTable, table=True):
    __tablename__ = "qpv"

    code: str = Field(primary_key=True, max_length=8)
    name: str = Field(max_length=200)
    commune: str = Field(max_length=200)
    insee_commune: str = Field(max_length=5)
    epci: str = Field(max_length=200)
    epci_siren: str = Field(max_length=9)
    department: str = Field(max_length=3, index=True)


class Priority(ProjectsTable, table=True):
    __tablename__ = "priorities"

    code: str = Field(primary_key=True, max_length=40)
    kind: str = Field(max_length=20)
    label_fr: str = Field(max_length=200)
    label_en: str = Field(max_length=200)
