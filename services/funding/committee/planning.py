"""Planning a session: the desk creates it (date, place, programmes), changes it, invites the funders of its
programmes (each must fund one of them), and deletes it while it is still planned."""

import uuid
from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from common.problems import Text, UnprocessableContent
from common.tokens import Principal
from services.funding.committee import repository
from services.funding.committee.schemas import Invitations, SessionCreate, SessionPublic, SessionUpdate
from services.funding.committee.sessions import require_state, to_public, touched
from services.funding.dossiers.service import moved, trace
from services.funding.models.committee import CommitteeSession, SessionFunder, SessionProgramme, SessionState
from services.funding.peers import Peers
from services.funding.programmes import repository as programmes_repository
from services.vocabulary import OrganisationKind


def _not_in_the_past(held_on: date, today: date) -> None:
    if held_on < today:
        raise UnprocessableContent(
            Text("La séance ne peut être datée dans le passé.", "The session cannot be held in the past."),
            errors=[("body.held_on", Text("Date passée.", "Date in the past."))],
        )


async def create_session(
    session: AsyncSession, *, principal: Principal, request: SessionCreate, today: date
) -> SessionPublic:
    _not_in_the_past(request.held_on, today)
    known = await repository.programmes_by_id(session, request.programme_ids)
    unknown = [str(pid) for pid in request.programme_ids if pid not in known]
    if unknown:
        raise UnprocessableContent(
            Text("Programme inconnu.", "Unknown programme."),
            errors=[("body.programme_ids", Text(", ".join(unknown), ", ".join(unknown)))],
            code="unknown_programme",
        )
    committee = CommitteeSession(
        title=request.title, held_on=request.held_on, place=request.place, created_by=principal.subject
    )
    session.add(committee)
    await session.flush()
    session.add_all(SessionProgramme(session_id=committee.id, programme_id=pid) for pid in request.programme_ids)
    await session.flush()
    return await to_public(session, committee)


async def update_session(
    session: AsyncSession, *, committee: CommitteeSession, request: SessionUpdate, today: date
) -> SessionPublic:
    require_state(committee, SessionState.planned, "update")
    changes = request.model_dump(exclude_unset=True)
    if "held_on" in changes:
        _not_in_the_past(changes["held_on"], today)
    changed = {name: value for name, value in changes.items() if getattr(committee, name) != value}
    if changed:
        for name, value in changed.items():
            setattr(committee, name, value)
        touched(committee)
        await session.flush()
    return await to_public(session, committee)


async def organisation_cards(
    peers: Peers, organisation_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, dict[str, Any] | None]:
    """What identity says of each organisation (None when it does not know it)."""
    return await peers.organisations(organisation_ids)


async def invite(
    session: AsyncSession, *, committee: CommitteeSession, request: Invitations,
    cards: dict[uuid.UUID, dict[str, Any] | None], principal: Principal,
) -> SessionPublic:
    """Replace the list of funders invited; each must fund one of the session's programmes. `cards` were read
    from identity before the session was locked."""
    require_state(committee, SessionState.planned, "invite")
    programme_ids = await repository.programme_ids_of(session, committee.id)
    participating = {
        fid
        for funders in (await programmes_repository.funders_of_programmes(session, programme_ids)).values()
        for fid in funders
    }
    outsiders = [
        str(fid) for fid in request.funder_ids
        if fid not in participating or (cards.get(fid) or {}).get("kind") != OrganisationKind.funder
    ]
    if outsiders:
        raise UnprocessableContent(
            Text("Ces financeurs ne participent à aucun programme de la séance.",
                 "These funders take part in none of the session's programmes."),
            errors=[("body.funder_ids", Text(", ".join(outsiders), ", ".join(outsiders)))],
            code="funder_not_in_programme",
        )
    current = {row.funder_id: row for row in await repository.invited_funders(session, committee.id)}
    wanted = set(request.funder_ids)
    if wanted == set(current):
        return await to_public(session, committee)
    gone = [fid for fid in current if fid not in wanted]
    if gone:
        # A funder that no longer sits has no member to recuse.
        await repository.remove_invitations(session, committee.id, gone)
    for fid in request.funder_ids:
        if fid not in current:
            card = cards[fid] or {}
            session.add(SessionFunder(
                session_id=committee.id, funder_id=fid, name=card.get("name") or str(fid),
                category=card.get("funder_category"), invited_by=principal.subject,
            ))
    touched(committee)
    await session.flush()
    return await to_public(session, committee)


async def delete_session(session: AsyncSession, *, principal: Principal, committee: CommitteeSession) -> None:
    """A planned session called off: its dossiers wait for another one (their states unchanged)."""
    require_state(committee, SessionState.planned, "delete")
    items = await repository.items_of(session, committee.id)
    locked = await repository.lock_dossiers(session, [item.dossier_id for item in items])
    for dossier in locked.values():
        if dossier.agenda_session_id == committee.id:
            dossier.agenda_session_id = None
            moved(dossier)
            session.add(trace(dossier, principal, "removed_from_agenda", dossier.state, str(committee.id)))
    await session.delete(committee)
    await session.flush()
