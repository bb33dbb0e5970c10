"""Who may do what with budgets: the guards of the budgets' routes, named for what they allow."""

from typing import Annotated

from fastapi import Depends

from common.auth import Authorize
from common.tokens import Principal
from services.vocabulary import DESK_ROLES, HOLDER_ROLES, Scope

# A project's budget: read by its association's members and by the desk's services.
ProjectBudgetRead = Annotated[
    Principal, Depends(Authorize(roles=HOLDER_ROLES, scope=Scope.projects_read, services=True))
]
# An association's yearly budget: read by its members, the desk and the desk's services.
AssociationBudgetRead = Annotated[
    Principal, Depends(Authorize(roles=HOLDER_ROLES | DESK_ROLES, scope=Scope.projects_read, services=True))
]
# Both budgets are entered by the association's members.
BudgetWrite = Annotated[Principal, Depends(Authorize(roles=HOLDER_ROLES, scope=Scope.projects_write))]
