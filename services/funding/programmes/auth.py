"""Who may read and who may open the desk's programmes."""

from typing import Annotated

from fastapi import Depends

from common.auth import Authorize
from common.tokens import Principal
from services.vocabulary import DESK_ROLES, EVERY_ROLE, Scope

# Every role reads the calls: an association chooses where to apply, a funder sees where it sits.
ProgrammeReader = Annotated[Principal, Depends(Authorize(roles=EVERY_ROLE, scope=Scope.programmes_read))]
# The desk opens them.
ProgrammeCreator = Annotated[Principal, Depends(Authorize(roles=DESK_ROLES, scope=Scope.programmes_write))]
