"""Who may read the events feed: the desk (every event), an association's people and a funder's (the events
their organisation is in the audience of), a citizen council (besides, what the dossiers of its QPVs go through)."""

from typing import Annotated

from fastapi import Depends

from common.auth import Authorize
from common.tokens import Principal
from services.vocabulary import COUNCIL_ROLES, DESK_ROLES, FUNDER_ROLES, HOLDER_ROLES, Scope

EventReader = Annotated[
    Principal,
    Depends(Authorize(roles=DESK_ROLES | FUNDER_ROLES | HOLDER_ROLES | COUNCIL_ROLES, scope=Scope.events_read)),
]
