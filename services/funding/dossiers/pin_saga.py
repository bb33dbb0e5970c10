"""Funding's side of a submission across two services (docs/architecture.md, "A submission across two services").

Projects reserves the attached versions for a submission attempt; funding writes the attempt and the step it
owes projects (`pin_step`) in the move's own transaction; right after the commit it does that step, and the worker
does it for whatever a crash or projects' absence left owed. Each step is idempotent at projects, so doing it twice
is harmless; nothing here runs while a funding transaction is open."""

import logging
import uuid

from common.db import Database
from services.funding.dossiers import repository
from services.funding.models.dossier import Dossier
from services.funding.peers import Peers

log = logging.getLogger("funding.pins")

CONFIRM = "confirm"  # the submission is committed: its attempt's reservations become pins
RELEASE = "release"  # the dossier left the flow (withdrawn, inadmissible): every pin of it goes
BATCH = 50


async def release_attempt(peers: Peers, dossier_id: uuid.UUID, attempt_id: uuid.UUID | None) -> None:
    """A submission that reserved pins and then failed (refused under the lock, its commit failed, its client
    gone): its reservations go now; if projects cannot be told, they lapse on their own."""
    if attempt_id is None:
        return
    try:
        await peers.release_pins(dossier_id=dossier_id, attempt_id=attempt_id)
    except Exception:
        log.warning("pins of attempt %s not released now: they lapse", attempt_id, exc_info=True)


async def _done(database: Database, dossier_id: uuid.UUID, step: str, attempt_id: uuid.UUID | None) -> None:
    """The step owed is done, unless another move wrote a newer one meanwhile (which stays owed)."""
    async with database.transaction() as session:
        await repository.clear_pin_step(session, dossier_id=dossier_id, step=step, attempt_id=attempt_id)


async def _do(
    database: Database, peers: Peers, *, dossier_id: uuid.UUID, organisation_id: uuid.UUID, step: str,
    attempt_id: uuid.UUID | None, version_ids: list[str],
) -> None:
    if step == RELEASE:
        await peers.release_pins(dossier_id=dossier_id, attempt_id=None)
    elif attempt_id is not None and version_ids:
        confirmed = await peers.confirm_pins(dossier_id=dossier_id, attempt_id=attempt_id, version_ids=version_ids)
        if not confirmed and await _still_owed(database, dossier_id, attempt_id):
            # Lapsed before we could confirm (projects away for longer than a reservation), and not released by
            # a withdrawal meanwhile: reserved again for the same attempt, then confirmed. A version deleted
            # meanwhile cannot be: said, and left.
            _, refusal = await peers.pin_documents(
                organisation_id=organisation_id, dossier_id=dossier_id, version_ids=version_ids, language="en",
                attempt_id=attempt_id,
            )
            if refusal is not None or not await peers.confirm_pins(
                dossier_id=dossier_id, attempt_id=attempt_id, version_ids=version_ids
            ):
                log.error("dossier %s: pins of attempt %s lost for good: %s", dossier_id, attempt_id, refusal)
            if await _left_the_flow(database, dossier_id):  # a withdrawal's release came in between
                await peers.release_pins(dossier_id=dossier_id, attempt_id=None)
    await _done(database, dossier_id, step, attempt_id)


async def _still_owed(database: Database, dossier_id: uuid.UUID, attempt_id: uuid.UUID) -> bool:
    """The dossier still owes this attempt's confirmation (no withdrawal, inadmissibility or new attempt since)."""
    async with database.transaction(write=False) as reading:
        return await repository.owes_confirmation(reading, dossier_id=dossier_id, attempt_id=attempt_id)


async def _left_the_flow(database: Database, dossier_id: uuid.UUID) -> bool:
    async with database.transaction(write=False) as reading:
        return await repository.left_the_flow(reading, dossier_id)


async def settle_after_commit(database: Database, peers: Peers, dossier: Dossier) -> bool:
    """Right after the move's commit: the step it owes projects, if any; on failure the worker does it. Whether
    something was done."""
    if dossier.pin_step is None:
        return False
    try:
        await _do(database, peers, dossier_id=dossier.id, organisation_id=dossier.organisation_id,
                  step=dossier.pin_step, attempt_id=dossier.pin_attempt_id,
                  # the attempt's own versions: the attached list may have changed since (supplements asked)
                  version_ids=[str(version["id"]) for version in dossier.documents_snapshot or []])
    except Exception:
        log.warning("dossier %s: pin step %s left to the worker", dossier.id, dossier.pin_step, exc_info=True)
        return False
    return True


async def settle_pending(database: Database, peers: Peers) -> int:
    """The worker's pass: each dossier still owing projects a step does it (oldest first); how many were done
    (0 while projects is away: the worker then waits its poll before trying again)."""
    async with database.transaction(write=False) as reading:
        owed = await repository.owing_pin_steps(reading, limit=BATCH)
    return sum([await settle_after_commit(database, peers, dossier) for dossier in owed])


def owe_release(dossier: Dossier) -> None:
    """The dossier leaves the flow (withdrawn, inadmissible): its pins are to go, whichever attempt made them.
    Set in the move's transaction; done by `settle_after_commit` after it."""
    if dossier.pin_attempt_id is not None or dossier.documents_snapshot:
        dossier.pin_step = RELEASE
