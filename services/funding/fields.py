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

# The two references of a dossier, and which one to quote: the thread's, the same from a first dossier to its
# renewals and graduations, is THE reference the association, the funders and the open data see.
THREAD_REFERENCE = (
    "La référence à citer : celle du fil, la même d'un premier dossier à ses renouvellements (et essaimages), "
    "année après année ; pour un premier dossier, sa propre référence."
)
OWN_REFERENCE = (
    "La référence propre du dossier, unique, donnée à sa création : pour un premier dossier la même que "
    "`thread_reference` ; pour un renouvellement ou un essaimage la sienne, montrée à côté de celle du fil."
)
