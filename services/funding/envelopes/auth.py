"""Who may do what with envelopes: one guard per permission, named for what it allows."""

from typing import Annotated

from fastapi import Depends

from common.auth import Authorize
from common.tokens import Principal
from services.vocabulary import DESK_ROLES, FUNDER_ROLES, Role, Scope

# A funder's people read their organisation's envelopes, the desk every one.
EnvelopesReader = Annotated[
    Principal, Depends(Authorize(roles=FUNDER_ROLES | DESK_ROLES, scope=Scope.envelopes_read))
]
# A funder's manager opens its organisation's envelopes and changes their totals.
EnvelopeManager = Annotated[Principal, Depends(Authorize(roles={Role.funder_manager}, scope=Scope.envelopes_write))]
