"""Who may do what in the committee's rooms: each guard is named for what it allows."""

from typing import Annotated

from fastapi import Depends

from common.auth import Authorize
from common.tokens import Principal
from services.vocabulary import COUNCIL_ROLES, DESK_ROLES, FUNDER_ROLES, Role, Scope

# Who sits for a funder and speaks for it in session: its committee members, and its managers.
MEMBER_ROLES = frozenset({Role.committee_member, Role.funder_manager})

# The desk plans, opens, defers in and closes sessions.
SessionPlanner = Annotated[Principal, Depends(Authorize(roles=DESK_ROLES, scope=Scope.sessions_write))]
# The desk reads every session; a funder's people, the sessions their funder is invited to.
SessionReader = Annotated[Principal, Depends(Authorize(roles=DESK_ROLES | FUNDER_ROLES, scope=Scope.sessions_read))]
# Each member's own scores are the desk's to read (the agenda shows everyone their summary).
ScoreReader = Annotated[Principal, Depends(Authorize(roles=DESK_ROLES, scope=Scope.sessions_read))]
# A member of a funder invited: declares its conflicts of interest, decides and scores in session.
CommitteeMember = Annotated[Principal, Depends(Authorize(roles=MEMBER_ROLES, scope=Scope.sessions_write))]
# Decisions are read with the sessions that hold them: a machine client that reads sessions reads them. A citizen
# council reads those of the dossiers it gave its opinion on (committee/decisions.py).
DecisionReader = Annotated[Principal, Depends(Authorize(
    roles=FUNDER_ROLES | DESK_ROLES | COUNCIL_ROLES, scope=Scope.sessions_read))]
# The lead funder's manager decides a small project alone.
SmallProjectDecider = Annotated[Principal, Depends(Authorize(roles={Role.funder_manager}, scope=Scope.dossiers_write))]
