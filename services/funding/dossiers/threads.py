"""One thread across the years: a dossier that follows another (a seed project's graduation, a CPO's renewal)
opens as a draft on the first dossier's reference, pre-filled from the one it follows."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from common.problems import Conflict, Text
from common.tokens import Principal
from services.funding.dossiers import cpo_plan, repository
from services.funding.dossiers.service import format_reference, funders_outside, trace
from services.funding.models.dossier import Dossier, FundingLine, RequestKind
from services.funding.models.programme import Programme
from services.funding.programmes.track_rules import rules_of


async def open_follow_on(
    session: AsyncSession, *, principal: Principal, previous: Dossier, target: Programme,
    asks: list[tuple[uuid.UUID | None, int, list[int]]], now: datetime, action: str,
    project_id: uuid.UUID | None = None, **fields: Any,
) -> Dossier:
    """A draft on `target` for the same project and association, asking each funder what `asks` says (funder,
    amount, and for a CPO the amount of each year). A funder the new programme does not have leaves its share to
    the desk to allocate. `project_id`: another project of the association to carry it (checked by the caller)."""
    already = await repository.follower_reference(session, previous.id)
    if already is not None:
        raise Conflict(Text(f"Le dossier {already} prolonge déjà celui-ci.", f"Dossier {already} already follows it."),
                       code="follow_on_exists", extra={"reference": already})
    rules = rules_of(target)
    given = {len(yearly) for _, _, yearly in asks if yearly}
    years = (next(iter(given)) if len(given) == 1 else rules.default_years) if rules.multi_year else None
    outside = set(await funders_outside(session, target.id, [funder for funder, _, _ in asks]))
    kept = [(funder, amount, yearly) for funder, amount, yearly in asks
            if funder is not None and str(funder) not in outside]
    left = sum(amount for _, amount, _ in asks) - sum(amount for _, amount, _ in kept)
    number = await repository.next_reference_number(session, now.year)
    draft = Dossier(
        reference=format_reference(now.year, number), programme_id=target.id,
        project_id=project_id or previous.project_id,
        organisation_id=previous.organisation_id, requested_total_cents=sum(amount for _, amount, _ in asks),
        document_version_ids=list(previous.document_version_ids), cpo_years=years,
        thread_reference=previous.thread_reference, previous_dossier_id=previous.id,
        # A renewal asks again what the dossier it renews asked; a graduation is a first request of a new kind.
        request_object=previous.request_object, aid_nature=list(previous.aid_nature),
        request_kind=RequestKind.renewal if action == "opened_by_renewal" else RequestKind.first,
        created_by=principal.subject, **fields,
    )
    session.add(draft)
    await session.flush()
    plan = [FundingLine(dossier_id=draft.id, position=index, funder_id=funder, amount_cents=amount,
                        yearly_amounts_cents=list(yearly) if years and len(yearly) == years else [])
            for index, (funder, amount, yearly) in enumerate(kept)]
    if left:
        plan.append(FundingLine(dossier_id=draft.id, position=len(plan), funder_id=None, amount_cents=left))
    for line in plan:
        if years:
            line.yearly_amounts_cents = cpo_plan.yearly_of(line, years)
    await repository.replace_lines(session, draft.id, plan)
    session.add(trace(draft, principal, action, None, previous.reference))
    return draft
