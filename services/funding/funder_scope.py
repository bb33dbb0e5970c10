"""Whose figures a funder-facing read covers: a funder's people read their own funder's; the desk names one, or,
where the read allows it, takes every funder."""

import uuid
from typing import Annotated

from fastapi import Depends

from common.auth import Authorize
from common.problems import Forbidden, Text, UnprocessableContent
from common.tokens import Principal
from services.vocabulary import DESK_ROLES, FUNDER_ROLES, Scope

# Who reads a funder's exports and figures.
FunderOrDesk = Annotated[Principal, Depends(Authorize(roles=FUNDER_ROLES | DESK_ROLES, scope=Scope.exports_read))]


def funder_of(principal: Principal, asked: uuid.UUID | None, *, desk_may_take_all: bool) -> uuid.UUID | None:
    """The funder the read is about (None: every funder, for the desk where allowed); 403 `not_your_funder` for
    another funder's, 422 when the desk must name one and did not."""
    if principal.has_any_role(DESK_ROLES):
        if asked is None and not desk_may_take_all:
            raise UnprocessableContent(
                Text("Nommez le financeur.", "Name the funder."),
                errors=[("query.funder_id", Text("Obligatoire pour le guichet.", "Required for the desk."))],
            )
        return asked
    if asked is not None and asked != principal.organisation_id:
        raise Forbidden(Text("Un financeur ne lit que ce qui est à lui.", "A funder reads only its own."),
                        code="not_your_funder")
    return principal.organisation_id
