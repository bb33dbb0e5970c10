"""A CPO's later years, committed when each opens: each year's amount is subject to that year's budget vote, so
the committee's decision commits the first year only, and each later one is committed on that year's envelope of
each funder from 1 January of the year — by the funder for its share, by the desk for one funder or all, or by
that year's review. The whole request is refused (nothing committed) when one envelope cannot take its year."""

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from common.problems import Text, UnprocessableContent
from common.tokens import Principal
from services.funding.cpo.schemas import YearCommitIn
from services.funding.cpo.service import cpo_years, refused, require_running
from services.funding.dossiers.service import moved, trace
from services.funding.grants import grant_years, grant_years_repository
from services.funding.models.cpo import CpoState
from services.funding.models.dossier import Dossier
from services.vocabulary import DESK_ROLES


async def commit_years(
    session: AsyncSession, dossier_id: uuid.UUID, year: int, *, actor: str, now: datetime,
    funder_id: uuid.UUID | None = None,
) -> tuple[int, int]:
    """Commit the CPO's `year` for each of its funders (or one) whose year still waits for its budget, each on
    that year's envelope; 409 naming the year and the funder when one cannot take it. Returns how many of the
    funders' years it found, and how many it committed."""
    # Payments first, then years, then envelopes: the order a payment's own moves take their locks in.
    await grant_years_repository.lock_pending_payments(session, dossier_id, year)
    found = committed = 0
    for row in await grant_years_repository.years_of_dossier(session, dossier_id, lock=True):
        if row.year == year and (funder_id is None or row.funder_id == funder_id):
            found += 1
            committed += await grant_years.commit_year(session, row, actor=actor, now=now)
    return found, committed


async def open_year(
    session: AsyncSession, *, principal: Principal, dossier: Dossier, year: int, request: YearCommitIn,
    now: datetime,
) -> int:
    """The route's rules: a running (or suspended) CPO, one of its years, opened (from 1 January); a funder
    commits its own share only. The same call again commits nothing more."""
    require_running(dossier, CpoState.running, CpoState.suspended)
    years = await cpo_years(session, dossier)
    if year not in years:
        raise UnprocessableContent(
            Text("Une année de la CPO.", "One of the CPO's years."),
            errors=[("path.year", Text(f"Une de : {years}.", f"One of: {years}."))], code="not_a_cpo_year",
        )
    if year > now.year:
        raise refused(Text(f"L'année {year} s'ouvre le 1er janvier {year} : son budget n'est pas encore voté.",
                           f"Year {year} opens on 1 January {year}: its budget is not voted yet."),
                      "year_not_open", year=year)
    funder_id = request.funder_id
    if not principal.has_any_role(DESK_ROLES):
        if funder_id not in (None, principal.organisation_id):
            raise UnprocessableContent(
                Text("Un financeur engage sa propre part.", "A funder commits its own share."),
                errors=[("body.funder_id", Text("Votre organisation, ou rien.", "Your organisation, or nothing."))],
                code="not_your_share",
            )
        funder_id = principal.organisation_id
    found, committed = await commit_years(session, dossier.id, year, actor=principal.subject, now=now,
                                          funder_id=funder_id)
    if not found:
        raise UnprocessableContent(
            Text("Ce financeur n'est pas partie à la CPO.", "This funder is no party to the CPO."),
            errors=[("body.funder_id", Text("Un financeur de la CPO.", "A funder of the CPO."))],
            code="not_a_cpo_funder",
        )
    if committed:
        moved(dossier)
        session.add(trace(dossier, principal, "cpo_year_committed", dossier.state, f"{year}"))
        await session.flush()
    return committed
