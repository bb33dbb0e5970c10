"""Who may do what with indicators: the guards of the catalogue's, the targets' and the impact's routes, named for
what they allow."""

from typing import Annotated

from fastapi import Depends

from common.auth import Authorize
from common.tokens import Principal
from services.vocabulary import DESK_ROLES, EVERY_ROLE, FUNDER_ROLES, HOLDER_ROLES, Scope

# The shared catalogue: read by every role and service, kept by the desk.
CatalogueRead = Annotated[Principal, Depends(Authorize(roles=EVERY_ROLE, scope=Scope.projects_read, services=True))]
CatalogueManage = Annotated[Principal, Depends(Authorize(roles=DESK_ROLES, scope=Scope.projects_write))]
# A project's targets: read by its association, the desk and the desk's services; chosen by its association.
TargetsRead = Annotated[
    Principal, Depends(Authorize(roles=HOLDER_ROLES | DESK_ROLES, scope=Scope.projects_read, services=True))
]
TargetsWrite = Annotated[Principal, Depends(Authorize(roles=HOLDER_ROLES, scope=Scope.projects_write))]
# The collective impact's shared aggregates: read by every signed-in organisation (small cells suppressed for
# associations and councils, services/shared_figures.py) and the services.
SharedImpactRead = Annotated[
    Principal, Depends(Authorize(roles=EVERY_ROLE, scope=Scope.projects_read, services=True))
]
# The impact of a set of projects named one by one (a funder's granted projects): the desk, the funders and the
# services only, since naming one project would read its values.
ImpactRead = Annotated[
    Principal, Depends(Authorize(roles=FUNDER_ROLES | DESK_ROLES, scope=Scope.projects_read, services=True))
]
