"""The field types and the input base every room's API models share (titles, amounts, QPV codes, comments)."""

from typing import Annotated

from pydantic import ConfigDict, Field, StringConstraints

from common.money import IntegerCents
from common.schemas import VISIBLE_CHARACTER, InputModel
from services.vocabulary import QPV_CODE_PATTERN

QpvCode = Annotated[str, StringConstraints(pattern=QPV_CODE_PATTERN)]

# Stripped, then at least one character; the pattern says in the OpenAPI that a blank string is refused.
Title = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, pattern=VISIBLE_CHARACTER, max_length=200)
]

# Strict: `false` or "1500" is not an amount (1500.0 is: JSON has one number type); a line asks for at least one cent.
PositiveCents = Annotated[int, Field(strict=True, gt=0, le=1_000_000_000), IntegerCents]


class Input(InputModel):
    model_config = ConfigDict(extra="forbid")


Comment = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, pattern=VISIBLE_CHARACTER, max_length=2000)
]
