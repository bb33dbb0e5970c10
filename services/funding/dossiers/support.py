"""Administrative support: the holder asks for help on a dossier (any track); one of the desk's people takes it
and may then edit the draft for the holder, each edit in the trail under the helper's name; the holder ends it."""

import uuid
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from common.problems import Conflict, Text
from common.tokens import Principal
from services.funding.dossiers import visibility
from services.funding.dossiers.schemas import DossierPublic
from services.funding.dossiers.service import moved, to_public, trace
from services.funding.models.dossier import Dossier, DossierState
from services.vocabulary import DESK_ROLES

# A dossier that is closed needs no more help.
CLOSED_STATES = (DossierState.inadmissible, DossierState.withdrawn, DossierState.decided)


class SupportState(StrEnum):
    requested = "requested"
    active = "active"
    ended = "ended"


def _refused(dossier: Dossier, action: str) -> Conflict:
    return Conflict(
        Text(f"Action « {action} » impossible : accompagnement « {dossier.support_state or 'aucun'} ».",
             f"Action '{action}' is not possible: support is '{dossier.support_state or 'none'}'."),
        code="support_state",
        extra={"support_state": dossier.support_state},
    )


async def _changed(session: AsyncSession, principal: Principal, dossier: Dossier, action: str,
                   comment: str | None = None) -> DossierPublic:
    moved(dossier)
    session.add(trace(dossier, principal, action, dossier.state, comment))
    await session.flush()
    return await to_public(session, dossier)


async def ask(session: AsyncSession, *, principal: Principal, dossier: Dossier, message: str) -> DossierPublic:
    if dossier.state in CLOSED_STATES or dossier.support_state in (SupportState.requested, SupportState.active):
        raise _refused(dossier, "ask")
    dossier.support_state, dossier.support_message, dossier.support_helper = SupportState.requested, message, None
    return await _changed(session, principal, dossier, "support_requested", message)


async def take(session: AsyncSession, *, principal: Principal, dossier: Dossier) -> DossierPublic:
    """The caller, one of the desk's people, becomes the dossier's helper."""
    if dossier.support_state != SupportState.requested or dossier.state in CLOSED_STATES:
        raise _refused(dossier, "take")
    dossier.support_state, dossier.support_helper = SupportState.active, principal.subject
    return await _changed(session, principal, dossier, "support_taken")


async def end(session: AsyncSession, *, principal: Principal, dossier: Dossier) -> DossierPublic:
    if dossier.support_state not in (SupportState.requested, SupportState.active):
        raise _refused(dossier, "end")
    dossier.support_state = SupportState.ended
    return await _changed(session, principal, dossier, "support_ended")


def require_helper(principal: Principal, dossier: Dossier) -> None:
    """One of the desk's people edits a draft only as the helper of an active support."""
    if dossier.support_state != SupportState.active or dossier.support_helper != principal.subject:
        raise Conflict(
            Text("Seul l'accompagnant désigné modifie le dossier, tant que l'accompagnement dure.",
                 "Only the assigned helper edits the dossier, while the support lasts."),
            code="not_the_helper",
            extra={"support_state": dossier.support_state},
        )


async def editable_dossier(session: AsyncSession, principal: Principal, dossier_id: uuid.UUID) -> Dossier:
    """The draft the caller may edit, locked: the holder's own, or for the desk one it helps with (an active
    support of which it is the helper; 409 `support_state` otherwise)."""
    if principal.has_any_role(DESK_ROLES):
        dossier = await visibility.any_dossier_locked(session, principal, dossier_id)
        require_helper(principal, dossier)
        return dossier
    return await visibility.owned_dossier(session, principal=principal, dossier_id=dossier_id)
