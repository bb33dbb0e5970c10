"""The CPO's dossier a route works on, loaded (or locked) for the caller — 404 for what it may not see, 412 for
a stale If-Match — and the project's activity report a review or an evaluation reads, asked of projects before
anything is locked (on SQLite the writer's first statement takes the write lock, which no call to another
service may hold)."""

import uuid
from typing import Annotated, Any

from fastapi import Depends, Request

from common.db import Database
from common.problems import Text, UnprocessableContent
from common.resources import locked_resource, resource, validated_body
from common.tokens import Principal
from services.funding.cpo import service as cpo
from services.funding.cpo.auth import CpoReader, CpoRenewer, CpoReviewer, CpoYearCommitter
from services.funding.cpo.schemas import CpoReviewIn, FinalEvaluationIn, RenewalIn, YearCommitIn
from services.funding.models.dossier import Dossier
from services.funding.peers import PeersDep

ActivityReport = dict[str, Any] | None


async def _seen(request: Request, caller: Principal, dossier_id: uuid.UUID) -> tuple[Dossier, list[int]]:
    """The dossier and the CPO's years, read in a short reading transaction of their own."""
    database: Database = request.app.state.db
    async with database.transaction(write=False) as reading:
        dossier = await cpo.readable_dossier(reading, caller, dossier_id)
        return dossier, await cpo.cpo_years(reading, dossier)


async def _review_activity(
    dossier_id: uuid.UUID, body: CpoReviewIn, request: Request, caller: CpoReviewer, peers: PeersDep
) -> ActivityReport:
    """The activity report of the year before the one reviewed (the first year's review has none to read);
    `body` is the route's: an invalid one answers 422 before projects is asked or anything locked."""
    seen, years = await _seen(request, caller, dossier_id)
    reviewed = body.year in years and body.year > years[0]
    return await peers.activity_report(seen.project_id, str(body.year - 1)) if reviewed else None


async def _evaluation_activity(
    dossier_id: uuid.UUID, body: FinalEvaluationIn, request: Request, caller: CpoReviewer, peers: PeersDep
) -> ActivityReport:
    """The activity report of the CPO's last year (`body` is the route's: an invalid one answers 422 before
    projects is asked or anything locked)."""
    seen, years = await _seen(request, caller, dossier_id)
    return await peers.activity_report(seen.project_id, str(years[-1]))


CpoDossier = Annotated[Dossier, resource(cpo.readable_dossier, path="dossier_id", caller=CpoReader)]
# FastAPI solves a dependency once per request: the route reads the very report its lock waited for.
ReviewActivity = Annotated[ActivityReport, Depends(_review_activity)]
ReviewedCpo = Annotated[
    Dossier,
    locked_resource(cpo.reviewed_dossier, path="dossier_id", caller=CpoReviewer, if_match_required=False,
                    before=[Depends(_review_activity)]),
]
EvaluationActivity = Annotated[ActivityReport, Depends(_evaluation_activity)]
EvaluatedCpo = Annotated[
    Dossier,
    locked_resource(cpo.reviewed_dossier, path="dossier_id", caller=CpoReviewer, if_match_required=False,
                    before=[Depends(_evaluation_activity)]),
]


async def _renewal_project(
    dossier_id: uuid.UUID, body: RenewalIn, request: Request, caller: CpoRenewer, peers: PeersDep
) -> dict[str, Any] | None:
    """The project named to carry the next CPO, as projects holds it (None: the same project), asked before
    anything is locked; `body` is the route's: an invalid one answers 422 first."""
    if body.project_id is None:
        return None
    await _seen(request, caller, dossier_id)  # 404 for a dossier the caller may not read, before asking projects
    project = await peers.project(body.project_id)
    if project is None:
        raise UnprocessableContent(
            Text("Projet inconnu.", "Unknown project."),
            errors=[("body.project_id", Text("Projet inconnu.", "Unknown project."))], code="unknown_project",
        )
    return project


RenewalProject = Annotated[dict[str, Any] | None, Depends(_renewal_project)]
RenewedCpo = Annotated[
    Dossier,
    locked_resource(cpo.renewed_dossier, path="dossier_id", caller=CpoRenewer, if_match_required=False,
                    before=[validated_body(RenewalIn), Depends(_renewal_project)]),
]
CommittedCpo = Annotated[
    Dossier,
    locked_resource(cpo.funded_dossier, path="dossier_id", caller=CpoYearCommitter, if_match_required=False,
                    before=[validated_body(YearCommitIn, optional=True)]),
]
