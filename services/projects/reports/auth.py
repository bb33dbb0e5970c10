"""Who may do what with reports: the guards of the reports' routes, named for what they allow."""

from typing import Annotated

from fastapi import Depends

from common.auth import Authorize
from common.tokens import Principal
from services.vocabulary import DESK_ROLES, HOLDER_ROLES, Scope

# Read by the project's association, the desk and the desk's services.
ReportRead = Annotated[
    Principal, Depends(Authorize(roles=HOLDER_ROLES | DESK_ROLES, scope=Scope.projects_read, services=True))
]
# Written and submitted by the project's association.
ReportWrite = Annotated[Principal, Depends(Authorize(roles=HOLDER_ROLES, scope=Scope.projects_write))]
# Accepted, or sent back for changes, by the desk.
ReportReview = Annotated[Principal, Depends(Authorize(roles=DESK_ROLES, scope=Scope.projects_write))]
