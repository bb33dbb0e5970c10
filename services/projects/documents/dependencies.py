"""What the vault's routes work with: the storage and its limits, the document a route is about (loaded, or locked
with If-Match checked; 404 for one the caller may not see), and a new version's file received before that lock."""

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from typing import Annotated

from fastapi import Depends, Form, Request

from common.resources import locked_resource, resource
from services.projects.documents import service, uploads
from services.projects.documents.auth import DocumentRead, DocumentWrite
from services.projects.documents.content_types import ZipLimits
from services.projects.documents.schemas import VersionUpload
from services.projects.documents.storage import DocumentStorage
from services.projects.documents.uploads import Received
from services.projects.models import Document


def _storage(request: Request) -> DocumentStorage:
    storage: DocumentStorage = request.app.state.document_storage
    return storage


StorageDep = Annotated[DocumentStorage, Depends(_storage)]


def _max_bytes(request: Request) -> int:
    max_bytes: int = request.app.state.settings.documents_max_bytes
    return max_bytes


MaxBytes = Annotated[int, Depends(_max_bytes)]


def _zip_limits(request: Request) -> ZipLimits:
    settings = request.app.state.settings
    return ZipLimits(
        max_entries=settings.documents_zip_max_entries,
        max_uncompressed_bytes=settings.documents_zip_max_uncompressed_bytes,
        max_ratio=settings.documents_zip_max_ratio,
    )


ZipLimitsDep = Annotated[ZipLimits, Depends(_zip_limits)]


@dataclass(frozen=True)
class NewVersion:
    """A new version's file, received and judged, with what the form says of it."""

    received: Received
    valid_until: date | None


async def _new_version(
    form: Annotated[VersionUpload, Form(media_type="multipart/form-data")],
    storage: StorageDep,
    max_bytes: MaxBytes,
    zip_limits: ZipLimitsDep,
) -> AsyncIterator[NewVersion]:
    """The file first: the document's lock is held for the writes, not while an upload is read and stored; its
    staged copy is discarded once the route is done."""
    async with uploads.received_file(storage, form.file, max_bytes=max_bytes, zip_limits=zip_limits) as received:
        yield NewVersion(received, form.valid_until)


NewVersionDep = Annotated[NewVersion, Depends(_new_version, scope="function")]

CurrentDocument = Annotated[Document, resource(service.readable_document, path="document_id", caller=DocumentRead)]
# A new version (idempotent, its file received before the lock) and a deletion (no Idempotency-Key today).
DocumentGettingVersion = Annotated[
    Document,
    locked_resource(
        service.locked_own_document, path="document_id", caller=DocumentWrite, if_match_required=True,
        before=[Depends(_new_version, scope="function")],
    ),
]
DocumentLosingVersion = Annotated[
    Document,
    locked_resource(
        service.locked_own_document, path="document_id", caller=DocumentWrite, if_match_required=True,
        idempotent=False,
    ),
]


def _version_id(version_id: uuid.UUID) -> uuid.UUID:
    return version_id


# A version's id, read as a dependency solved after the document's: OpenAPI then lists the path's parameters in
# the path's order (a route's own parameters come before its dependencies').
VersionId = Annotated[uuid.UUID, Depends(_version_id)]
