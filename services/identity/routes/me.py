"""The signed-in person."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from common.auth import Authorize
from common.clock import ClockDep
from common.db import SessionDep
from common.problems import NotFound, Text, problem_response, problem_responses
from common.tokens import Principal
from services.identity import credentials, repository
from services.identity.deps import AddressDep, DatabaseDep, PasswordsDep, SettingsDep
from services.identity.models import Person
from services.identity.schemas import Me, MembershipView, PasswordChange, PersonPublic
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


@router.post(
    "/me/password",
    summary="Changer son mot de passe (l'actuel est demandé ; ferme toutes ses autres sessions)",
    status_code=204,
    responses=problem_responses(400, 401, 403, 404, 413, 422, 429),
)
async def change_password(
    body: PasswordChange, request: Request, session: SessionDep,
    principal: Annotated[Principal, Depends(Authorize(roles=EVERY_ROLE))], passwords: PasswordsDep,
    database: DatabaseDep, settings: SettingsDep, address: AddressDep, clock: ClockDep,
) -> Response:
    """Every refresh token of the person dies, this session's too (log in again to get one); the access token used
    here works until it expires. A wrong current password is a failed login (400 `wrong_password`), counted by the
    same throttle."""
    refused = await credentials.change_password(
        session, database=database, principal=principal, current=body.current_password, new=body.new_password,
        passwords=passwords, settings=settings, ip=address, now=clock.now(),
    )
    if refused is not None:
        return problem_response(request, refused)  # answered, not raised: the recorded failure is committed
    return Response(status_code=204)
