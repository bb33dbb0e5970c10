"""A dossier's life: which moves each state allows, the line each move leaves in the audit trail, and the version
its ETag shows."""

from common.db import utcnow
from common.problems import Conflict, Text
from common.tokens import Principal
from services.funding.models.dossier import Dossier, DossierHistory, DossierState

DOSSIER_NOT_FOUND = Text("Dossier introuvable.", "Dossier not found.")


def moved(dossier: Dossier) -> None:
    """A change the dossier's ETag must show."""
    dossier.version += 1
    dossier.updated_at = utcnow()


def trace(
    dossier: Dossier, principal: Principal, action: str, from_state: str | None, comment: str | None = None
) -> DossierHistory:
    """One line of the audit trail."""
    return DossierHistory(
        comment=comment,
        dossier_id=dossier.id,
        action=action,
        from_state=from_state,
        to_state=dossier.state,
        actor=principal.subject,
        actor_organisation_id=principal.organisation_id,
    )


def _illegal_move(dossier: Dossier, action: str, allowed: list[str]) -> Conflict:
    return Conflict(
        Text(
            f"Action « {action} » impossible dans l'état « {dossier.state} ».",
            f"Action '{action}' is not allowed in state '{dossier.state}'.",
        ),
        code="illegal_transition",
        extra={"state": dossier.state, "allowed_actions": allowed},
    )


# Who may do what in each state: the holder updates, submits and withdraws; the desk asks for supplements,
# declares admissibility and allocates the share left to it. The next issue's steps extend it.
ALLOWED_ACTIONS: dict[str, list[str]] = {
    DossierState.draft: ["update", "submit", "withdraw"],
    DossierState.submitted: ["request_supplements", "decide_admissibility", "allocate", "withdraw"],
    DossierState.supplements_requested: ["update", "submit", "withdraw"],
    # A small project's lead funder decides it once admissible (the committee's tracks are routed instead).
    DossierState.admissible: ["allocate", "route", "decide", "withdraw"],
    DossierState.inadmissible: [],
    DossierState.in_instruction: ["allocate", "route", "decline_routing", "give_opinion", "withdraw"],
    DossierState.ready_for_committee: ["decline_routing", "give_opinion", "withdraw"],
    # The desk places a deferred dossier on a later session's agenda (it is then ready for the committee again).
    DossierState.deferred: ["withdraw"],
    DossierState.decided: [],
    DossierState.withdrawn: [],
}
# While a dossier is on a session's agenda its plan stays as the committee will read it.
FROZEN_ON_AGENDA = frozenset({"decline_routing"})


def require_action(dossier: Dossier, action: str) -> None:
    """409 with the moves the state allows when `action` is not one of them."""
    allowed = ALLOWED_ACTIONS.get(dossier.state, [])
    if dossier.agenda_session_id is not None:
        allowed = [move for move in allowed if move not in FROZEN_ON_AGENDA]
    if action not in allowed:
        raise _illegal_move(dossier, action, allowed)
