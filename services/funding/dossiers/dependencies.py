"""The dossier a route names in its path, as a dependency: loaded for a read (404 when the caller may not see
it), or loaded and locked for a move or an edit, with If-Match checked against the locked row.

Other rooms that move a dossier (instruction, committee) build theirs with `locked_dossier(TheirGuard)`."""

import uuid
from typing import Annotated, Any

from fastapi import Depends, Path, Request

from common.clock import ClockDep
from common.idempotency import IdempotencyDep
from common.problems import request_language
from common.resources import locked_resource, resource, validated_body
from services.funding.dossiers import submission, support, visibility
from services.funding.dossiers.auth import DossierHolder, DossierReader, DraftEditor, SupportHelper
from services.funding.dossiers.schemas import DossierUpdate, SupportRequest
from services.funding.models.dossier import Dossier
from services.funding.peers import PeersDep


def current_dossier(caller: Any) -> Any:
    """A dossier the caller reads (holder, routed funder, desk), for the guard `caller`."""
    return resource(visibility.readable_dossier, path="dossier_id", caller=caller)


def locked_dossier(caller: Any, *, before: list[Any] | None = None, idempotent: bool = True) -> Any:
    """Any dossier, locked for the desk's (or a routed funder's room's) move; If-Match optional."""
    return locked_resource(
        visibility.any_dossier_locked, path="dossier_id", caller=caller, if_match_required=False,
        before=before or [], idempotent=idempotent,
    )


def owned_dossier(caller: Any, *, before: list[Any] | None = None, idempotent: bool = True) -> Any:
    """The caller's own dossier (its holder), locked for its move; If-Match optional."""
    return locked_resource(
        visibility.owned_dossier_locked, path="dossier_id", caller=caller, if_match_required=False,
        before=before or [], idempotent=idempotent,
    )


CurrentDossier = Annotated[Dossier, current_dossier(DossierReader)]
# The holder's move on its own dossier (submit, end support); asking for support reads its body first.
OwnedDossier = Annotated[Dossier, owned_dossier(DossierHolder)]
SupportAskedDossier = Annotated[Dossier, owned_dossier(DossierHolder, before=[validated_body(SupportRequest)])]
# The desk's move on any dossier (take the support asked for).
LockedDossier = Annotated[Dossier, locked_dossier(SupportHelper)]
# A draft's edit: the holder's, or the desk helper's during a support; If-Match required (428).
EditableDraft = Annotated[
    Dossier,
    locked_resource(support.editable_dossier, path="dossier_id", caller=DraftEditor, if_match_required=True,
                    before=[validated_body(DossierUpdate)], idempotent=False),
]


async def _prepared_submission(
    caller: DossierHolder, call: IdempotencyDep, dossier_id: Annotated[uuid.UUID, Path()], request: Request,
    peers: PeersDep, clock: ClockDep,
) -> submission.Prepared:
    """A submission's checks and its documents' reservation, before the dossier is locked: the guard first, then
    the Idempotency-Key's reservation (a retry never reserves twice), then the reading and the calls."""
    del call  # solved for its order: reserved before anything is pinned
    return await submission.prepare(
        request.app.state.db, principal=caller, dossier_id=dossier_id, peers=peers,
        language=request_language(request), now=clock.now(), request=request,
    )


PreparedSubmission = Annotated[submission.Prepared, Depends(_prepared_submission)]
