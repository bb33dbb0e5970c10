"""Who may do what with a dossier, each guard named for what it allows (the routes' first dependency)."""

from typing import Annotated

from fastapi import Depends

from common.auth import Authorize
from common.tokens import Principal
from services.vocabulary import COUNCIL_ROLES, DESK_ROLES, FUNDER_ROLES, HOLDER_ROLES, Scope

# The holder reads its own, a funder those routed to it, the desk all.
DossierReader = Annotated[
    Principal, Depends(Authorize(roles=HOLDER_ROLES | FUNDER_ROLES | DESK_ROLES, scope=Scope.dossiers_read))
]
# A citizen council reads besides the examined dossiers of its QPVs and those it gave its opinion on (the project
# and its budget).
DossierOrCouncilReader = Annotated[
    Principal,
    Depends(Authorize(roles=HOLDER_ROLES | FUNDER_ROLES | DESK_ROLES | COUNCIL_ROLES, scope=Scope.dossiers_read)),
]
# The association that holds the dossier: creates, submits, asks for and ends support.
DossierHolder = Annotated[Principal, Depends(Authorize(roles=HOLDER_ROLES, scope=Scope.dossiers_write))]
# The holder edits its draft; the desk's helper too, while an administrative support is active.
DraftEditor = Annotated[Principal, Depends(Authorize(roles=HOLDER_ROLES | DESK_ROLES, scope=Scope.dossiers_write))]
# One of the desk's people, taking the support a holder asked for.
SupportHelper = Annotated[Principal, Depends(Authorize(roles=DESK_ROLES, scope=Scope.dossiers_write))]
