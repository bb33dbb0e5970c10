"""The dossier an instruction route names, as a dependency: read, locked for the desk's move or the holder's
withdrawal, or locked with the caller's opinion for its replacement (If-Match checked against the opinion)."""

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Path, Request

from common.clock import ClockDep
from common.db import Database, SessionDep
from common.etag import check_if_match
from common.problems import NotFound
from common.resources import validated_body
from services.funding.dossiers import repository as dossiers_repository
from services.funding.dossiers import submission
from services.funding.dossiers.dependencies import current_dossier, locked_dossier, owned_dossier
from services.funding.dossiers.service import DOSSIER_NOT_FOUND
from services.funding.instruction import opinions
from services.funding.instruction.auth import AdmissibilityReader, DeskInstructor, DossierWithdrawer, OpinionAuthor
from services.funding.instruction.schemas import (
    AdmissibilityDecision,
    Allocation,
    AuthorKind,
    OpinionIn,
    SupplementsRequest,
    Withdrawal,
)
from services.funding.models.dossier import Dossier, DossierOpinion
from services.funding.peers import PeersDep

# Read by the desk or its holder (admissibility).
AdmissibilityDossier = Annotated[Dossier, current_dossier(AdmissibilityReader)]
# Any dossier, locked for the desk's move: the routing; the moves with a body read it first (an invalid one is 422
# whatever its If-Match).
InstructedDossier = Annotated[Dossier, locked_dossier(DeskInstructor)]


async def _admissibility_compliance(
    caller: DeskInstructor, body: AdmissibilityDecision, dossier_id: Annotated[uuid.UUID, Path()], request: Request,
    peers: PeersDep, clock: ClockDep,
) -> dict[str, Any] | None:
    """What the vault says of the required documents, asked before the dossier is locked (on SQLite the writer's
    first statement takes the write lock, which no call to another service may hold); only an admissible
    decision reads it. `body` is the route's: an invalid one is 422 before projects is asked."""
    if body.decision != "admissible":
        return None
    database: Database = request.app.state.db
    async with database.transaction(write=False) as reading:
        seen = await dossiers_repository.dossier_by_id(reading, dossier_id)
        if seen is None:
            raise NotFound(DOSSIER_NOT_FOUND)
        return await submission.document_compliance(reading, dossier=seen, peers=peers, today=clock.today())


# FastAPI solves a dependency once per request: the route reads the very answer gathered before the lock.
ADMISSIBILITY_COMPLIANCE = Depends(_admissibility_compliance)
AdmissibilityCompliance = Annotated[dict[str, Any] | None, ADMISSIBILITY_COMPLIANCE]
DecidedDossier = Annotated[
    Dossier, locked_dossier(DeskInstructor, before=[validated_body(AdmissibilityDecision), ADMISSIBILITY_COMPLIANCE])
]
SupplementedDossier = Annotated[Dossier, locked_dossier(DeskInstructor, before=[validated_body(SupplementsRequest)])]
AllocatedDossier = Annotated[Dossier, locked_dossier(DeskInstructor, before=[validated_body(Allocation)])]
# The holder's own, locked for its withdrawal.
WithdrawnDossier = Annotated[Dossier, owned_dossier(DossierWithdrawer, before=[validated_body(Withdrawal)])]


@dataclass(frozen=True)
class OpinionTarget:
    """The dossier (locked), what the caller speaks as, and its organisation's opinion so far."""

    dossier: Dossier
    author_kind: AuthorKind
    current: DossierOpinion | None


async def _opinion_target(
    caller: OpinionAuthor, body: OpinionIn, dossier_id: uuid.UUID, request: Request, session: SessionDep,
    peers: PeersDep,
) -> OpinionTarget:
    """The guard first, then the body (the route's own: an invalid one is 422 whatever its If-Match), then the
    dossier locked (404 to whoever may not give an opinion on it), then If-Match against the caller's opinion:
    none yet has the ETag "0", which the first PUT may send, or nothing; once it exists If-Match is required
    (428)."""
    dossier, author_kind = await opinions.writable_dossier(
        session, principal=caller, dossier_id=dossier_id, peers=peers
    )
    current = await opinions.opinion_of(session, dossier.id, caller.organisation_id)
    check_if_match(request, current.version if current else 0, required=current is not None)
    return OpinionTarget(dossier=dossier, author_kind=author_kind, current=current)


OpinionTargetDep = Annotated[OpinionTarget, Depends(_opinion_target)]
