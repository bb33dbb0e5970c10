"""API models of the shared indicators: the catalogue, a project's targets, the collective impact's aggregates,
and the measured values every room shares.

Measured values (targets, actual values) are numbers ≥ 0 with at most two decimals. In JSON a client sends a
whole number as an integer (`120`, `120.0`) or any value as a decimal string (`"12.5"`, `"12.50"`); a JSON
number with decimals (`12.5`) is refused, because a binary float cannot always hold a decimal exactly. The
service stores hundredths (integers) and answers with decimal strings (`"120"`, `"12.50"`).
"""

import re
import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    Field,
    PlainValidator,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)

from common.problems import bilingual
from common.schemas import VISIBLE_CHARACTER, InputModel, PatchModel
from services.projects.projects.schemas import Input
from services.projects.referential.schemas import PriorityCode
from services.shared_figures import SUPPRESSED_DESCRIPTION

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


MAX_UNITS = 9_999_999_999
_DECIMAL = r"^(0|[1-9][0-9]{0,9})(\.[0-9]{1,2})?$"
_DECIMAL_RE = re.compile(_DECIMAL)


def _to_hundredths(value: object) -> int:
    """12 → 1200, "12.5" → 1250; floats only when whole, never a bool."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_UNITS:
        return value * 100
    if isinstance(value, str) and _DECIMAL_RE.match(value):
        units, _, decimals = value.partition(".")
        return int(units) * 100 + int(decimals.ljust(2, "0") or 0)
    raise ValueError(
        bilingual(
            f"Nombre ≥ 0 d'au plus deux décimales attendu (au plus {MAX_UNITS}) : un entier (120) "
            'ou une chaîne décimale ("12.50").',
            f"A number ≥ 0 with at most two decimals is expected (at most {MAX_UNITS}): an integer (120) "
            'or a decimal string ("12.50").',
        )
    )


def format_hundredths(hundredths: int) -> str:
    """1200 → "12", 1250 → "12.50": the decimal string every answer carries."""
    units, cents = divmod(hundredths, 100)
    return str(units) if cents == 0 else f"{units}.{cents:02d}"


# What a client sends; the model holds hundredths.
Measure = Annotated[
    int,
    PlainValidator(_to_hundredths),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": 0, "maximum": MAX_UNITS},
                {"type": "string", "pattern": _DECIMAL},
            ],
            "description": "Nombre ≥ 0, au plus deux décimales : entier JSON (120) ou chaîne décimale (\"12.50\").",
            "examples": [120, "12.50"],
        },
        mode="validation",
    ),
]
MeasureOut = Annotated[str, Field(pattern=_DECIMAL, examples=["120", "12.50"])]
Period = Annotated[
    str,
    StringConstraints(pattern=r"^(span|[0-9]{4})$"),
    Field(
        description="Une année civile comprise dans les dates du projet (« 2027 »), ou « span » : toute la durée "
        "du projet.",
        examples=["2027", "span"],
    ),
]


class TargetIn(InputModel):
    indicator_code: IndicatorCode = Field(examples=["qpv_residents_reached"])
    period: Period
    target: Measure


class TargetsReplace(InputModel):
    """The whole list of the project's indicators and targets: what is left out is no longer followed."""

    targets: list[TargetIn] = Field(
        max_length=200,
        examples=[
            [
                {"indicator_code": "qpv_residents_reached", "period": "2027", "target": 60},
                {"indicator_code": "women_reached", "period": "2027", "target": 30},
                {"indicator_code": "activity_hours", "period": "span", "target": "412.50"},
            ]
        ],
    )


class TargetOut(BaseModel):
    indicator_code: str
    period: str
    target: MeasureOut


class ProjectIndicators(BaseModel):
    project_id: uuid.UUID
    targets: list[TargetOut]
    version: int = Field(description="0 tant qu'aucun indicateur n'a été choisi.")
    updated_at: datetime | None


class ImpactRow(BaseModel):
    """One cell: an indicator in one QPV, under one priority of the project, for one year.

    `actual` and `target` follow the indicator's aggregation: a sum; the mean of the values for an average;
    for a ratio, the rate in percent, 100 × Σ numerators / Σ the denominator indicator's values of the same
    reports (targets alike). The totals, counts and denominators let a dashboard combine cells itself.
    """

    indicator_code: str
    unit: IndicatorUnit
    aggregation: Aggregation
    qpv_code: str | None
    priority_code: str | None = Field(description="null : projets sans priorité.")
    year: int
    actual: MeasureOut | None = Field(description="null : aucune valeur acceptée dans la case.")
    target: MeasureOut | None = Field(description="null : aucune cible dans la case.")
    actual_total: MeasureOut | None
    target_total: MeasureOut | None
    actual_count: int | None = Field(description="Valeurs acceptées dans la case (une par rapport).")
    target_count: int | None = Field(description="Cibles dans la case (une par projet).")
    actual_denominator: MeasureOut | None = Field(description="Ratio : Σ des valeurs du dénominateur.")
    target_denominator: MeasureOut | None = Field(description="Ratio : Σ des cibles du dénominateur.")
    projects: int | None = Field(
        description="Projets distincts ayant une cible ou une valeur acceptée dans la case (null si `suppressed`)."
    )
    suppressed: bool = Field(default=False, description=SUPPRESSED_DESCRIPTION)


class ImpactPage(BaseModel):
    items: list[ImpactRow]
    next_cursor: str | None = None


# A funder's projects of a year: a few hundred in a contrat de ville, a few thousand for a large one nationally.
MAX_IMPACT_PROJECTS = 5_000


class ImpactOfProjects(InputModel):
    """The aggregates of a set of projects (too many ids for a query string: a funder's granted projects)."""

    project_ids: list[uuid.UUID] = Field(min_length=1, max_length=MAX_IMPACT_PROJECTS)
    year: int | None = Field(default=None, ge=1900, le=2999)
    indicator: IndicatorCode | None = None
