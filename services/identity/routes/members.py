"""An organisation's members: listed and managed by its admins; anyone may leave."""

from fastapi import APIRouter, Response

from common.clock import ClockDep
from common.db import SessionDep
from common.etag import if_match_parameter
from common.pagination import CursorParam, LimitParam, Page, page_of
from common.problems import problem_responses
from common.resources import with_etag
from services.identity import members
from services.identity.deps import AdministeredOrganisation, CurrentMember, EditedMember, LeavingMember
from services.identity.guards import AnyMember, OrganisationAdmin
from services.identity.models import Membership, Person
from services.identity.schemas import MemberPublic, MemberUpdate

router = APIRouter(prefix="/organisations/{organisation_id}/members", tags=["members"])


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
    organisation: AdministeredOrganisation,
    session: SessionDep,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
) -> dict:
    """The organisation's members and their roles, paged; read by its admins (people only: 403 for a machine
    client acting with an admin role) or the platform's; 404 for another organisation."""
    rows = await members.list_members(session, organisation, limit=limit, cursor=cursor)
    return page_of(rows, limit=limit, to_public=member_public, anchor=lambda pair: pair[0])


@router.get(
    "/{person_id}",
    summary="Un membre de son organisation",
    response_model=MemberPublic,
    responses=problem_responses(401, 403, 404, 422),
)
async def get_member(member: CurrentMember, response: Response) -> MemberPublic:
    """One member with the ETag of their membership; read by the organisation's admins (people only) or the
    platform's; 404 for another organisation or a person who is not a member."""
    with_etag(response, member[0])
    return member_public(member)


@router.patch(
    "/{person_id}",
    summary="Changer les rôles d'un membre (l'organisation garde au moins un administrateur)",
    response_model=MemberPublic,
    responses=problem_responses(400, 401, 403, 404, 409, 412, 413, 422, 428),
    openapi_extra=if_match_parameter(),
)
async def update_member(
    edited: EditedMember, body: MemberUpdate, response: Response, session: SessionDep, admin: OrganisationAdmin,
    clock: ClockDep,
) -> MemberPublic:
    """The organisation's admins (or the platform's) only. The new roles are in the member's next token: at their
    next refresh or login (an access token already issued keeps the old ones until it expires, 10 min at most).
    409 `last_admin` when the organisation would be left without an admin; 428 without If-Match, 412 on a stale
    one."""
    organisation, membership, person = edited
    membership = await members.change_roles(
        session, organisation=organisation, membership=membership, roles=body.roles, principal=admin, now=clock.now()
    )
    with_etag(response, membership)
    return member_public((membership, person))


@router.delete(
    "/{person_id}",
    summary="Retirer un membre, ou quitter l'organisation soi-même",
    status_code=204,
    responses=problem_responses(401, 403, 404, 409, 412, 422),
    openapi_extra=if_match_parameter(required=False),
)
async def remove_member(leaving: LeavingMember, session: SessionDep, caller: AnyMember, clock: ClockDep) -> Response:
    """An admin removes a member; any member removes themselves (leaves). Their refresh tokens for this
    organisation die at once; an access token already issued works until it expires (10 min at most). 409
    `last_admin` for the organisation's last admin; 412 on a stale If-Match."""
    organisation, membership = leaving
    await members.remove(session, organisation=organisation, membership=membership, principal=caller, now=clock.now())
    return Response(status_code=204)
