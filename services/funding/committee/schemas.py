"""API models of the comité des financeurs: sessions, agenda, conflicts of interest, decisions and minutes."""

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints, model_validator

from common.money import IntegerCents
from common.problems import bilingual
from common.schemas import VISIBLE_CHARACTER, IsoDate, PatchModel, WholeNumber
from services.funding.fields import OWN_REFERENCE, THREAD_REFERENCE, Comment, Input, Title
from services.funding.models.committee import ItemState, Outcome, SessionState

Place = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, pattern=VISIBLE_CHARACTER, max_length=300)
]
# A grant may be nothing at all (a refusal, with its reason); never negative, never a fraction of a cent.
GrantedCents = Annotated[int, Field(strict=True, ge=0, le=1_000_000_000), IntegerCents]
RaisedCents = Annotated[int, Field(strict=True, gt=0, le=1_000_000_000), IntegerCents]
AGENDA_LIMIT = 200


def _distinct(values: list[Any], fr: str, en: str) -> None:
    if len(set(values)) != len(values):
        raise ValueError(bilingual(fr, en))


class SessionCreate(Input):
    title: Title = Field(examples=["Comité des financeurs — printemps 2027"])
    held_on: IsoDate = Field(description="Date de la séance (aujourd'hui ou plus tard).")
    place: Place = Field(examples=["Hôtel de Rennes Métropole, salle du conseil"])
    programme_ids: list[uuid.UUID] = Field(min_length=1, max_length=20)

    @model_validator(mode="after")
    def _distinct_programmes(self) -> "SessionCreate":
        _distinct(self.programme_ids, "Programme en double.", "Duplicate programme.")
        return self


class SessionUpdate(PatchModel):
    """What the desk may change while the session is planned; each field left out stays as it is."""

    title: Title | None = None
    held_on: IsoDate | None = None
    place: Place | None = None


class Invitations(Input):
    """The funders invited: the whole list, replaced."""

    funder_ids: list[uuid.UUID] = Field(max_length=50)

    @model_validator(mode="after")
    def _distinct_funders(self) -> "Invitations":
        _distinct(self.funder_ids, "Financeur en double.", "Duplicate funder.")
        return self


class AgendaEntry(Input):
    dossier_id: uuid.UUID
    note: Comment | None = Field(default=None, description="Note du guichet pour la séance.")


class Agenda(Input):
    """The agenda in its order: the whole list, replaced."""

    items: list[AgendaEntry] = Field(max_length=AGENDA_LIMIT)

    @model_validator(mode="after")
    def _distinct_dossiers(self) -> "Agenda":
        _distinct([item.dossier_id for item in self.items], "Dossier en double à l'ordre du jour.",
                  "Dossier twice on the agenda.")
        return self


class ConflictDeclaration(Input):
    item_id: uuid.UUID
    reason: Comment = Field(examples=["Je siège au conseil d'administration de l'association."])


class Opening(Input):
    present_funder_ids: list[uuid.UUID] = Field(
        max_length=50, description="Les financeurs invités présents (le quorum se vérifie sur eux)."
    )

    @model_validator(mode="after")
    def _distinct_funders(self) -> "Opening":
        _distinct(self.present_funder_ids, "Financeur en double.", "Duplicate funder.")
        return self


# A funder's own reference of its decision: stripped, visible characters, 100 at most.
DecisionReference = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, pattern=VISIBLE_CHARACTER, max_length=100)
]


class DecisionIn(Input):
    granted_amount_cents: GrantedCents = Field(
        description="Montant accordé (0 : pas d'aide, motif obligatoire) ; au plus ce qui est demandé au financeur.",
        examples=[1_500_000],
    )
    conditions: Comment | None = None
    refusal_reason: Comment | None = Field(default=None, description="Obligatoire quand rien n'est accordé.")
    decision_reference: DecisionReference | None = Field(
        default=None, examples=["DEL-2027-0042"],
        description="La référence de la décision chez le financeur (délibération, arrêté), publiée en données "
        "ouvertes comme `referenceDecision` ; sans elle, le numéro de la convention ou de la décision du guichet.",
    )

    yearly_amounts_cents: list[GrantedCents] | None = Field(
        default=None, min_length=2, max_length=4, examples=[None],
        description="CPO : le montant accordé pour chacune de ses années, dans l'ordre (leur somme est "
        "granted_amount_cents). Absent : le montant accordé suit la forme de la demande, année par année. Seule la "
        "première année est engagée par la décision ; chaque année suivante l'est à son ouverture, sur l'enveloppe "
        "de cette année-là.",
    )

    @model_validator(mode="after")
    def _reason_when_nothing(self) -> "DecisionIn":
        if self.granted_amount_cents == 0 and self.refusal_reason is None:
            raise ValueError(bilingual("Le motif est obligatoire sans aide.", "A reason is required with no grant."))
        if self.yearly_amounts_cents is not None and sum(self.yearly_amounts_cents) != self.granted_amount_cents:
            raise ValueError(bilingual(
                f"Les montants annuels font {sum(self.yearly_amounts_cents)} centimes, pas granted_amount_cents.",
                f"The yearly amounts add up to {sum(self.yearly_amounts_cents)} cents, not granted_amount_cents."))
        return self


class Deferral(Input):
    reason: Comment = Field(examples=["Attente du budget rectifié."])


Mark = Annotated[int, Field(strict=True, ge=0, le=5), WholeNumber]


class ScoreIn(Input):
    """A member's scores of a seed-fund item on the grid, 0 to 5 each."""

    innovation: Mark = Field(examples=[4])
    collective: Mark = Field(description="La dimension collective.", examples=[5])
    residents_involvement: Mark = Field(description="L'implication des habitants.", examples=[4])
    feasibility: Mark = Field(examples=[3])
    comment: Comment | None = None


class PlanRaise(Input):
    """The coordinator raises what is asked of one funder, so that it may grant more than the plan said."""

    funder_id: uuid.UUID
    amount_cents: RaisedCents


# Reads.


class SessionFunderPublic(BaseModel):
    funder_id: uuid.UUID
    name: str
    category: str | None
    present: bool | None = Field(description="Renseigné à l'ouverture de la séance.")


class RecusalPublic(BaseModel):
    id: uuid.UUID
    item_id: uuid.UUID
    member: str
    member_name: str | None
    organisation_id: uuid.UUID | None
    reason: str
    declared_at: datetime


class YearAmount(BaseModel):
    year: int
    amount_cents: int


class DecisionPublic(BaseModel):
    id: uuid.UUID
    item_id: uuid.UUID | None = Field(description="Le point de l'ordre du jour ; aucun pour une décision déléguée "
                                                  "(petit projet).")
    dossier_id: uuid.UUID
    funder_id: uuid.UUID
    granted_amount_cents: int
    conditions: str | None
    refusal_reason: str | None
    decision_reference: str | None
    decided_by: str
    yearly_amounts: list[YearAmount] | None = Field(
        description="CPO : le montant accordé pour chacune de ses années (seule la première est engagée par la "
        "décision, chacune des suivantes à l'ouverture de son année) ; vide pour les autres parcours.")
    version: int
    created_at: datetime
    updated_at: datetime


class DecisionAmendmentPublic(BaseModel):
    """A version of the decision made by a CPO's amendment (avenant); the decision as the session took it is
    version 1."""

    number: int = Field(description="La version de la décision : 2 pour le premier avenant.")
    granted_amount_cents: int
    yearly_amounts: list[YearAmount]
    reference: str = Field(description="La référence de l'avenant.", examples=["CONV-2027-000123-1-AV1"])
    amended_on: date
    reason: str | None
    review_id: uuid.UUID | None = Field(description="La revue annuelle de la CPO qui l'a fait.")


class DecisionOutcome(StrEnum):
    granted = "granted"
    refused = "refused"


class DecisionKind(StrEnum):
    committee = "committee"
    delegated = "delegated"


class DecisionListed(DecisionPublic):
    """A funder's decision as `GET /decisions` lists it: with its dossier, its programme and its session."""

    reference: str = Field(description=OWN_REFERENCE, examples=["GU-2026-000123"])
    thread_reference: str = Field(description=THREAD_REFERENCE, examples=["GU-2026-000123"])
    programme_id: uuid.UUID
    kind: DecisionKind = Field(description="committee : en séance ; delegated : un petit projet, décidé hors séance "
                                           "par le responsable du financeur chef de file.")
    session_id: uuid.UUID | None = Field(description="La séance ; aucune pour une décision déléguée.")
    outcome: DecisionOutcome = Field(description="granted : un montant accordé ; refused : rien, avec un motif.")
    final: bool = Field(description="La décision ne change plus : sa séance est close, ou elle est déléguée (avant "
                                     "la clôture, le financeur peut la modifier, et un report du point l'efface).")
    decided_amount_cents: int = Field(description="Le montant tel que la séance l'a décidé ; granted_amount_cents "
                                                  "et yearly_amounts sont ceux en vigueur, avenants compris.")
    amended_on: date | None = Field(description="La date du dernier avenant ; vide sans avenant.")
    amendment_reference: str | None = Field(description="La référence du dernier avenant.")
    amendments: list[DecisionAmendmentPublic] = Field(
        description="Les versions suivantes de la décision, faites par les avenants de la CPO, dans l'ordre.")


class ScorePublic(BaseModel):
    id: uuid.UUID
    item_id: uuid.UUID
    member: str
    organisation_id: uuid.UUID | None
    innovation: int
    collective: int
    residents_involvement: int
    feasibility: int
    comment: str | None
    version: int
    created_at: datetime
    updated_at: datetime


class ScoreSummary(BaseModel):
    """The grid's scores of an item: each criterion's average, the members' overall average and its spread."""

    count: int
    innovation: float | None
    collective: float | None
    residents_involvement: float | None
    feasibility: float | None
    average: float | None = Field(description="La moyenne des quatre critères, sur 5, arrondie au centième.")
    spread: float | None = Field(description="L'écart entre la plus haute et la plus basse moyenne d'un membre.")


class ShareAsked(BaseModel):
    funder_id: uuid.UUID
    amount_cents: int


class AgendaItemPublic(BaseModel):
    id: uuid.UUID
    position: int
    dossier_id: uuid.UUID
    reference: str
    note: str | None
    state: ItemState
    outcome: Outcome | None
    deferral_reason: str | None
    asked: list[ShareAsked] = Field(description="Ce que le plan demande à chaque financeur.")
    decisions: list[DecisionPublic]
    recusals: list[RecusalPublic]
    scores: ScoreSummary | None = Field(description="Fonds d'amorçage : la grille des membres ; aucune sinon.")


class SessionPublic(BaseModel):
    id: uuid.UUID
    title: str
    held_on: date
    place: str
    state: SessionState
    programme_ids: list[uuid.UUID]
    funders: list[SessionFunderPublic]
    items: list[AgendaItemPublic]
    opened_at: datetime | None
    closed_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime


class SessionSummary(BaseModel):
    """A session in a list: without its agenda."""

    id: uuid.UUID
    title: str
    held_on: date
    place: str
    state: SessionState
    programme_ids: list[uuid.UUID]
    version: int
    created_at: datetime
    updated_at: datetime


# The minutes, frozen at closing.


class MinutesProgramme(BaseModel):
    id: uuid.UUID
    title: str
    year: int


class MinutesAttendance(BaseModel):
    funder_id: uuid.UUID
    name: str
    category: str | None
    present: bool


class MinutesRecusal(BaseModel):
    member: str
    member_name: str | None
    organisation_id: uuid.UUID | None
    organisation_name: str | None
    reason: str


class MinutesDecision(BaseModel):
    funder_id: uuid.UUID
    funder_name: str
    asked_cents: int
    granted_cents: int
    conditions: str | None
    refusal_reason: str | None
    decided_by: str


class MinutesItem(BaseModel):
    position: int
    item_id: uuid.UUID
    dossier_id: uuid.UUID
    reference: str
    organisation_id: uuid.UUID
    organisation_name: str
    project_title: str
    note: str | None
    state: ItemState = Field(description="decided, deferred or withdrawn.")
    outcome: Outcome | None
    deferral_reason: str | None
    asked_cents: int
    granted_cents: int
    decisions: list[MinutesDecision]
    recusals: list[MinutesRecusal]
    scores: ScoreSummary | None = None


class MinutesFunderTotal(BaseModel):
    funder_id: uuid.UUID
    name: str
    asked_cents: int
    granted_cents: int
    dossiers_granted: int


class Minutes(BaseModel):
    """What the session decided, as it stood when it closed."""

    session_id: uuid.UUID
    title: str
    held_on: date
    place: str
    programmes: list[MinutesProgramme]
    opened_at: datetime
    closed_at: datetime
    closed_by: str
    attendance: list[MinutesAttendance]
    items: list[MinutesItem]
    totals: list[MinutesFunderTotal]
    granted_cents: int
