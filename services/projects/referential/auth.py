"""Who may read the reference lists: every role and service."""

from typing import Annotated

from fastapi import Depends

from common.auth import Authorize
from common.tokens import Principal
from services.vocabulary import EVERY_ROLE, Scope

ReferentialRead = Annotated[Principal, Depends(Authorize(roles=EVERY_ROLE, scope=Scope.projects_read, services=True))]
