"""The signed-in person."""


from fastapi import APIRouter, Request, Response

from common.clock import ClockDep
from common.db import SessionDep
from common.problems import problem_response, problem_responses
from services.identity import accounts, credentials
from services.identity.deps import AddressDep, DatabaseDep, PasswordsDep, SettingsDep
from services.identity.guards import AnyMember
from services.identity.schemas import Me, MembershipView, PasswordChange, PersonPublic

router = APIRouter(tags=["me"])


@router.get("/me", summary="Qui suis-je ?", response_model=Me, responses=problem_responses(401, 403, 404))
async def get_me(session: SessionDep, principal: AnyMember) -> Me:
    """The signed-in person, their token's organisation and roles, and every membership. People only: a machine
    client has no person behind it (404)."""
    person, memberships = await accounts.signed_in_person(session, principal)
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
    principal: AnyMember, passwords: PasswordsDep,
    database: DatabaseDep, settings: SettingsDep, address: AddressDep, clock: ClockDep,
) -> Response:
    """The signed-in person only. Every refresh token of the person dies, this session's too (log in again to get
    one); the access token used here works until it expires. A wrong current password is a failed login (400
    `wrong_password`), counted by the same throttle."""
    refused = await credentials.change_password(
        session, database=database, principal=principal, current=body.current_password, new=body.new_password,
        passwords=passwords, settings=settings, ip=address, now=clock.now(),
    )
    if refused is not None:
        return problem_response(request, refused)  # answered, not raised: the recorded failure is committed
    return Response(status_code=204)
