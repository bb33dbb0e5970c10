"""The dossier an instruction route names, as a dependency: read, locked for the desk's move or the holder's
withdrawal, or locked with the caller's opinion for its replacement (If-Match checked against the opinion)."""

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from common.db import SessionDep
from common.etag import check_if_match
from common.resources import validated_body
from services.funding.dossiers.dependencies import current_dossier, locked_dossier, owned_dossier
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
DecidedDossier = Annotated[Dossier, locked_dossier(DeskInstructor, before=[validated_body(AdmissibilityDecision)])]
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
