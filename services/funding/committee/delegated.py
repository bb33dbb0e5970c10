"""Small projects: decided by the lead funder's manager alone, without a committee, within the service clock's
target; the grant, its letter (in force at once), its single payment and its light report follow the decision,
and the association gets one notification."""

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from common.clock import Clock
from common.money import euros
from common.problems import Conflict, NotFound, Text, UnprocessableContent
from common.tokens import Principal
from services.funding.committee.closing import outcome_of, recipients_of
from services.funding.committee.schemas import DecisionIn, MinutesDecision, MinutesItem
from services.funding.dossiers import repository as dossiers_repository
from services.funding.dossiers import service_clock
from services.funding.dossiers.schemas import DossierPublic
from services.funding.dossiers.service import DOSSIER_NOT_FOUND, moved, require_action, to_public, trace
from services.funding.envelopes import money as envelopes_money
from services.funding.grants import agreements
from services.funding.models.committee import FunderDecision, ItemState
from services.funding.models.dossier import Dossier, DossierRouting, DossierState
from services.funding.notifications import service as notifications
from services.funding.programmes.service import get_programme
from services.funding.programmes.track_rules import rules_of


async def route_to_lead(session: AsyncSession, *, principal: Principal, dossier: Dossier) -> None:
    """Once admissible, a small project goes to its lead funder, whose people then see it."""
    programme = await get_programme(session, dossier.programme_id)
    rules = rules_of(programme)
    if not rules.delegated:
        return
    lines = (await dossiers_repository.lines_of(session, [dossier.id]))[dossier.id]
    session.add(DossierRouting(dossier_id=dossier.id, funder_id=uuid.UUID(rules.lead_funder_id),
                               amount_cents=sum(line.amount_cents for line in lines), routed_by=principal.subject))


async def organisations_to_ask(session: AsyncSession, principal: Principal, dossier_id: uuid.UUID) -> list[uuid.UUID]:
    """Whose names and addresses identity gives before the dossier is locked: its association's and the caller's
    funder's."""
    dossier = await dossiers_repository.dossier_by_id(session, dossier_id)
    if dossier is None:
        raise NotFound(DOSSIER_NOT_FOUND)
    return [dossier.organisation_id, *([principal.organisation_id] if principal.organisation_id else [])]


async def decidable(session: AsyncSession, principal: Principal, dossier_id: uuid.UUID) -> Dossier:
    """The dossier, locked, if it is routed to the caller's funder (a manager: the route says so) and that funder
    leads its programme; a dossier decided by a committee is a 409."""
    dossier = await dossiers_repository.dossier_by_id(session, dossier_id, for_update=True)
    if (dossier is None or principal.organisation_id is None
            or not await dossiers_repository.is_routed_to(session, dossier.id, principal.organisation_id)):
        raise NotFound(DOSSIER_NOT_FOUND)
    rules = rules_of(await get_programme(session, dossier.programme_id))
    if not rules.delegated or str(principal.organisation_id) != rules.lead_funder_id:
        raise Conflict(
            Text("Ce dossier est décidé par le comité des financeurs.", "This dossier is decided by the committee."),
            code="not_delegated",
        )
    return dossier


async def decide(
    session: AsyncSession, *, principal: Principal, dossier: Dossier, request: DecisionIn, clock: Clock,
    holder: dict[str, Any] | None, funder_name: str, cards: dict[uuid.UUID, dict[str, Any] | None],
) -> tuple[DossierPublic, uuid.UUID]:
    """The funder's answer: the amount granted (at most what was asked) committed on its envelope, or nothing
    with a reason; the dossier decided, its grant and single payment made, the association notified (the
    notification to send once committed is returned). `holder`, `funder_name` and `cards` (both organisations') are
    identity's, read before the dossier was locked."""
    require_action(dossier, "decide")
    programme = await get_programme(session, dossier.programme_id)
    lines = (await dossiers_repository.lines_of(session, [dossier.id]))[dossier.id]
    [line] = lines  # a simplified dossier asks its lead funder alone
    funder_id = line.funder_id
    assert funder_id is not None  # its one line is the lead funder's share
    granted = request.granted_amount_cents
    if granted > line.amount_cents:
        asked = euros(line.amount_cents)
        raise UnprocessableContent(
            Text(f"Au plus {asked.fr}, le montant demandé.", f"At most {asked.en}, the amount asked."),
            errors=[("body.granted_amount_cents", Text(f"Au plus {asked.fr}.", f"At most {asked.en}."))],
            code="above_amount_asked",
            extra={"asked_cents": line.amount_cents},
        )
    if granted > 0:
        await envelopes_money.commit(
            session, funder_id=funder_id, programme_id=programme.id, year=programme.year, amount_cents=granted,
            dossier_id=dossier.id, actor=principal.subject,
        )
    now = clock.now()
    outcome = outcome_of(lines, {funder_id: granted})
    previous = dossier.state
    dossier.state, dossier.outcome, dossier.decided_at = DossierState.decided, outcome, now
    service_clock.stop(dossier)
    moved(dossier)
    session.add(trace(dossier, principal, "decided", previous, outcome))
    # The decision itself, as a committee's is kept (without an item): GET /decisions and the export list it.
    session.add(FunderDecision(
        item_id=None, dossier_id=dossier.id, funder_id=funder_id, decided_by=principal.subject,
        granted_cents=granted, conditions=request.conditions,
        refusal_reason=request.refusal_reason if granted == 0 else None,
        decision_reference=request.decision_reference if granted > 0 else None,
    ))
    await agreements.grant_shares(
        session, dossier=dossier, programme=programme, lines=lines,
        shares={funder_id: agreements.Share(granted, request.conditions, request.decision_reference)},
        session_id=None, decided_at=now,
        decided_by=principal.subject, cards=cards,
    )
    item = MinutesItem(
        position=1, item_id=dossier.id, dossier_id=dossier.id, reference=dossier.reference,
        organisation_id=dossier.organisation_id,
        organisation_name=(holder or {}).get("name") or str(dossier.organisation_id),
        project_title=(dossier.project_snapshot or {}).get("title") or "", note=None, state=ItemState.decided,
        outcome=outcome, deferral_reason=None, asked_cents=line.amount_cents, granted_cents=granted,
        decisions=[MinutesDecision(
            funder_id=funder_id, funder_name=funder_name, asked_cents=line.amount_cents, granted_cents=granted,
            conditions=request.conditions, refusal_reason=request.refusal_reason if granted == 0 else None,
            decided_by=principal.subject,
        )],
        recusals=[],
    )
    notification = await notifications.notify_delegated(
        session, item=item, decided_on=now.date(), recipients=recipients_of(dossier, holder)
    )
    await session.flush()
    return await to_public(session, dossier), notification
