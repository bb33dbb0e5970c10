"""What the exports answer besides their files: the report of the rows kept out of a funder's SCDL file."""

import uuid
from typing import Literal

from pydantic import BaseModel, Field


class ExcludedRowPublic(BaseModel):
    """A notified grant's row that the funder's SCDL file leaves out, and why."""

    grant_id: uuid.UUID
    agreement_id: uuid.UUID
    year: int
    reference_decision: str = Field(description="La référence de la décision ou de la convention.",
                                    examples=["DEC-2026-000123-2"])
    organisation_id: uuid.UUID = Field(description="L'association bénéficiaire, au guichet.")
    beneficiary_name: str | None
    reason: Literal["beneficiary_without_siret_or_rna"] = Field(
        description="`beneficiary_without_siret_or_rna` : l'association n'a ni SIRET valide ni RNA de la forme du "
        "schéma (`W` et 9 chiffres) ; le schéma exige l'un ou l'autre. Un RNA contenant des lettres (Corse, "
        "anciens numéros) ne peut pas aller dans la colonne : renseigner le SIRET de l'association suffit.")
    message: str = Field(description="La même raison, en clair (français, ou anglais avec Accept-Language: en).")
