"""Who sees a dossier: the holder its own, a funder those routed to it (and not declined), the desk every one,
a citizen council the examined dossiers of its QPVs; to anyone else it does not exist (404)."""

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from common.pagination import split_page
from common.problems import NotFound
from common.tokens import Principal
from services.funding.dossiers import filters, repository
from services.funding.dossiers.public import to_public_many, to_summaries
from services.funding.dossiers.schemas import DossierPublic, DossierSummary
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
    """A holder sees its own; a funder, the dossiers routed to it (and not declined); the desk, all
    (`repository.readable_dossiers`); a citizen council (only when `peers` is given), the examined dossiers of its
    QPVs."""
    dossier = await repository.readable_dossier(session, principal, dossier_id)
    if dossier is not None:
        return dossier
    if peers is not None and principal.has_any_role(COUNCIL_ROLES):
        dossier = await repository.dossier_by_id(session, dossier_id)
        if (
            dossier is not None
            and dossier.state in COUNCIL_STATES  # before asking identity
            and council_covers(dossier, await council_qpvs(peers, principal))
        ):
            return dossier
    raise NotFound(DOSSIER_NOT_FOUND)


# The list counterpart of `visible_dossier`: the same three views (desk, holder, funder); `decision_overdue` narrows
# it to the dossiers whose service clock ran out by `now`, or to the others.
visible_dossiers = repository.list_dossiers


async def visible_page(
    session: AsyncSession,
    *,
    principal: Principal,
    state: str | None,
    programme_id: uuid.UUID | None,
    updated_since: datetime | None,
    limit: int,
    cursor: str | None,
    decision_overdue: bool | None,
    now: datetime,
    filters: filters.DossierFilters,
    summary: bool,
) -> tuple[list[DossierPublic | DossierSummary], str | None]:
    """A page of `visible_dossiers`, whole or summed up, and the next page's cursor."""
    rows = await visible_dossiers(
        session, principal=principal, state=state, programme_id=programme_id, updated_since=updated_since,
        limit=limit, cursor=cursor, decision_overdue=decision_overdue, now=now, filters=filters, summary=summary,
    )
    page, next_cursor = split_page(rows, limit=limit)
    items: list[DossierPublic | DossierSummary] = [
        *(await to_summaries(session, page) if summary else await to_public_many(session, page))
    ]
    return items, next_cursor


async def owned_dossier(session: AsyncSession, *, principal: Principal, dossier_id: uuid.UUID) -> Dossier:
    """The caller's own dossier, locked for the change it is about to make (If-Match, state checks)."""
    dossier = await repository.dossier_by_id(session, dossier_id, for_update=True)
    if dossier is None or dossier.organisation_id != principal.organisation_id:
        raise NotFound(DOSSIER_NOT_FOUND)
    return dossier


async def any_dossier_locked(session: AsyncSession, principal: Principal, dossier_id: uuid.UUID) -> Dossier:
    """Any dossier, for the desk, locked for the move it is about to make (the loader of `DeskDossier`)."""
    dossier = await repository.dossier_by_id(session, dossier_id, for_update=True)
    if dossier is None:
        raise NotFound(DOSSIER_NOT_FOUND)
    return dossier


async def owned_dossier_locked(session: AsyncSession, principal: Principal, dossier_id: uuid.UUID) -> Dossier:
    """The caller's own dossier, locked (the loader of `OwnedDossier`)."""
    return await owned_dossier(session, principal=principal, dossier_id=dossier_id)


async def readable_dossier(session: AsyncSession, principal: Principal, dossier_id: uuid.UUID) -> Dossier:
    """A dossier the caller may read, citizen councils aside (the loader of `CurrentDossier`)."""
    return await visible_dossier(session, principal=principal, dossier_id=dossier_id)
