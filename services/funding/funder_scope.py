"""Whose figures a read covers: a funder's people read their own funder's, an association's people their own
association's; the desk names one, or, where a funder-facing read allows it, takes every funder."""

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
    own = _own_organisation(principal)
    if asked is not None and asked != own:
        raise Forbidden(Text("Un financeur ne lit que ce qui est à lui.", "A funder reads only its own."),
                        code="not_your_funder")
    return own


def association_of(principal: Principal, asked: uuid.UUID | None) -> uuid.UUID:
    """The association the read is about: the caller's own (403 `not_your_association` for another's); the desk
    must name one (422)."""
    if not principal.has_any_role(DESK_ROLES):
        own = _own_organisation(principal)
        if asked is not None and asked != own:
            raise Forbidden(Text("Une association ne lit que ce qui est à elle.", "An association reads only its own."),
                            code="not_your_association")
        return own
    if asked is None:
        raise UnprocessableContent(
            Text("Nommez l'association.", "Name the association."),
            errors=[("query.organisation_id", Text("Obligatoire pour le guichet.", "Required for the desk."))],
        )
    return asked


def _own_organisation(principal: Principal) -> uuid.UUID:
    """The caller's organisation. A token with a funder's or an association's role but no organisation is refused:
    read as None it would mean "every funder" (identity never issues one, but a read must not rest on that)."""
    if principal.organisation_id is None:
        raise Forbidden(Text("Ce jeton ne nomme aucune organisation.", "This token names no organisation."),
                        code="no_organisation")
    return principal.organisation_id
