"""Who may do what with financial reports: one guard per permission, named for what it allows."""

from typing import Annotated

from fastapi import Depends

from common.auth import Authorize
from common.tokens import Principal
from services.vocabulary import DESK_ROLES, FUNDER_ROLES, HOLDER_ROLES, Role, Scope

# The funder's people who review the reports owed to it.
REVIEWERS = frozenset({Role.funder_instructor, Role.funder_manager})

# The desk, the funder's people, the association's members: each reads what its tenancy shows it.
FinancialReportsReader = Annotated[
    Principal, Depends(Authorize(roles=DESK_ROLES | FUNDER_ROLES | HOLDER_ROLES, scope=Scope.financial_reports_read))
]
# The association's members fill in and submit their reports.
FinancialReportWriter = Annotated[
    Principal, Depends(Authorize(roles=HOLDER_ROLES, scope=Scope.financial_reports_write))
]
# The funder's instructors and managers accept a submitted report or ask for changes.
FinancialReportReviewer = Annotated[
    Principal, Depends(Authorize(roles=REVIEWERS, scope=Scope.financial_reports_write))
]
