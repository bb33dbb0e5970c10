"""The agenda of a planned session: the desk lists the dossiers it will decide on, each ready for the committee
(or deferred by an earlier session), each placed on one session at a time."""

from sqlalchemy.ext.asyncio import AsyncSession

from common.problems import Text, UnprocessableContent
from common.tokens import Principal
from services.funding.committee import repository
from services.funding.committee.schemas import Agenda, SessionPublic
from services.funding.committee.sessions import agenda_refusal, require_state, to_public, touched
from services.funding.dossiers.service import moved, trace
from services.funding.models.committee import AgendaItem, CommitteeSession, SessionState
from services.funding.models.dossier import Dossier, DossierState

# A dossier may be placed on an agenda once ready, or again after a deferral.
PLACEABLE_STATES = (DossierState.ready_for_committee, DossierState.deferred)


async def set_agenda(
    session: AsyncSession, *, principal: Principal, committee: CommitteeSession, request: Agenda
) -> SessionPublic:
    """Replace the agenda, in its order. Each dossier is ready (or deferred by an earlier session), of one of the
    session's programmes and on no other agenda; a dossier taken off goes back to waiting for a session."""
    require_state(committee, SessionState.planned, "set_agenda")
    wanted_ids = [entry.dossier_id for entry in request.items]
    # Dossiers before items, as a holder's withdrawal takes them: read the items, lock every dossier, then the
    # items again, locked.
    listed = [item.dossier_id for item in await repository.items_of(session, committee.id)]
    locked = await repository.lock_dossiers(session, [*wanted_ids, *listed])
    current = {item.dossier_id: item for item in await repository.items_of(session, committee.id, for_update=True)}
    unknown = [str(did) for did in wanted_ids if did not in locked]
    if unknown:
        raise UnprocessableContent(
            Text("Dossier inconnu.", "Unknown dossier."),
            errors=[("body.items", Text(", ".join(unknown), ", ".join(unknown)))],
            code="unknown_dossier",
        )
    programme_ids = set(await repository.programme_ids_of(session, committee.id))
    refused = []
    for did in wanted_ids:
        dossier = locked[did]
        reason = None
        if dossier.programme_id not in programme_ids:
            reason = "programme_not_in_session"
        elif dossier.agenda_session_id not in (None, committee.id):
            reason = "on_another_agenda"
        elif dossier.agenda_session_id is None and dossier.state not in PLACEABLE_STATES:
            reason = "not_ready"
        if reason:
            refused.append({"dossier_id": str(did), "reference": dossier.reference, "state": dossier.state,
                            "reason": reason})
    if refused:
        raise agenda_refusal(refused)
    notes = {entry.dossier_id: entry.note for entry in request.items}
    unchanged = list(current) == wanted_ids and all(current[did].note == notes[did] for did in wanted_ids)
    if unchanged:
        return await to_public(session, committee)
    for did, item in current.items():
        if did not in notes:
            await session.delete(item)
            dossier = locked[did]
            if dossier.agenda_session_id == committee.id:
                dossier.agenda_session_id = None
                moved(dossier)
                session.add(trace(dossier, principal, "removed_from_agenda", dossier.state, str(committee.id)))
    await session.flush()
    for position, did in enumerate(wanted_ids, start=1):
        placed = current.get(did)
        if placed is None:
            placed = AgendaItem(session_id=committee.id, dossier_id=did, position=position)
            session.add(placed)
            _place(locked[did], committee, principal, session)
        placed.position, placed.note = position, notes[did]
    touched(committee)
    await session.flush()
    return await to_public(session, committee)


def _place(dossier: Dossier, committee: CommitteeSession, principal: Principal, session: AsyncSession) -> None:
    """On the agenda: a deferred dossier waits for this session again (deferred → ready_for_committee)."""
    previous = dossier.state
    dossier.state = DossierState.ready_for_committee
    dossier.agenda_session_id = committee.id
    moved(dossier)
    session.add(trace(dossier, principal, "placed_on_agenda", previous, str(committee.id)))
