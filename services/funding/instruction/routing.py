"""Routing: an admissible dossier is sent to each funder of its plan; a funder may decline (its line goes
back to the desk to allocate); when every funder routed has given its opinion, the dossier is ready for
the committee."""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from common.db import utcnow
from common.problems import Conflict, NotFound, Text
from common.tokens import Principal
from services.funding.dossiers import repository as dossiers_repository
from services.funding.dossiers.schemas import DossierPublic
from services.funding.dossiers.service import DOSSIER_NOT_FOUND, moved, require_action, to_public, trace
from services.funding.instruction import repository
from services.funding.instruction.schemas import RoutingDecline, RoutingPublic
from services.funding.models.dossier import (
    Dossier,
    DossierRouting,
    DossierState,
    FundingLine,
    RoutingState,
)


async def settle(session: AsyncSession, *, dossier: Dossier, principal: Principal) -> None:
    """In instruction → ready for the committee once every share is routed and every funder routed has given
    its opinion; back to instruction when a new funder is routed or one declines."""
    if dossier.state not in (DossierState.in_instruction, DossierState.ready_for_committee):
        return
    lines = (await dossiers_repository.lines_of(session, [dossier.id]))[dossier.id]
    routed = await dossiers_repository.routed_funders(session, dossier.id)
    ready = (
        bool(routed)
        and all(line.funder_id in routed for line in lines)
        and await repository.opinions_given_by(session, dossier.id, routed) == len(routed)
    )
    wanted = DossierState.ready_for_committee if ready else DossierState.in_instruction
    if dossier.state != wanted:
        previous = dossier.state
        dossier.state = wanted
        moved(dossier)
        session.add(trace(dossier, principal, "ready_for_committee" if ready else "back_in_instruction", previous))
        await session.flush()


async def route(session: AsyncSession, *, principal: Principal, dossier: Dossier) -> DossierPublic:
    """Send the dossier to every funder of its plan not yet routed; the desk's share must be allocated first."""
    require_action(dossier, "route")
    lines = (await dossiers_repository.lines_of(session, [dossier.id]))[dossier.id]
    if any(line.funder_id is None for line in lines):
        raise Conflict(
            Text(
                "Répartissez d'abord le montant laissé au guichet.",
                "Allocate the amount left to the desk first.",
            ),
            code="unallocated_share",
        )
    known = {routing.funder_id for routing in await dossiers_repository.routings_of(session, dossier.id)}
    new = [line for line in lines if line.funder_id not in known]
    if not new:
        raise Conflict(
            Text("Chaque financeur du plan a déjà reçu le dossier.", "Every funder of the plan already has it."),
            code="nothing_to_route",
        )
    session.add_all(
        DossierRouting(dossier_id=dossier.id, funder_id=line.funder_id, amount_cents=line.amount_cents,
                       routed_by=principal.subject)
        for line in new
        if line.funder_id is not None  # always: a share left to the desk was refused above
    )
    previous = dossier.state
    dossier.state = DossierState.in_instruction
    moved(dossier)
    session.add(trace(dossier, principal, "routed", previous, ", ".join(str(line.funder_id) for line in new)))
    await session.flush()
    await settle(session, dossier=dossier, principal=principal)
    return await to_public(session, dossier)


async def decline(
    session: AsyncSession, *, principal: Principal, dossier_id: uuid.UUID, request: RoutingDecline
) -> DossierPublic:
    """The caller's funder gives the dossier back: its line joins the desk's share, to allocate to another."""
    dossier = await dossiers_repository.dossier_by_id(session, dossier_id, for_update=True)
    routing = None
    if dossier is not None and principal.organisation_id is not None:
        routing = await repository.routing_of(session, dossier.id, principal.organisation_id)
    if dossier is None or routing is None:
        raise NotFound(DOSSIER_NOT_FOUND)
    if routing.state == RoutingState.declined:
        raise Conflict(
            Text("Votre financeur a déjà décliné ce dossier.", "Your funder already declined this dossier."),
            code="routing_already_declined",
        )
    require_action(dossier, "decline_routing")
    routing.state = RoutingState.declined
    routing.declined_by = principal.subject
    routing.declined_at = utcnow()
    routing.decline_reason = request.reason
    lines = (await dossiers_repository.lines_of(session, [dossier.id]))[dossier.id]
    given_back = sum(line.amount_cents for line in lines if line.funder_id == principal.organisation_id)
    pending = sum(line.amount_cents for line in lines if line.funder_id is None)
    kept = [line for line in lines if line.funder_id not in (principal.organisation_id, None)]
    plan = [
        FundingLine(dossier_id=dossier.id, position=index, funder_id=line.funder_id, amount_cents=line.amount_cents)
        for index, line in enumerate(kept)
    ]
    if given_back + pending:
        plan.append(FundingLine(dossier_id=dossier.id, position=len(kept), funder_id=None,
                                amount_cents=given_back + pending))
    await dossiers_repository.replace_lines(session, dossier.id, plan)
    moved(dossier)
    session.add(trace(dossier, principal, "routing_declined", dossier.state, request.reason))
    await session.flush()
    await settle(session, dossier=dossier, principal=principal)
    return await to_public(session, dossier)


async def routings(session: AsyncSession, *, dossier: Dossier) -> list[RoutingPublic]:
    """To which funders the dossier is routed, and which declined it, in the order they were routed."""
    return [RoutingPublic(**row.model_dump()) for row in await dossiers_repository.routings_of(session, dossier.id)]
