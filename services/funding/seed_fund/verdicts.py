"""The end of a seed-fund project: a verdict — stop, continue, or graduate. Graduating opens a draft dossier on a
CPO or annual-call programme, on the same thread (the first dossier's reference), pre-filled from the seed one."""

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from common.problems import Conflict, Text, UnprocessableContent
from common.tokens import Principal
from services.funding.dossiers import repository as dossiers_repository
from services.funding.dossiers import threads
from services.funding.dossiers.service import any_dossier, moved, open_programme, to_public, trace
from services.funding.models.agreement import ReviewState
from services.funding.models.dossier import Dossier, DossierState
from services.funding.models.programme import Track
from services.funding.programmes import repository as programmes_repository
from services.funding.seed_fund.repository import review_of
from services.funding.seed_fund.schemas import VerdictIn, VerdictOutcome

# Where a seed project may graduate to.
GRADUATION_TRACKS = (Track.cpo, Track.annual)


async def judged_dossier(session: AsyncSession, principal: Principal, dossier_id: uuid.UUID) -> Dossier:
    """For the desk: any dossier, locked for its verdict; 404 when there is none."""
    return await any_dossier(session, dossier_id)


async def give(
    session: AsyncSession, *, principal: Principal, dossier: Dossier, request: VerdictIn, now: datetime
) -> VerdictOutcome:
    """Once the project is funded and its mid-term review accepted; once."""
    programme = await programmes_repository.programme_by_id(session, dossier.programme_id)
    review = await review_of(session, dossier.id)
    if (programme is None or programme.track != Track.seed or dossier.state != DossierState.decided
            or review is None or review.state != ReviewState.accepted):
        raise Conflict(
            Text("Le verdict clôt un projet du fonds d'amorçage financé dont le bilan à mi-parcours est validé.",
                 "The verdict ends a funded seed-fund project whose mid-term review is accepted."),
            code="no_verdict_yet",
        )
    if dossier.verdict is not None:
        raise Conflict(Text(f"Verdict déjà rendu : {dossier.verdict}.", f"Verdict already given: {dossier.verdict}."),
                       code="verdict_given", extra={"verdict": dossier.verdict})
    draft = None
    if request.verdict == "graduate":
        draft = await _graduate(session, principal=principal, seed=dossier, request=request, now=now)
    dossier.verdict, dossier.verdict_comment, dossier.verdict_at = request.verdict, request.comment, now
    moved(dossier)
    session.add(trace(dossier, principal, f"verdict_{request.verdict}", dossier.state, request.comment))
    await session.flush()
    return VerdictOutcome(dossier=await to_public(session, dossier),
                          draft=await to_public(session, draft) if draft else None)


async def _graduate(
    session: AsyncSession, *, principal: Principal, seed: Dossier, request: VerdictIn, now: datetime
) -> Dossier:
    assert request.programme_id is not None  # the schema says so
    target = await open_programme(session, request.programme_id, now.date())
    if target.track not in GRADUATION_TRACKS:
        raise UnprocessableContent(
            Text("On essaime vers une CPO ou l'appel annuel.", "A seed project graduates to a CPO or the annual call."),
            errors=[("body.programme_id", Text("Programme CPO ou appel annuel.", "A CPO or annual-call programme."))],
            code="not_a_graduation_programme",
        )
    lines = (await dossiers_repository.lines_of(session, [seed.id]))[seed.id]
    return await threads.open_follow_on(
        session, principal=principal, previous=seed, target=target,
        asks=[(line.funder_id, line.amount_cents, []) for line in lines], now=now, action="opened_by_graduation",
        partners=list(seed.partners), learning_plan=seed.learning_plan,
    )
