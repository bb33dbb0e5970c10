"""An organisation's members: listed and managed by its admins; anyone may leave."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from common.auth import Authorize
from common.clock import ClockDep
from common.db import SessionDep
from common.etag import check_if_match, etag_of, if_match_parameter
from common.pagination import CursorParam, LimitParam, Page, page_of
from common.problems import NotFound, problem_responses
from common.tokens import Principal
from services.identity import accounts, members, repository, standing
from services.identity.models import Membership, Person
from services.identity.schemas import MemberPublic, MemberUpdate
from services.vocabulary import ADMIN_ROLES, EVERY_ROLE

router = APIRouter(prefix="/organisations/{organisation_id}/members", tags=["members"])

Admin = Annotated[Principal, Depends(standing.current(ADMIN_ROLES))]
Member = Annotated[Principal, Depends(Authorize(roles=EVERY_ROLE))]


def member_public(pair: tuple[Membership, Person]) -> MemberPublic:
    membership, person = pair
    return MemberPublic(
        person_id=person.id, email=person.email, full_name=person.full_name, roles=membership.roles,
        created_at=membership.created_at, updated_at=membership.updated_at,
    )


@router.get(
    "",
    summary="Membres de son organisation et leurs rôles",
    response_model=Page[MemberPublic],
    responses=problem_responses(400, 401, 403, 404, 422),
)
async def list_members(
    organisation_id: uuid.UUID,
    session: SessionDep,
    admin: Admin,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
) -> dict:
    organisation = await accounts.administered_organisation(session, principal=admin, organisation_id=organisation_id)
    # People only: a machine client acting with an admin role must not read them.
    accounts.require_admin_of(admin, organisation)
    rows = await repository.members_of(session, organisation.id, limit=limit, cursor=cursor)
    return page_of(rows, limit=limit, to_public=member_public, anchor=lambda pair: pair[0])


@router.get(
    "/{person_id}",
    summary="Un membre de son organisation",
    response_model=MemberPublic,
    responses=problem_responses(401, 403, 404, 422),
)
async def get_member(
    organisation_id: uuid.UUID, person_id: uuid.UUID, session: SessionDep, admin: Admin, response: Response
) -> MemberPublic:
    organisation = await accounts.administered_organisation(session, principal=admin, organisation_id=organisation_id)
    accounts.require_admin_of(admin, organisation)
    found = await members.member_of(session, organisation, person_id)
    response.headers["ETag"] = etag_of(found[0].version)
    return member_public(found)


@router.patch(
    "/{person_id}",
    summary="Changer les rôles d'un membre (l'organisation garde au moins un administrateur)",
    response_model=MemberPublic,
    responses=problem_responses(400, 401, 403, 404, 409, 412, 413, 422, 428),
    openapi_extra=if_match_parameter(),
)
async def update_member(
    organisation_id: uuid.UUID, person_id: uuid.UUID, body: MemberUpdate, request: Request, response: Response,
    session: SessionDep, admin: Admin, clock: ClockDep,
) -> MemberPublic:
    """The new roles are in the member's next token: at their next refresh or login (an access token already issued
    keeps the old ones until it expires, 10 min at most). 409 `last_admin` when the organisation would be left
    without an admin."""
    # The organisation's row is locked first: every membership change of one organisation waits its turn.
    organisation = await accounts.administered_organisation(
        session, principal=admin, organisation_id=organisation_id, for_update=True
    )
    accounts.require_admin_of(admin, organisation)
    membership, person = await members.member_of(session, organisation, person_id, for_update=True)
    check_if_match(request, membership.version)
    membership = await members.change_roles(
        session, organisation=organisation, membership=membership, roles=body.roles, principal=admin, now=clock.now()
    )
    response.headers["ETag"] = etag_of(membership.version)
    return member_public((membership, person))


@router.delete(
    "/{person_id}",
    summary="Retirer un membre, ou quitter l'organisation soi-même",
    status_code=204,
    responses=problem_responses(401, 403, 404, 409, 412, 422),
    openapi_extra=if_match_parameter(required=False),
)
async def remove_member(
    organisation_id: uuid.UUID, person_id: uuid.UUID, request: Request, session: SessionDep, caller: Member,
    clock: ClockDep,
) -> Response:
    """An admin removes a member; any member removes themselves (leaves). Their refresh tokens for this
    organisation die at once; an access token already issued works until it expires (10 min at most). 409
    `last_admin` for the organisation's last admin."""
    leaving = caller.kind == "user" and caller.subject == str(person_id) and caller.organisation_id == organisation_id
    if leaving:
        organisation = await accounts.visible_organisation(session, organisation_id, for_update=True)
    else:
        if not caller.has_any_role(ADMIN_ROLES):
            if caller.organisation_id != organisation_id:
                raise NotFound(accounts.ORGANISATION_NOT_FOUND)  # another organisation's: out of sight
            raise accounts.not_an_admin()
        await standing.require_current(session, caller, ADMIN_ROLES)
        organisation = await accounts.administered_organisation(
            session, principal=caller, organisation_id=organisation_id, for_update=True
        )
        accounts.require_admin_of(caller, organisation)
    membership, _person = await members.member_of(session, organisation, person_id, for_update=True)
    check_if_match(request, membership.version, required=False)
    await members.remove(session, organisation=organisation, membership=membership, principal=caller, now=clock.now())
    return Response(status_code=204)
