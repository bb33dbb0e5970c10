"""Who may do what with the holders' notifications."""

from typing import Annotated

from fastapi import Depends

from common.auth import Authorize
from common.tokens import Principal
from services.vocabulary import DESK_ROLES, HOLDER_ROLES, Scope

# An association's people (their own notifications) and the desk (every one).
NotificationReader = Annotated[
    Principal, Depends(Authorize(roles=HOLDER_ROLES | DESK_ROLES, scope=Scope.dossiers_read))
]
# The desk, which sends again a notification whose mail failed.
NotificationSender = Annotated[Principal, Depends(Authorize(roles=DESK_ROLES, scope=Scope.dossiers_write))]
