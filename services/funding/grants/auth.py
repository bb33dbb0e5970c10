"""Who may do what with grants, agreements and payments: one guard per permission, named for what it allows."""

from typing import Annotated

from fastapi import Depends

from common.auth import Authorize
from common.tokens import Principal
from services.vocabulary import DESK_ROLES, FUNDER_ROLES, HOLDER_ROLES, Role, Scope

# The desk, a funder's people, an association's members: each reads what its tenancy shows it.
AgreementsReader = Annotated[
    Principal, Depends(Authorize(roles=DESK_ROLES | FUNDER_ROLES | HOLDER_ROLES, scope=Scope.agreements_read))
]
# An association's yearly total: its own members read it, the desk names the association.
GrantTotalsReader = Annotated[
    Principal, Depends(Authorize(roles=DESK_ROLES | HOLDER_ROLES, scope=Scope.agreements_read))
]
# The lead funder's manager sends, activates and ends an agreement.
AgreementManager = Annotated[
    Principal, Depends(Authorize(roles={Role.funder_manager}, scope=Scope.agreements_write))
]
# Each side signs for itself: a funder party's manager, the association's admin.
AgreementSigner = Annotated[
    Principal, Depends(Authorize(roles={Role.funder_manager, Role.holder_admin}, scope=Scope.agreements_write))
]
PaymentsReader = Annotated[
    Principal, Depends(Authorize(roles=DESK_ROLES | FUNDER_ROLES | HOLDER_ROLES, scope=Scope.payments_read))
]
# The association asks for a payment that is due.
PaymentRequester = Annotated[Principal, Depends(Authorize(roles=HOLDER_ROLES, scope=Scope.payments_write))]
# The funder's manager pays or cancels a payment.
PaymentManager = Annotated[Principal, Depends(Authorize(roles={Role.funder_manager}, scope=Scope.payments_write))]
