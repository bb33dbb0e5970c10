"""The documents vault's API models: the multipart forms, the documents and versions, pins and compliance."""

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import UploadFile
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from common.schemas import InputModel, IsoDate, form_fields
from services.projects.documents.content_types import ALLOWED_CONTENT_TYPES

DocumentKind = Literal[
    "statutes",
    "board_members",
    "bank_details",
    "approved_accounts",
    "activity_report",
    "insurance_certificate",
    "other",
]
Year = Annotated[int, Field(ge=2000, le=2100)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
ComplianceReason = Literal["missing", "expired", "outdated_year"]

FILE_DESCRIPTION = (
    "Le fichier : PDF, PNG, JPEG, ODT, DOCX, XLSX ou CSV, reconnu à son contenu (pas à son nom) ; "
    "taille maximale réglable (10 Mio par défaut, 413 au-delà)."
)
# The multipart part's media types, declared in the OpenAPI's `encoding` (clients and fuzzers send one of them).
FILE_CONTENT_TYPES = ", ".join(ALLOWED_CONTENT_TYPES)


class DocumentUpload(InputModel):
    """A new document and its first version (multipart/form-data)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=form_fields)

    kind: DocumentKind = Field(description="Nature du document.", examples=["statutes"])
    year: Year | None = Field(
        default=None,
        description="Exercice concerné : requis pour approved_accounts et activity_report, refusé sinon.",
        examples=[2025],
    )
    valid_until: IsoDate | None = Field(
        default=None, description="Fin de validité (attestation d'assurance…).", examples=["2027-06-30"]
    )
    label: Label | None = Field(default=None, description="Libellé libre.", examples=["Statuts modifiés en 2024"])
    file: UploadFile = Field(description=FILE_DESCRIPTION)


class VersionUpload(InputModel):
    """A new version of a document (multipart/form-data): the old ones stay."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=form_fields)

    valid_until: IsoDate | None = Field(default=None, description="Fin de validité.", examples=["2027-06-30"])
    file: UploadFile = Field(description=FILE_DESCRIPTION)


class DocumentVersionPublic(BaseModel):
    id: uuid.UUID
    document_id: uuid.UUID
    number: int = Field(description="1 for the first upload, then 2, 3…")
    sha256: str = Field(examples=["9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"])
    size_bytes: int
    content_type: str = Field(description="Type reconnu au contenu : celui du téléchargement.")
    declared_content_type: str = Field(description="Type annoncé par le client (gardé pour mémoire).")
    filename: str = Field(description="Nom d'origine nettoyé, pour l'affichage seulement.")
    valid_until: date | None
    uploaded_at: datetime
    uploaded_by: str
    pinned_by_dossiers: list[uuid.UUID] = Field(
        description="Dossiers déposés qui s'appuient sur cette version : elle ne peut plus être supprimée."
    )


class DocumentListItem(BaseModel):
    id: uuid.UUID
    organisation_id: uuid.UUID
    kind: DocumentKind
    year: int | None
    label: str
    version: int = Field(description="Compteur de l'ETag du document.")
    created_at: datetime
    updated_at: datetime
    current_version: DocumentVersionPublic


class DocumentPublic(DocumentListItem):
    versions: list[DocumentVersionPublic] = Field(description="Toutes les versions, la plus récente d'abord.")


class PinRequest(InputModel):
    organisation_id: uuid.UUID
    dossier_id: uuid.UUID
    version_ids: list[uuid.UUID] = Field(min_length=1, max_length=50)
    attempt_id: uuid.UUID | None = Field(
        default=None,
        description="La tentative de dépôt (identifiant choisi par funding) : les épingles sont réservées jusqu'à "
        "sa confirmation (`/documents/pins/confirm`) ou leur échéance. Sans elle, épinglées et confirmées d'emblée.",
    )


class PinConfirmation(InputModel):
    dossier_id: uuid.UUID
    attempt_id: uuid.UUID
    version_ids: list[uuid.UUID] = Field(
        min_length=1, max_length=50, description="Les versions que le dépôt engagé référence : toutes doivent être "
        "épinglées pour le dossier à l'issue de la confirmation (409 `pins_lost` sinon)."
    )


class PinRelease(InputModel):
    dossier_id: uuid.UUID
    attempt_id: uuid.UUID | None = Field(
        default=None, description="Avec elle : les seules réservations de cette tentative (un dépôt échoué). "
        "Sans elle : toutes les épingles du dossier, confirmées comprises (retrait, irrecevabilité).",
    )


class PinSettled(BaseModel):
    dossier_id: uuid.UUID
    attempt_id: uuid.UUID | None
    count: int = Field(description="Les épingles confirmées, ou libérées, par cet appel (0 s'il est rejoué).")


class PinnedVersion(BaseModel):
    id: uuid.UUID
    document_id: uuid.UUID
    organisation_id: uuid.UUID
    kind: DocumentKind
    year: int | None
    number: int
    sha256: str
    size_bytes: int
    content_type: str
    filename: str
    valid_until: date | None
    uploaded_at: datetime


class PinResponse(BaseModel):
    dossier_id: uuid.UUID
    versions: list[PinnedVersion]


class ComplianceItem(BaseModel):
    kind: DocumentKind
    satisfied: bool
    document_id: uuid.UUID | None
    version_id: uuid.UUID | None
    year: int | None
    valid_until: date | None
    reason: ComplianceReason | None = Field(
        description="Quand le document manque : missing (aucun), expired (périmé à la date), "
        "outdated_year (exercice antérieur à l'année précédente)."
    )


class ComplianceReport(BaseModel):
    organisation_id: uuid.UUID
    on: date
    items: list[ComplianceItem]
