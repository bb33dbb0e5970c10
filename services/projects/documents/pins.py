"""What the funding service asks of the vault: pins (a submitted dossier's versions, never deleted afterwards) and
the versions an organisation owns (a report's evidence is checked against them).

A submission's pins are a reservation (docs/architecture.md, "A submission across two services"): made `reserved`
for the attempt funding names, until `reserved_until`; funding confirms them once its submission is committed, or
releases them when it failed; a reservation nobody confirmed lapses and the sweep deletes it."""

import uuid
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from common.problems import Conflict, Text, UnprocessableContent
from common.tokens import Principal
from services.projects.documents import repository
from services.projects.documents.schemas import (
    PinConfirmation,
    PinnedVersion,
    PinRelease,
    PinRequest,
    PinResponse,
    PinSettled,
)
from services.projects.models import DocumentPin


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


async def pin_versions(
    session: AsyncSession, *, principal: Principal, request: PinRequest, now: datetime, reservation: timedelta
) -> PinResponse:
    """Record that a dossier's submission references these versions of its organisation: reserved for the attempt
    until `now + reservation` (confirmed at once without an attempt). All or nothing; pinning again is harmless."""
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
    until = now + reservation
    if request.attempt_id is not None:
        await repository.renew_reservations(
            session, dossier_id=request.dossier_id, version_ids=wanted, attempt_id=request.attempt_id, until=until
        )
    already = await repository.pinned_versions(session, dossier_id=request.dossier_id, version_ids=wanted)
    new = [version_id for version_id in wanted if version_id not in already]
    if new:
        reserved = request.attempt_id is not None
        pins = [
            {
                "version_id": version_id,
                "dossier_id": request.dossier_id,
                "organisation_id": request.organisation_id,
                "pinned_by": principal.subject,
                "pinned_at": now,
                "attempt_id": request.attempt_id,
                "state": "reserved" if reserved else "confirmed",
                "reserved_until": until if reserved else None,
                "confirmed_at": None if reserved else now,
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


def _pins_lost(lost: set[uuid.UUID]) -> Conflict:
    return Conflict(
        Text(
            "La réservation a expiré et a été libérée : épinglez de nouveau ces versions, puis confirmez.",
            "The reservation lapsed and was released: pin these versions again, then confirm.",
        ),
        code="pins_lost",
        extra={"lost_version_ids": sorted(str(v) for v in lost)},
    )


async def confirm(session: AsyncSession, *, request: PinConfirmation, now: datetime) -> PinSettled:
    """Funding committed the attempt's submission: its reservations become confirmed pins. Idempotent; 409
    `pins_lost` when a version named has no pin for the dossier (the reservation was swept meanwhile): never
    re-created here, as a release that came first (a withdrawal) must win over a late confirmation."""
    count = await repository.confirm_pins(session, dossier_id=request.dossier_id, attempt_id=request.attempt_id,
                                          now=now)
    wanted = list(dict.fromkeys(request.version_ids))
    lost = set(wanted) - await repository.confirmed_versions(session, dossier_id=request.dossier_id,
                                                              version_ids=wanted)
    if lost:
        raise _pins_lost(lost)
    return PinSettled(dossier_id=request.dossier_id, attempt_id=request.attempt_id, count=count)


async def release(session: AsyncSession, *, request: PinRelease) -> PinSettled:
    """An attempt's reservations (a failed submission), or every pin of the dossier (it left the flow: withdrawn,
    inadmissible). Idempotent: releasing again releases nothing."""
    conditions = [col(DocumentPin.dossier_id) == request.dossier_id]
    if request.attempt_id is not None:  # a confirmed pin of an earlier submission stays: its snapshot's trail
        conditions += [col(DocumentPin.attempt_id) == request.attempt_id, col(DocumentPin.state) == "reserved"]
    count, documents = await repository.delete_pins(session, *conditions)
    if documents:
        await repository.bump_documents(session, documents)
    return PinSettled(dossier_id=request.dossier_id, attempt_id=request.attempt_id, count=count)


async def sweep(session: AsyncSession, *, now: datetime) -> int:
    """Delete the reservations past their time (their submission never confirmed them); the documents
    concerned get a new ETag. How many were deleted."""
    count, documents = await repository.delete_pins(session, repository.expired_reservations(now))
    if documents:
        await repository.bump_documents(session, documents)
    return count
