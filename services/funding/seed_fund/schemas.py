"""API models of the seed fund's verdict."""

import uuid
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from common.problems import bilingual
from services.funding.dossiers.schemas import DossierPublic
from services.funding.fields import Comment, Input


class VerdictIn(Input):
    """The end of a seed-fund project."""

    verdict: Literal["stop", "continue", "graduate"]
    comment: Comment | None = None
    programme_id: uuid.UUID | None = Field(
        default=None, description="Pour essaimer : le programme (CPO ou appel annuel, ouvert) du nouveau dossier."
    )

    @model_validator(mode="after")
    def _graduation_names_its_programme(self) -> "VerdictIn":
        if (self.verdict == "graduate") != (self.programme_id is not None):
            raise ValueError(bilingual("Essaimer nomme le programme du nouveau dossier, et seulement essaimer.",
                                       "Graduating names the new dossier's programme, and only graduating does."))
        return self


class VerdictOutcome(BaseModel):
    dossier: DossierPublic
    draft: DossierPublic | None = Field(description="Le brouillon ouvert par l'essaimage, pré-rempli, sur le même fil.")

    @property
    def version(self) -> int:
        """The judged dossier's: the outcome's ETag is the dossier's."""
        return self.dossier.version
