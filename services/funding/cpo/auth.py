"""Who may do what with a CPO: one guard per permission, named for what it allows."""

from typing import Annotated

from fastapi import Depends

from common.auth import Authorize
from common.tokens import Principal
from services.vocabulary import DESK_ROLES, FUNDER_ROLES, HOLDER_ROLES, Role, Scope

# Whoever may read the dossier reads its CPO.
CpoReader = Annotated[
    Principal, Depends(Authorize(roles=DESK_ROLES | FUNDER_ROLES | HOLDER_ROLES, scope=Scope.dossiers_read))
]
# The desk holds the yearly reviews and the final evaluation.
CpoReviewer = Annotated[Principal, Depends(Authorize(roles=DESK_ROLES, scope=Scope.dossiers_write))]
# The desk, or the association's admin, renews an evaluated CPO.
CpoRenewer = Annotated[
    Principal, Depends(Authorize(roles=DESK_ROLES | {Role.holder_admin}, scope=Scope.dossiers_write))
]
# The desk, or a funder's manager for its own share, commits a CPO's year on that year's envelope.
CpoYearCommitter = Annotated[
    Principal, Depends(Authorize(roles=DESK_ROLES | {Role.funder_manager}, scope=Scope.envelopes_write))
]
