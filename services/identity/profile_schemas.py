"""The organisation profile's API models (CERFA 12156, identification pages): what a client sends, what it reads."""

import calendar
import uuid
from datetime import date, datetime, timedelta
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    EmailStr,
    Field,
    StringConstraints,
    ValidationInfo,
    computed_field,
    field_validator,
)

from common.money import IntegerCents
from common.problems import bilingual
from common.schemas import VISIBLE_CHARACTER, InputModel, IsoDate, WholeNumber
from services.identity.schemas import Rna, Siret
from services.vocabulary import INSEE_COMMUNE_PATTERN

# Public aid is declared for the current year and the three before it (the form's "last three years"); older lines
# are no longer shown nor counted (services/identity/profiles.py).
AID_YEARS_BACK = 3
# Above this much cash public aid in one year, the association must publish certified accounts
# (code de commerce L612-4, décret 2006-335; "en numéraire" since the loi ESS of 2014: in-kind aid does not count).
CERTIFIED_ACCOUNTS_THRESHOLD_CENTS = 15_300_000


def _no_nul(value: str) -> str:
    # Checked on each line, so that the error names the line (the model's own check names the whole list).
    if "\x00" in value:
        raise ValueError(bilingual("Caractère nul (U+0000) refusé.", "NUL character (U+0000) refused."))
    return value


def _text(max_length: int) -> StringConstraints:
    """Stripped, then at least one character; the pattern says in the OpenAPI that a blank string is refused."""
    return StringConstraints(strip_whitespace=True, min_length=1, pattern=VISIBLE_CHARACTER, max_length=max_length)


PersonName = Annotated[str, _text(200)]
Label = Annotated[str, _text(200)]
Function = Annotated[str, _text(100)]
StreetLine = Annotated[str, _text(200), AfterValidator(_no_nul)]
City = Annotated[str, _text(100)]
Purpose = Annotated[str, _text(300)]
ApprovalNumber = Annotated[str, _text(50)]
# A French number (0X XX XX XX XX, spaces, dots or dashes allowed; +33 instead of the 0) or an E.164 one.
Phone = Annotated[
    str,
    StringConstraints(
        max_length=20, pattern=r"^(?:(?:\+33 ?|0)[1-9](?:[ .-]?[0-9]{2}){4}|\+[1-9][0-9]{7,14})$"
    ),
    Field(examples=["02 99 00 00 00"]),
]
# Département 01-98 (2A/2B for Corsica's INSEE codes), then three digits.
Postcode = Annotated[
    str, StringConstraints(pattern=r"^(?:0[1-9]|[1-8][0-9]|9[0-8])[0-9]{3}$"), Field(examples=["35200"])
]
InseeCode = Annotated[str, StringConstraints(pattern=INSEE_COMMUNE_PATTERN), Field(examples=["35238"])]
Count = Annotated[int, Field(strict=True, ge=0, le=1_000_000), WholeNumber]
# A decimal with at most two places, as a string so that no float ever carries it.
Fte = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9]{1,4}(?:\.[0-9]{1,2})?$"),
    Field(description="Équivalents temps plein, deux décimales au plus.", examples=["3.50"]),
]
AidCents = Annotated[int, Field(strict=True, gt=0, le=10_000_000_000), IntegerCents]
Acronym = Annotated[str, _text(50)]
LongText = Annotated[str, _text(2000)]


def _a_day_of_every_year(value: str) -> str:
    """A month and a day that every year has (29 February is not: a fiscal year starts on the same day yearly)."""
    month, day = int(value[:2]), int(value[3:])
    # 2001 is no leap year: its February has the 28 days every year has.
    if not (1 <= month <= 12 and 1 <= day <= calendar.monthrange(2001, month)[1]):
        raise ValueError(bilingual("Un jour que compte chaque année (MM-JJ).", "A day every year has (MM-DD)."))
    return value


FiscalYearStart = Annotated[
    str, StringConstraints(pattern=r"^[01][0-9]-[0-3][0-9]$"), AfterValidator(_a_day_of_every_year),
    Field(description="Le premier jour de l'exercice, MM-JJ (01-01 : l'année civile).", examples=["09-01"]),
]
# The contrat d'engagement républicain exists since the décret 2021-1947 (in force on 2 January 2022).
REPUBLICAN_CONTRACT_FROM = date(2022, 1, 2)
Nature = Literal["cash", "in_kind"]
AidSource = Literal["declared"]


class PersonIn(InputModel):
    """A named person of the association: its legal representative or the person in charge of the file."""

    name: PersonName = Field(examples=["Awa Diallo"])
    function: Function = Field(description="Qualité (présidente, trésorier, directrice…).", examples=["Présidente"])
    email: EmailStr = Field(examples=["presidence@blosne-avenir.example"])
    phone: Phone | None = None


class AddressIn(InputModel):
    street_lines: list[StreetLine] = Field(min_length=1, max_length=3, examples=[["12 rue du Blosne"]])
    postcode: Postcode
    city: City = Field(examples=["Rennes"])
    insee_code: InseeCode | None = Field(default=None, description="Code commune INSEE.")


class PeopleIn(InputModel):
    volunteers: Count = Field(examples=[40])
    employees: Count = Field(examples=[4])
    fte: Fte
    members: Count = Field(examples=[120])
    paying_members: Count | None = Field(default=None, description="Adhérents à jour de cotisation.", examples=[95])
    legal_person_members: Count = Field(default=0, description="Adhérents personnes morales.", examples=[3])
    civic_service_volunteers: Count = Field(default=0, description="Volontaires en service civique.", examples=[2])
    seconded_public_staff: Count = Field(
        default=0, description="Agents publics mis à disposition ou détachés auprès de l'association.", examples=[1]
    )

    @field_validator("paying_members")
    @classmethod
    def _paying_members_are_members(cls, value: int | None, info: ValidationInfo) -> int | None:
        members = info.data.get("members")
        if value is not None and members is not None and value > members:
            raise ValueError(
                bilingual(
                    "Ne peut dépasser le nombre d'adhérents.", "Cannot exceed the number of members."
                )
            )
        return value


class ApprovalIn(InputModel):
    kind: Label = Field(examples=["Jeunesse et éducation populaire"])
    number: ApprovalNumber | None = Field(default=None, examples=["35-JEP-2019-04"])
    authority: Label = Field(examples=["Préfecture d'Ille-et-Vilaine"])
    # Not after today, as the service's clock says (checked by the service).
    granted_on: IsoDate = Field(examples=["2019-06-14"])


class NetworkIn(InputModel):
    name: Label = Field(examples=["Fédération des centres sociaux d'Ille-et-Vilaine"])
    siret: Siret | None = None
    rna: Rna | None = None


class PublicAidIn(InputModel):
    # The static bounds are for the OpenAPI; the window (this year and the three before) depends on today and on
    # the lines already stored, so the service checks it (profiles.check_aid_years).
    year: Annotated[int, WholeNumber] = Field(
        strict=True,
        ge=2000,
        le=2100,
        description=(
            "L'année en cours ou l'une des trois précédentes. Une ligne renvoyée telle qu'elle a été lue reste "
            "acceptée si son année est depuis sortie de la période ; elle n'est alors plus conservée."
        ),
        examples=[2026],
    )
    funder_name: Label = Field(examples=["Ville de Rennes"])
    funder_organisation_id: uuid.UUID | None = Field(
        default=None, description="Le financeur, s'il est enregistré au guichet."
    )
    amount_cents: AidCents = Field(examples=[1_200_000])
    purpose: Purpose = Field(examples=["Aide aux devoirs"])
    nature: Nature = Field(description="cash : en numéraire ; in_kind : en nature (valorisée).")
    source: AidSource = "declared"


class RepublicanContractIn(InputModel):
    """The contrat d'engagement républicain (loi 2021-1109): signed once, asked of every request for public aid."""

    signed_on: IsoDate = Field(
        description="Le jour de la signature : pas avant le 2 janvier 2022 (décret 2021-1947), pas dans le futur.",
        examples=["2022-03-10"],
    )
    signatory_name: PersonName = Field(description="Qui l'a signé pour l'association.", examples=["Awa Diallo"])


class ProfileIn(InputModel):
    """The whole profile: a PUT replaces it all."""

    acronym: Acronym | None = Field(default=None, description="Sigle.", examples=["BA"])
    purpose: LongText | None = Field(default=None, description="L'objet de l'association, tel que ses statuts le "
                                                                "disent.")
    activities: LongText | None = Field(default=None, description="Ses activités principales.")
    correspondence_address: AddressIn | None = Field(
        default=None, description="L'adresse de correspondance, si elle diffère de celle du siège."
    )
    public_utility_recognised_on: IsoDate | None = Field(
        default=None, description="Reconnue d'utilité publique : la date du décret (pas dans le futur) ; vide sinon."
    )
    statutory_auditor: bool = Field(default=False, strict=True, description="L'association a un commissaire aux "
                                                                            "comptes.")
    fiscal_year_start: FiscalYearStart = "01-01"
    republican_contract: RepublicanContractIn | None = Field(
        default=None, description="Le contrat d'engagement républicain signé ; la recevabilité d'un dossier l'exige."
    )

    legal_representative: PersonIn
    contact: PersonIn | None = Field(
        default=None, description="La personne chargée du dossier, si ce n'est pas le représentant légal."
    )
    address: AddressIn
    people: PeopleIn
    approvals: list[ApprovalIn] = Field(default_factory=list, max_length=20)
    networks: list[NetworkIn] = Field(default_factory=list, max_length=20)
    public_aid: list[PublicAidIn] = Field(default_factory=list, max_length=200)


class ProfilePersonPublic(BaseModel):
    """A person the profile names (legal representative, contact); not an account."""

    name: str
    function: str
    email: str
    phone: str | None


class AddressPublic(BaseModel):
    street_lines: list[str]
    postcode: str
    city: str
    insee_code: str | None


class PeoplePublic(BaseModel):
    volunteers: int
    employees: int
    fte: str = Field(examples=["3.50"])
    members: int
    paying_members: int | None
    legal_person_members: int = 0
    civic_service_volunteers: int = 0
    seconded_public_staff: int = 0


class RepublicanContractPublic(BaseModel):
    signed_on: date
    signatory_name: str


class ApprovalPublic(BaseModel):
    kind: str
    number: str | None
    authority: str
    granted_on: date


class NetworkPublic(BaseModel):
    name: str
    siret: str | None
    rna: str | None


class PublicAidPublic(BaseModel):
    year: int
    funder_name: str
    funder_organisation_id: uuid.UUID | None
    amount_cents: int
    purpose: str
    nature: Nature
    source: AidSource


class PublicAidYear(BaseModel):
    """Computed: the public aid of one year, and whether it calls for certified accounts."""

    year: int
    cash_cents: int
    in_kind_cents: int
    total_cents: int
    certified_accounts_required: bool = Field(
        description="Plus de 153 000 € d'aides publiques en numéraire cette année : comptes certifiés à publier."
    )


class ProfilePublic(BaseModel):
    """The profile as read. Until the association's first PUT it is blank (`filled_in` false, ETag "0")."""

    organisation_id: uuid.UUID
    filled_in: bool = Field(description="Faux tant que l'association n'a rien saisi : les autres champs sont vides.")
    legal_representative: ProfilePersonPublic | None
    contact: ProfilePersonPublic | None
    acronym: str | None = None
    purpose: str | None = None
    activities: str | None = None
    address: AddressPublic | None
    correspondence_address: AddressPublic | None = None
    public_utility_recognised_on: date | None = None
    statutory_auditor: bool = False
    fiscal_year_start: str = "01-01"
    republican_contract: RepublicanContractPublic | None = None
    people: PeoplePublic | None
    approvals: list[ApprovalPublic]
    networks: list[NetworkPublic]
    public_aid: list[PublicAidPublic] = Field(
        description="Les aides de l'année en cours et des trois précédentes ; les plus anciennes ne sont plus montrées."
    )
    public_aid_by_year: list[PublicAidYear] = Field(
        json_schema_extra={"readOnly": True},
        description="Calculé : totaux par année de la période, du plus ancien au plus récent.",
    )
    certified_accounts_required: bool = Field(
        json_schema_extra={"readOnly": True},
        description=(
            "Calculé : une année au moins de la période dépasse 153 000 € d'aides publiques en numéraire."
        ),
    )
    created_at: datetime | None
    updated_at: datetime | None
    updated_by: str | None

    @computed_field(description="Calculé : le dernier jour de l'exercice, MM-JJ (la veille de son premier jour).")
    def fiscal_year_end(self) -> str:
        start = date(2001, int(self.fiscal_year_start[:2]), int(self.fiscal_year_start[3:]))
        return (start - timedelta(days=1)).strftime("%m-%d")
