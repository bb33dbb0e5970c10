"""Who may do what with the vault: the guards of the documents' routes, named for what they allow."""

from typing import Annotated

from fastapi import Depends

from common.auth import Authorize
from common.tokens import Principal
from services.vocabulary import DESK_ROLES, HOLDER_ROLES, Scope

# An organisation's members read its documents; the desk and the desk's services, any organisation's.
DocumentRead = Annotated[
    Principal, Depends(Authorize(roles=HOLDER_ROLES | DESK_ROLES, scope=Scope.projects_read, services=True))
]
# An association's members deposit its documents, add and delete their versions.
DocumentWrite = Annotated[Principal, Depends(Authorize(roles=HOLDER_ROLES, scope=Scope.projects_write))]
# The funding service pins the versions a submitted dossier references.
DocumentPin = Annotated[Principal, Depends(Authorize(roles=(), scope=Scope.documents_pin, services=True))]
# The desk and its services ask whether an organisation holds valid documents.
ComplianceRead = Annotated[Principal, Depends(Authorize(roles=DESK_ROLES, scope=Scope.projects_read, services=True))]
