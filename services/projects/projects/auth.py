"""Who may do what with projects: the guards of the projects' routes, named for what they allow."""

from typing import Annotated

from fastapi import Depends

from common.auth import Authorize
from common.tokens import Principal
from services.vocabulary import DESK_ROLES, HOLDER_ROLES, Scope

# An association's members list their projects; the desk lists any association's (its view of their home).
ProjectsList = Annotated[Principal, Depends(Authorize(roles=HOLDER_ROLES | DESK_ROLES, scope=Scope.projects_read))]
# An association's members read one of its projects; so does another desk service with its service token.
ProjectRead = Annotated[Principal, Depends(Authorize(roles=HOLDER_ROLES, scope=Scope.projects_read, services=True))]
# An association's members create and change its projects.
ProjectWrite = Annotated[Principal, Depends(Authorize(roles=HOLDER_ROLES, scope=Scope.projects_write))]
