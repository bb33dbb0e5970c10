"""Who sees a dossier: the holder its own, a funder those routed to it (and not declined), the desk every one,
a citizen council the examined dossiers of its QPVs and those it gave its opinion on; to anyone else it does not
exist (404)."""

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
from services.funding.models.dossier import Dossier
from services.funding.peers import Peers
from services.vocabulary import COUNCIL_ROLES, DESK_ROLES, FUNDER_ROLES, HOLDER_ROLES

COUNCIL_STATES = repository.COUNCIL_STATES


async def council_qpvs(peers: Peers, principal: Principal) -> frozenset[str]:
    """The QPVs the caller's citizen council speaks for, as identity knows them."""
    if principal.organisation_id is None:
        return frozenset()
    card = await peers.organisation(principal.organisation_id)
    if card is None or card.get("kind") != "citizen_council":
        return frozenset()
    return frozenset(card.get("qpv_codes") or [])


def council_covers(dossier: Dossier, qpvs: frozenset[str]) -> bool:
    """The dossier is examined and its project (as submitted) touches one of the council's QPVs."""
    touched = set((dossier.project_snapshot or {}).get("qpv_codes") or [])
    return dossier.state in COUNCIL_STATES and not touched.isdisjoint(qpvs)


def council_view(public: DossierPublic) -> DossierPublic:
    """What a citizen council reads of a dossier: the project and its budget as submitted; the association's
    people, contacts, yearly budget and documents, and its call for help, stay with the desk and the funders."""
    return public.model_copy(update={
        "organisation_snapshot": None, "association_budget_snapshot": None,
        "document_version_ids": [], "documents_snapshot": None, "support_message": None, "support_helper": None,
    })


async def public_view(session: AsyncSession, *, principal: Principal, dossier: Dossier) -> DossierPublic:
    """The dossier as the caller may read it. A citizen council reads the project and its budget as submitted;
    the association's people, contacts, yearly budget and documents stay with the desk and the funders."""
    public = await to_public(session, dossier)
    if principal.has_any_role(DESK_ROLES | HOLDER_ROLES):
        return public
    if principal.has_any_role(FUNDER_ROLES):  # the holder's call for help is between it and the desk
        return public.model_copy(update={"support_message": None, "support_helper": None})
    return council_view(public)


async def visible_dossier(
    session: AsyncSession, *, principal: Principal, dossier_id: uuid.UUID, peers: Peers | None = None
) -> Dossier:
    """A holder sees its own; a funder, the dossiers routed to it (and not declined); the desk, all; a citizen
    council (only when `peers` is given, to ask identity for its QPVs), the examined dossiers of its QPVs and those
    it gave its opinion on (`repository.readable_dossiers`)."""
    qpvs = await council_qpvs(peers, principal) if peers is not None and principal.has_any_role(COUNCIL_ROLES) else None
    dossier = await repository.readable_dossier(session, principal, dossier_id, qpvs)
    if dossier is None:
        raise NotFound(DOSSIER_NOT_FOUND)
    return dossier


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
    peers: Peers | None = None,
) -> tuple[list[DossierPublic | DossierSummary], str | None]:
    """A page of `visible_dossiers`, whole or summed up, and the next page's cursor; a citizen council's (with
    `peers`, to learn its QPVs) as `council_view` shows each."""
    council = peers is not None and principal.has_any_role(COUNCIL_ROLES)
    rows = await visible_dossiers(
        session, principal=principal, state=state, programme_id=programme_id, updated_since=updated_since,
        limit=limit, cursor=cursor, decision_overdue=decision_overdue, now=now, filters=filters, summary=summary,
        council_qpvs=await council_qpvs(peers, principal) if council and peers is not None else None,
    )
    page, next_cursor = split_page(rows, limit=limit)
    if summary:
        return [*await to_summaries(session, page)], next_cursor
    whole = await to_public_many(session, page)
    return [*(map(council_view, whole) if council else whole)], next_cursor


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
