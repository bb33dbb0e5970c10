"""Who may read the dashboards' figures."""

from typing import Annotated

from fastapi import Depends

from common.auth import Authorize
from common.tokens import Principal
from services.funding.funder_scope import FunderOrDesk
from services.vocabulary import DESK_ROLES, EVERY_ROLE, HOLDER_ROLES, Scope

# A funder's people (their own funder's figures) and the desk (a funder it names): the guard every funder-facing
# read shares (services/funding/funder_scope.py).
FunderFiguresReader = FunderOrDesk
# A territory's figures: every signed-in organisation (small lines suppressed for associations and councils,
# services/shared_figures.py).
TerritoryFiguresReader = Annotated[Principal, Depends(Authorize(roles=EVERY_ROLE, scope=Scope.dossiers_read))]
# An association's people (their own home) and the desk (an association it names).
AssociationHomeReader = Annotated[
    Principal, Depends(Authorize(roles=HOLDER_ROLES | DESK_ROLES, scope=Scope.dossiers_read))
]
