"""API models of the reference lists, and the codes other rooms' payloads carry."""

from typing import Annotated

from pydantic import BaseModel, StringConstraints

from services.vocabulary import QPV_CODE_PATTERN

QpvCode = Annotated[str, StringConstraints(pattern=QPV_CODE_PATTERN)]
PriorityCode = Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,40}$")]


class QpvPublic(BaseModel):
    code: str
    name: str
    commune: str
    insee_commune: str
    epci: str
    epci_siren: str
    department: str


class PriorityPublic(BaseModel):
    code: str
    kind: str
    label_fr: str
    label_en: str
