"""Who sees a dossier: the holder its own, a funder those routed to it (and not declined), the desk every one,
a citizen council the examined dossiers of its QPVs; to anyone else it does not exist (404)."""

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from common.problems import NotFound
from common.tokens import Principal
from services.funding.dossiers import filters, repository
from services.funding.dossiers.schemas import DossierPublic
from services.funding.dossiers.service import DOSSIER_NOT_FOUND, to_public
from services.funding.models.dossier import Dossier, DossierState
from services.funding.peers import Peers
from services.vocabulary import COUNCIL_ROLES, DESK_ROLES, FUNDER_ROLES, HOLDER_ROLES

# A citizen council sees the dossiers of its QPVs while they are examined, not before (nor after, for now).
COUNCIL_STATES = (DossierState.in_instruction, DossierState.ready_for_committee)


async def council_qpvs(peers: Peers, principal: Principal) -> set[str]:
    """The QPVs the caller's citizen council speaks for, as identity knows them."""
    if principal.organisation_id is None:
        return set()
    card = await peers.organisation(principal.organisation_id)
    if card is None or card.get("kind") != "citizen_council":
        return set()
    return set(card.get("qpv_codes") or [])


def council_covers(dossier: Dossier, qpvs: set[str]) -> bool:
    """The dossier is examined and its project (as submitted) touches one of the council's QPVs."""
    touched = set((dossier.project_snapshot or {}).get("qpv_codes") or [])
    return dossier.state in COUNCIL_STATES and not touched.isdisjoint(qpvs)


async def public_view(session: AsyncSession, *, principal: Principal, dossier: Dossier) -> DossierPublic:
    """The dossier as the caller may read it. A citizen council reads the project and its budget as submitted;
    the association's people, contacts, yearly budget and documents stay with the desk and the funders."""
    public = await to_public(session, dossier)
    if principal.has_any_role(DESK_ROLES | HOLDER_ROLES):
        return public
    if principal.has_any_role(FUNDER_ROLES):  # the holder's call for help is between it and the desk
        return public.model_copy(update={"support_message": None, "support_helper": None})
    return public.model_copy(update={
        "organisation_snapshot": None, "association_budget_snapshot": None,
        "document_version_ids": [], "documents_snapshot": None,
    })


async def visible_dossier(
    session: AsyncSession, *, principal: Principal, dossier_id: uuid.UUID, peers: Peers | None = None
) -> Dossier:
    """A holder sees its own; a funder, the dossiers routed to it (and not declined); the desk, all; a citizen
    council (only when `peers` is given), the examined dossiers of its QPVs."""
    dossier = await repository.dossier_by_id(session, dossier_id)
    if dossier is None:
        raise NotFound(DOSSIER_NOT_FOUND)
    if principal.has_any_role(DESK_ROLES):
        return dossier
    if principal.has_any_role(HOLDER_ROLES) and dossier.organisation_id == principal.organisation_id:
        return dossier
    if (
        principal.has_any_role(FUNDER_ROLES)
        and principal.organisation_id is not None
        and await repository.is_routed_to(session, dossier.id, principal.organisation_id)
    ):
        return dossier
    if (
        peers is not None
        and principal.has_any_role(COUNCIL_ROLES)
        and dossier.state in COUNCIL_STATES  # before asking identity
        and council_covers(dossier, await council_qpvs(peers, principal))
    ):
        return dossier
    raise NotFound(DOSSIER_NOT_FOUND)


async def visible_dossiers(
    session: AsyncSession,
    *,
    principal: Principal,
    state: str | None,
    programme_id: uuid.UUID | None,
    updated_since: datetime | None,
    limit: int,
    cursor: str | None,
    decision_overdue: bool | None = None,
    now: datetime | None = None,
    filters: filters.DossierFilters | None = None,
    summary: bool = False,
) -> list[Dossier]:
    """The list counterpart of `visible_dossier`: the same three views (desk, holder, funder); `decision_overdue`
    narrows it to the dossiers whose service clock ran out by `now`, or to the others."""
    desk = principal.has_any_role(DESK_ROLES)
    holder = not desk and principal.has_any_role(HOLDER_ROLES)
    return await repository.list_dossiers(
        session,
        holder_organisation=principal.organisation_id if holder else None,
        funder_organisation=principal.organisation_id if not desk and not holder else None,
        state=state, programme_id=programme_id, updated_since=updated_since, limit=limit, cursor=cursor,
        decision_overdue=decision_overdue, now=now, filters=filters, summary=summary,
    )


async def owned_dossier(session: AsyncSession, *, principal: Principal, dossier_id: uuid.UUID) -> Dossier:
    """The caller's own dossier, locked for the change it is about to make (If-Match, state checks)."""
    dossier = await repository.dossier_by_id(session, dossier_id, for_update=True)
    if dossier is None or dossier.organisation_id != principal.organisation_id:
        raise NotFound(DOSSIER_NOT_FOUND)
    return dossier
