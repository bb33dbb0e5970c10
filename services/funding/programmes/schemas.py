"""API models of the programmes."""

import uuid
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, PrivateAttr, StringConstraints, model_validator

from common.money import IntegerCents
from common.problems import bilingual
from common.schemas import IsoDate, PatchModel, WholeNumber
from services.funding.fields import Input, PositiveCents, QpvCode, Title
from services.funding.models.programme import GrantNature, Track

# A code that stays the same when the title changes: letters, digits, dots, dashes and underscores.
SchemeCode = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,59}$")]
# The SCDL's idRAE: at most five characters (the schema's limit), letters and digits.
RaeId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9]{1,5}$")]


class OpenDataFields(BaseModel):
    """What the programme's grants publish as open data (SCDL « subventions »), frozen in each row when a grant is
    notified: a later change applies to the grants notified after it."""

    scheme_code: SchemeCode | None = Field(
        default=None, examples=["CDV-RENNES-AAP"],
        description="Données ouvertes, `dispositifAide` : le code stable du dispositif (il ne change pas avec le "
        "titre) ; sans code, l'identifiant du programme.",
    )
    aid_nature: GrantNature = Field(
        default=GrantNature.cash,
        description="Données ouvertes, `nature` : cash « aide en numéraire » (par défaut), in_kind « aide en "
        "nature », both les deux.",
    )
    eu_notified: bool = Field(
        default=False, strict=True,
        description="Données ouvertes, `notificationUE` : l'aide a été notifiée à la Commission européenne (aide "
        "d'État) ; non par défaut.",
    )
    rae_id: RaeId | None = Field(
        default=None, examples=["A1234"],
        description="Données ouvertes, `idRAE` : le numéro au registre des aides d'État, 5 caractères au plus "
        "(lettres et chiffres).",
    )


class ProgrammeOpenDataUpdate(PatchModel):
    """The open-data fields of a programme, each left out kept (If-Match required)."""

    scheme_code: SchemeCode | None = Field(default=None, examples=["CDV-RENNES-AAP"])
    aid_nature: GrantNature | None = None
    eu_notified: bool | None = Field(default=None, strict=True)
    rae_id: RaeId | None = Field(default=None, examples=["A1234"])


class ProgrammeCreate(Input, OpenDataFields):
    title: Title = Field(examples=["Appel à projets contrat de ville 2027"])
    track: Track
    year: Annotated[int, WholeNumber] = Field(strict=True, ge=2024, le=2100, examples=[2027])
    funder_ids: list[uuid.UUID] = Field(min_length=1, max_length=50)
    opens_on: IsoDate
    closes_on: IsoDate
    qpv_codes: list[QpvCode] = Field(
        default_factory=list, max_length=200,
        description="Territoire : un projet doit toucher au moins un de ces QPV (vide : tout QPV du contrat de ville).",
    )
    quorum_funder_ids: list[uuid.UUID] = Field(
        default_factory=list, max_length=50,
        description=(
            "Quorum du comité : les financeurs qui doivent siéger (parmi funder_ids) ; "
            "vide : au moins deux financeurs du programme, dont l'État."
        ),
    )
    lead_funder_id: uuid.UUID | None = Field(
        default=None,
        description="Petits projets : le financeur (parmi funder_ids) dont le gestionnaire décide seul. Obligatoire "
                    "pour ce parcours, refusé pour les autres.",
    )
    ceiling_cents: PositiveCents | None = Field(
        default=None, description="Plafond d'une demande, à la place de celui du parcours (15 000 € amorçage, "
                                  "5 000 € petits projets).",
    )
    convention_threshold_cents: Annotated[int, Field(strict=True, ge=0, le=2_300_000), IntegerCents] | None = Field(
        default=None,
        description="Montant annuel d'un financeur à partir duquel une convention est signée (23 000 € par la loi, "
                    "au plus ; 0 : une convention par financeur quel que soit le montant).",
    )
    multi_party_agreement: bool | None = Field(
        default=None, strict=True,
        description="Une seule convention entre l'association et tous les financeurs du dossier, au lieu d'une par "
                    "financeur.",
    )
    default_years: Annotated[int, Field(strict=True, ge=2, le=4), WholeNumber] | None = Field(
        default=None,
        description="CPO : durée en années quand le dossier ne la donne pas (3 par défaut ; de 2 à 4).",
    )
    # --- CERFA 15059 (financial reports) ---
    explained_gap_bp: Annotated[int, Field(strict=True, ge=0, le=10_000), WholeNumber] | None = Field(
        default=None, examples=[2_000],
        description="Compte rendu financier : l'écart au prévu, en points de base (1 500 = 15 %, le défaut), au-delà "
                    "duquel une ligne est expliquée.",
    )
    # --- end CERFA 15059 ---

    @model_validator(mode="after")
    def _ordered(self) -> "ProgrammeCreate":
        if self.closes_on < self.opens_on:
            raise ValueError(
                bilingual("La clôture précède l'ouverture.", "The closing date is before the opening date.")
            )
        if len(set(self.funder_ids)) != len(self.funder_ids):
            raise ValueError(bilingual("Financeur en double.", "Duplicate funder."))
        if len(set(self.quorum_funder_ids)) != len(self.quorum_funder_ids):
            raise ValueError(bilingual("Financeur du quorum en double.", "Duplicate quorum funder."))
        if not set(self.quorum_funder_ids) <= set(self.funder_ids):
            raise ValueError(
                bilingual("Le quorum nomme des financeurs du programme.", "The quorum names funders of the programme.")
            )
        if (self.track == Track.small) != (self.lead_funder_id is not None):
            raise ValueError(bilingual(
                "Un programme de petits projets, et lui seul, nomme son financeur chef de file.",
                "A small-projects programme, and only one, names its lead funder.",
            ))
        if self.default_years is not None and self.track != Track.cpo:
            raise ValueError(bilingual("Seule une CPO dure plusieurs années.", "Only a CPO lasts several years."))
        if self.lead_funder_id is not None and self.lead_funder_id not in self.funder_ids:
            raise ValueError(bilingual("Le chef de file est un financeur du programme.",
                                       "The lead funder is one of the programme's funders."))
        return self


class ProgrammePublic(BaseModel):
    id: uuid.UUID
    title: str
    track: Track
    year: int
    funder_ids: list[uuid.UUID]
    opens_on: date
    closes_on: date
    qpv_codes: list[str]
    quorum_funder_ids: list[uuid.UUID]
    rules: dict[str, Any] = Field(description="Les règles du parcours en vigueur : plafond, délais, échéancier…")
    scheme_code: str | None = Field(description="Données ouvertes : `dispositifAide` (sans code, l'identifiant).")
    aid_nature: GrantNature = Field(description="Données ouvertes : `nature`.")
    eu_notified: bool = Field(description="Données ouvertes : `notificationUE`.")
    rae_id: str | None = Field(description="Données ouvertes : `idRAE`.")
    is_open: bool
    created_at: datetime
    updated_at: datetime
    # The row's version, for the ETag: not a field of the answer.
    _version: int = PrivateAttr(default=1)

    @property
    def version(self) -> int:
        return self._version

    def at_version(self, version: int) -> "ProgrammePublic":
        """This answer, carrying the version its ETag shows."""
        self._version = version
        return self
