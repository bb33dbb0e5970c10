"""API models of reports (their measured values are the indicators' `Measure`).

Measured values (targets, actual values) are numbers ≥ 0 with at most two decimals. In JSON a client sends a
whole number as an integer (`120`, `120.0`) or any value as a decimal string (`"12.5"`, `"12.50"`); a JSON
number with decimals (`12.5`) is refused, because a binary float cannot always hold a decimal exactly. The
service stores hundredths (integers) and answers with decimal strings (`"120"`, `"12.50"`).
"""

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from common.schemas import VISIBLE_CHARACTER, InputModel, PatchModel
from services.projects.indicators.schemas import IndicatorCode, Measure, MeasureOut, Period
from services.projects.models import ReportState

Narrative = Annotated[str, StringConstraints(max_length=20_000)]
Comment = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, pattern=VISIBLE_CHARACTER, max_length=5000)
]


class ValueIn(InputModel):
    indicator_code: IndicatorCode = Field(examples=["qpv_residents_reached"])
    value: Measure


class ValueOut(BaseModel):
    indicator_code: str
    value: MeasureOut


Values = Annotated[list[ValueIn], Field(max_length=200)]
EvidenceIds = Annotated[
    list[uuid.UUID],
    Field(max_length=50, description="Versions de documents du coffre de l'association (preuves)."),
]


class ReportCreate(InputModel):
    project_id: uuid.UUID
    period: Period
    values: Values = Field(
        default_factory=list,
        examples=[[{"indicator_code": "qpv_residents_reached", "value": 64}, {"indicator_code": "women_reached",
                                                                              "value": 35}]],
    )
    narrative: Narrative = Field(default="", examples=["Soixante-quatre collégiens accompagnés toute l'année."])
    evidence_version_ids: EvidenceIds = Field(default_factory=list)


class ReportUpdate(PatchModel):
    """Each field left out is kept; `values` and `evidence_version_ids` replace the whole list."""

    values: Values | None = None
    narrative: Narrative | None = None
    evidence_version_ids: EvidenceIds | None = None


class ReportDecision(PatchModel):
    comment: Comment | None = Field(default=None, examples=["Chiffres cohérents avec le bilan d'activité."])


class ChangesRequest(InputModel):
    comment: Comment = Field(examples=["Merci de joindre la feuille d'émargement des ateliers."])


class HistoryOut(BaseModel):
    action: str = Field(examples=["submitted"])
    from_state: ReportState | None
    to_state: ReportState
    actor: str
    actor_organisation_id: uuid.UUID | None
    comment: str | None
    at: datetime


class ReportPublic(BaseModel):
    id: uuid.UUID
    project_id: uuid.UUID
    organisation_id: uuid.UUID
    period: str
    state: ReportState
    values: list[ValueOut]
    narrative: str
    evidence_version_ids: list[uuid.UUID]
    history: list[HistoryOut] = Field(description="Chaque changement d'état : qui, quand, d'où, vers où, pourquoi.")
    submitted_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime


ReportStateFilter = Literal["draft", "submitted", "accepted", "changes_requested"]
