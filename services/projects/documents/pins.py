"""What the funding service asks of the vault: pins (a submitted dossier's versions, never deleted afterwards) and
the versions an organisation owns (a report's evidence is checked against them)."""

import uuid

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from common.db import utcnow
from common.problems import Text, UnprocessableContent
from common.tokens import Principal
from services.projects.documents import repository
from services.projects.documents.schemas import PinnedVersion, PinRequest, PinResponse


async def owned_versions(
    session: AsyncSession, *, organisation_id: uuid.UUID, version_ids: list[uuid.UUID] | set[uuid.UUID]
) -> set[uuid.UUID]:
    """The versions among `version_ids` that exist and belong to the organisation, key-locked until the caller
    commits as a foreign key would lock them (report evidence has none): none of them can be deleted meanwhile."""
    if not version_ids:
        return set()
    return await repository.owned_version_ids(
        session, organisation_id=organisation_id, version_ids=list(version_ids)
    )


def _unknown_versions(request: PinRequest, unknown: set[uuid.UUID]) -> UnprocessableContent:
    return UnprocessableContent(
        Text(
            "Version(s) de document inconnue(s) pour cette organisation ; rien n'a été épinglé.",
            "Document version(s) unknown for this organisation; nothing was pinned.",
        ),
        code="unknown_document_version",
        errors=[
            (f"body.version_ids.{index}", Text("Version inconnue.", "Unknown version."))
            for index, version_id in enumerate(request.version_ids)
            if version_id in unknown
        ],
        extra={"unknown_version_ids": sorted({str(v) for v in unknown})},
    )


async def pin_versions(session: AsyncSession, *, principal: Principal, request: PinRequest) -> PinResponse:
    """Record that a submitted dossier references these versions of its organisation: they can never be deleted.
    All or nothing; pinning again is harmless."""
    wanted = list(dict.fromkeys(request.version_ids))
    # The documents first, in one order, as a delete or a new version locks the document before its versions
    # (a pin takes the version's key lock through its foreign key): no deadlock with them, nor between two pins.
    await repository.lock_documents_of_versions(
        session, organisation_id=request.organisation_id, version_ids=wanted
    )
    # Read once the documents are locked: a version deleted meanwhile is unknown.
    rows = await repository.versions_with_documents(
        session, organisation_id=request.organisation_id, version_ids=wanted
    )
    found = {version.id: (version, document) for version, document in rows}
    unknown = set(wanted) - set(found)
    if unknown:
        raise _unknown_versions(request, unknown)
    already = await repository.pinned_versions(session, dossier_id=request.dossier_id, version_ids=wanted)
    new = [version_id for version_id in wanted if version_id not in already]
    if new:
        pins = [
            {
                "version_id": version_id,
                "dossier_id": request.dossier_id,
                "organisation_id": request.organisation_id,
                "pinned_by": principal.subject,
                "pinned_at": utcnow(),
            }
            for version_id in new
        ]
        try:
            await repository.insert_pins(session, pins)
        except IntegrityError as exc:  # a version deleted since we read it
            raise _unknown_versions(request, set(new)) from exc
        # The documents' representation shows their pins: their ETag changes.
        await repository.bump_documents(session, sorted({found[v][1].id for v in new}))
    return PinResponse(
        dossier_id=request.dossier_id,
        versions=[
            PinnedVersion(
                **found[v][0].model_dump(),
                organisation_id=found[v][1].organisation_id,
                kind=found[v][1].kind,
                year=found[v][1].year,
            )
            for v in wanted
        ],
    )
