"""The signed-in person."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends

from common.auth import Authorize
from common.db import SessionDep
from common.problems import NotFound, Text, problem_responses
from common.tokens import Principal
from services.identity import repository
from services.identity.models import Person
from services.identity.schemas import Me, MembershipView, PersonPublic
from services.vocabulary import EVERY_ROLE

router = APIRouter(tags=["me"])


@router.get("/me", summary="Qui suis-je ?", response_model=Me, responses=problem_responses(401, 403, 404))
async def get_me(
    session: SessionDep, principal: Annotated[Principal, Depends(Authorize(roles=EVERY_ROLE))]
) -> Me:
    """People only: a machine client has no person behind it."""
    person = await session.get(Person, uuid.UUID(principal.subject)) if principal.kind == "user" else None
    if person is None:
        raise NotFound(Text("Aucune personne derrière ce jeton.", "No person behind this token."))
    memberships = await repository.memberships_of(session, person.id)
    return Me(
        person=PersonPublic(id=person.id, email=person.email, full_name=person.full_name),
        organisation_id=principal.organisation_id,
        roles=sorted(principal.roles),
        memberships=[
            MembershipView(
                organisation_id=o.id, organisation_name=o.name, organisation_kind=o.kind, roles=m.roles
            )
            for m, o in memberships
        ],
    )
