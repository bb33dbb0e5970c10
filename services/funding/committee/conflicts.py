"""Conflicts of interest, declared by the members before the session opens, and what a member needs to speak in
session: its funder present, and no conflict declared on the item."""

from sqlalchemy.ext.asyncio import AsyncSession

from common.problems import Conflict, Text, UnprocessableContent
from common.tokens import Principal
from services.funding.committee import repository
from services.funding.committee.schemas import ConflictDeclaration
from services.funding.committee.sessions import ITEM_NOT_FOUND, require_state, sees_item, visible_items
from services.funding.models.committee import AgendaItem, CommitteeSession, Recusal, SessionState


async def require_present(session: AsyncSession, committee: CommitteeSession, principal: Principal) -> None:
    attendance = await repository.invitation(session, committee.id, principal.organisation_id)
    if attendance is None or not attendance.present:
        raise Conflict(
            Text("Votre financeur n'est pas présent à cette séance.", "Your funder is not present at this session."),
            code="funder_not_present",
        )


async def require_not_recused(session: AsyncSession, item: AgendaItem, principal: Principal, refusal: Text) -> None:
    if await repository.is_recused(session, item.id, principal.subject):
        raise Conflict(refusal, code="recused")


async def declare_conflict(
    session: AsyncSession, *, principal: Principal, committee: CommitteeSession, request: ConflictDeclaration
) -> Recusal:
    require_state(committee, SessionState.planned, "declare_conflict")
    # Locked, so that the same member declaring twice at once gets the 409 below, not the unique constraint.
    item = await repository.item_by_id(session, request.item_id, for_update=True)
    if item is None or item.session_id != committee.id or not await sees_item(session, principal, item):
        raise UnprocessableContent(
            ITEM_NOT_FOUND, errors=[("body.item_id", ITEM_NOT_FOUND)], code="unknown_item"
        )
    if await repository.is_recused(session, item.id, principal.subject):
        raise Conflict(
            Text("Vous avez déjà déclaré un conflit d'intérêts sur ce point.",
                 "You already declared a conflict of interest on this item."),
            code="conflict_already_declared",
        )
    recusal = Recusal(
        session_id=committee.id, item_id=item.id, member=principal.subject,
        organisation_id=principal.organisation_id, reason=request.reason,
    )
    session.add(recusal)
    await session.flush()
    return recusal


async def declared_conflicts(session: AsyncSession, principal: Principal, committee: CommitteeSession) -> list[Recusal]:
    """The conflicts declared on the items of the session the caller sees."""
    items = await visible_items(session, principal, await repository.items_of(session, committee.id))
    shown = {item.id for item in items}
    return [recusal for recusal in await repository.recusals_of(session, committee.id) if recusal.item_id in shown]
