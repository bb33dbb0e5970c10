"""API models of the reference lists, and the codes other rooms' payloads carry."""

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from services.vocabulary import QPV_CODE_PATTERN

QpvCode = Annotated[str, StringConstraints(pattern=QPV_CODE_PATTERN)]
PriorityCode = Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,40}$")]


class QpvCommunePublic(BaseModel):
    insee_code: str = Field(examples=["35238"])
    name: str = Field(examples=["Rennes"], description="Empty when the national file gives no name for it.")


class QpvPublic(BaseModel):
    code: str = Field(examples=["QN03505M"])
    name: str = Field(examples=["Le Blosne"])
    commune: str = Field(description="Every commune's name, joined by \", \".", examples=["Rennes"])
    insee_commune: str = Field(description="The first commune's INSEE code (all of them: `communes`).")
    communes: list[QpvCommunePublic]
    epci: str = Field(description="Empty for a commune outside any EPCI.", examples=["Rennes Métropole"])
    epci_siren: str = Field(examples=["243500139"])
    department: str = Field(examples=["035"])
    retired: bool = Field(
        description="No longer in the national list: projects keep it, a new project or change cannot choose it."
    )
    retired_at: datetime | None = None


class PriorityPublic(BaseModel):
    code: str
    kind: str
    label_fr: str
    label_en: str
