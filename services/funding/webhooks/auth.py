"""Who may manage webhook endpoints: an organisation's admin (an association's, a funder's manager, the desk's
coordinator, a citizen council's reviewer: a council has no other role), for its own organisation's endpoints only."""

from typing import Annotated

from fastapi import Depends

from common.auth import Authorize
from common.tokens import Principal
from services.vocabulary import Role, Scope

WebhookAdmin = Annotated[
    Principal,
    Depends(Authorize(roles={Role.holder_admin, Role.funder_manager, Role.desk_coordinator, Role.citizen_reviewer},
                      scope=Scope.webhooks_manage)),
]
