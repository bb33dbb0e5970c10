"""Who may do what in the instruction of a dossier, each guard named for what it allows."""

from typing import Annotated

from fastapi import Depends

from common.auth import Authorize
from common.tokens import Principal
from services.funding.instruction.opinions import FUNDER_AUTHORS
from services.vocabulary import COUNCIL_ROLES, DESK_ROLES, FUNDER_ROLES, HOLDER_ROLES, Scope

# The desk instructs: declares admissibility, asks for supplements, allocates its share, routes to the funders.
DeskInstructor = Annotated[Principal, Depends(Authorize(roles=DESK_ROLES, scope=Scope.dossiers_write))]
# The holder withdraws its dossier.
DossierWithdrawer = Annotated[Principal, Depends(Authorize(roles=HOLDER_ROLES, scope=Scope.dossiers_write))]
# The desk and the holder read the admissibility rules (the funders wait for the routing).
AdmissibilityReader = Annotated[
    Principal, Depends(Authorize(roles=DESK_ROLES | HOLDER_ROLES, scope=Scope.dossiers_read))
]
# Who answers for a funder on a dossier routed to it: its instructors and managers (committee members sit in
# sessions); they decline a routing.
RoutingDecliner = Annotated[Principal, Depends(Authorize(roles=FUNDER_AUTHORS, scope=Scope.dossiers_write))]
# A routed funder's instructor or manager, or the QPV's citizen council; holders are refused here whatever the
# dossier: they know theirs exists, and never read the opinions on it.
OpinionAuthor = Annotated[
    Principal, Depends(Authorize(roles=FUNDER_AUTHORS | COUNCIL_ROLES, scope=Scope.dossiers_write))
]
OpinionReader = Annotated[
    Principal, Depends(Authorize(roles=FUNDER_ROLES | DESK_ROLES | COUNCIL_ROLES, scope=Scope.dossiers_read))
]
