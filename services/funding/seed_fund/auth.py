"""Who may do what with a seed-fund project's learning review and verdict: one guard per permission, named for
what it allows."""

from typing import Annotated

from fastapi import Depends

from common.auth import Authorize
from common.tokens import Principal
from services.vocabulary import DESK_ROLES, FUNDER_ROLES, HOLDER_ROLES, Scope

# Whoever may read the dossier reads its review.
LearningReviewReader = Annotated[
    Principal, Depends(Authorize(roles=DESK_ROLES | FUNDER_ROLES | HOLDER_ROLES, scope=Scope.dossiers_read))
]
# The association's members write and submit their project's review.
LearningReviewWriter = Annotated[Principal, Depends(Authorize(roles=HOLDER_ROLES, scope=Scope.dossiers_write))]
# The desk accepts a review, asks for changes, and gives the project's verdict.
SeedFundJudge = Annotated[Principal, Depends(Authorize(roles=DESK_ROLES, scope=Scope.dossiers_write))]
