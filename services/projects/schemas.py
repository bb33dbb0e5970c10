"""API models of the shared indicators' catalogue."""

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    Field,
    StringConstraints,
    model_validator,
)

from common.problems import bilingual
from common.schemas import VISIBLE_CHARACTER, PatchModel
from services.projects.projects.schemas import Input
from services.projects.referential.schemas import PriorityCode

IndicatorCode = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,39}$")]
IndicatorLabel = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, pattern=VISIBLE_CHARACTER, max_length=200)
]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
IndicatorUnit = Literal["people", "organisations", "hours", "events", "euros", "percent"]
Aggregation = Literal["sum", "average", "ratio"]


class IndicatorCreate(Input):
    code: IndicatorCode = Field(examples=["residents_trained"])
    label: IndicatorLabel = Field(examples=["Habitants formés"])
    description: Description = ""
    unit: IndicatorUnit
    aggregation: Aggregation = Field(
        description="sum, average, or ratio: the values reported are numerators over the denominator indicator's."
    )
    denominator_code: IndicatorCode | None = Field(default=None, description="Required for a ratio, refused otherwise.")
    part_of_code: IndicatorCode | None = Field(
        default=None,
        description="'Of whom': this indicator counts a part of that one (women among the residents reached), so "
        "its value never exceeds the whole's. Both are sums of the same unit.",
        examples=["qpv_residents_reached"],
    )
    priorities: list[PriorityCode] = Field(default_factory=list, max_length=10)

    @model_validator(mode="after")
    def _ratio_has_denominator(self) -> "IndicatorCreate":
        if (self.aggregation == "ratio") != (self.denominator_code is not None):
            raise ValueError(
                bilingual(
                    "Un ratio a un indicateur dénominateur ; les autres agrégations n'en ont pas.",
                    "A ratio has a denominator indicator; other aggregations have none.",
                )
            )
        if self.denominator_code == self.code:
            raise ValueError(
                bilingual(
                    "Un indicateur n'est pas son propre dénominateur.", "An indicator is not its own denominator."
                )
            )
        if self.part_of_code is not None and (self.aggregation != "sum" or self.part_of_code == self.code):
            raise ValueError(
                bilingual(
                    "Seule une somme est la partie (« dont ») d'un autre indicateur, jamais d'elle-même.",
                    "Only a sum is a part ('of whom') of another indicator, never of itself.",
                )
            )
        return self


class IndicatorUpdate(PatchModel):
    """What can change once reports may use the indicator: wording, tags, retirement; never unit or aggregation."""

    label: IndicatorLabel | None = None
    description: Description | None = None
    priorities: list[PriorityCode] | None = Field(default=None, max_length=10)
    active: bool | None = None


class IndicatorPublic(BaseModel):
    id: uuid.UUID
    code: str
    label: str
    description: str
    unit: IndicatorUnit
    aggregation: Aggregation
    denominator_code: str | None
    part_of_code: str | None
    priorities: list[str]
    active: bool
    version: int
    created_at: datetime
    updated_at: datetime
