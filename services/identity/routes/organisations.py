"""Organisations and their members."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from common.auth import Authorize
from common.db import SessionDep
from common.etag import check_if_match, etag_of, if_match_parameter
from common.idempotency import IdempotencyDep
from common.pagination import CursorParam, LimitParam, Page, page_of
from common.problems import problem_responses
from common.tokens import Principal
from services.identity import accounts, repository
from services.identity.deps import PasswordsDep
from services.identity.models import Membership, Organisation, Person
from services.identity.schemas import (
    MemberCreate,
    MemberPublic,
    OrganisationCreate,
    OrganisationPublic,
    OrganisationUpdate,
    PersonPublic,
    SignupRequest,
    SignupResult,
)
from services.vocabulary import ADMIN_ROLES, EVERY_ROLE, OrganisationKind, Role, Scope

router = APIRouter(prefix="/organisations", tags=["organisations"])

Reader = Annotated[Principal, Depends(Authorize(roles=EVERY_ROLE, scope=Scope.organisations_read, services=True))]
Admin = Annotated[Principal, Depends(Authorize(roles=ADMIN_ROLES))]
PlatformAdmin = Annotated[Principal, Depends(Authorize(roles={Role.platform_admin}))]


def _next_steps(organisation_id: str) -> dict[str, dict]:
    """OpenAPI links: where to read the organisation a response names (schemathesis' stateful run follows
    them); `organisation_id` is a runtime expression naming where its id is."""
    return {"GetOrganisation": {"operationId": "get_organisation", "parameters": {"organisation_id": organisation_id}}}


def organisation_public(organisation: Organisation) -> OrganisationPublic:
    return OrganisationPublic.model_validate(organisation, from_attributes=True)


def member_public(pair: tuple[Membership, Person]) -> MemberPublic:
    membership, person = pair
    return MemberPublic(
        person_id=person.id,
        email=person.email,
        full_name=person.full_name,
        roles=membership.roles,
        created_at=membership.created_at,
    )


def _location(organisation: Organisation) -> dict[str, str]:
    return {"Location": f"/api/v1/organisations/{organisation.id}", "ETag": etag_of(organisation.version)}


@router.post(
    "/signup",
    summary="Inscription d'une association avec son premier administrateur",
    status_code=201,
    response_model=SignupResult,
    responses={
        **problem_responses(400, 401, 409, 413, 422),
        201: {"links": _next_steps("$response.body#/organisation/id")},
    },
    # Public: a token is optional (it only scopes the Idempotency-Key); one that is sent must be valid (401).
    openapi_extra={"security": [{}]},
)
async def signup_association(
    body: SignupRequest, session: SessionDep, passwords: PasswordsDep, call: IdempotencyDep
) -> Response:
    organisation, person = await accounts.signup_association(session, request=body, passwords=passwords)
    result = SignupResult(
        organisation=organisation_public(organisation),
        admin=PersonPublic(id=person.id, email=person.email, full_name=person.full_name),
    )
    return await call.respond(session, status_code=201, content=result, headers=_location(organisation))


@router.post(
    "",
    summary="Enregistrer une organisation (financeur, guichet, conseil citoyen…)",
    status_code=201,
    response_model=OrganisationPublic,
    responses={**problem_responses(400, 401, 403, 409, 413, 422), 201: {"links": _next_steps("$response.body#/id")}},
)
async def create_organisation(
    body: OrganisationCreate, session: SessionDep, _admin: PlatformAdmin, call: IdempotencyDep
) -> Response:
    organisation = await accounts.create_organisation(session, request=body)
    return await call.respond(
        session, status_code=201, content=organisation_public(organisation), headers=_location(organisation)
    )


@router.get(
    "",
    summary="Annuaire des organisations",
    response_model=Page[OrganisationPublic],
    responses=problem_responses(400, 401, 403, 422),
)
async def list_organisations(
    session: SessionDep,
    _caller: Reader,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
    kind: Annotated[OrganisationKind | None, Query()] = None,
) -> dict:
    rows = await repository.list_organisations(session, kind=kind, limit=limit, cursor=cursor)
    return page_of(rows, limit=limit, to_public=organisation_public)


@router.get(
    "/{organisation_id}",
    summary="Fiche publique d'une organisation",
    response_model=OrganisationPublic,
    responses={
        **problem_responses(401, 403, 404, 422),
        200: {
            "links": {
                "UpdateOrganisation": {
                    "operationId": "update_organisation",
                    "parameters": {
                        "organisation_id": "$request.path.organisation_id",
                        "header.If-Match": "$response.header.ETag",
                    },
                },
                "ListMembers": {
                    "operationId": "list_members",
                    "parameters": {"organisation_id": "$request.path.organisation_id"},
                },
            }
        },
    },
)
async def get_organisation(
    organisation_id: uuid.UUID, session: SessionDep, _caller: Reader, response: Response
) -> OrganisationPublic:
    organisation = await accounts.visible_organisation(session, organisation_id)
    response.headers["ETag"] = etag_of(organisation.version)
    return organisation_public(organisation)


@router.patch(
    "/{organisation_id}",
    summary="Modifier sa propre organisation",
    response_model=OrganisationPublic,
    responses=problem_responses(400, 401, 403, 404, 412, 413, 422, 428),
    openapi_extra=if_match_parameter(),
)
async def update_organisation(
    organisation_id: uuid.UUID,
    body: OrganisationUpdate,
    request: Request,
    response: Response,
    session: SessionDep,
    admin: Admin,
) -> OrganisationPublic:
    organisation = await accounts.administered_organisation(
        session, principal=admin, organisation_id=organisation_id, for_update=True
    )
    accounts.require_admin_of(admin, organisation)
    check_if_match(request, organisation.version)
    organisation = await accounts.update_organisation(session, organisation=organisation, request=body)
    response.headers["ETag"] = etag_of(organisation.version)
    return organisation_public(organisation)


@router.get(
    "/{organisation_id}/members",
    summary="Membres de son organisation",
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
    # People only, as for adding members: a machine client acting with an admin role must not read them.
    accounts.require_admin_of(admin, organisation)
    rows = await repository.members_of(session, organisation.id, limit=limit, cursor=cursor)
    return page_of(rows, limit=limit, to_public=member_public, anchor=lambda pair: pair[0])


@router.post(
    "/{organisation_id}/members",
    summary="Ajouter un membre avec ses rôles",
    status_code=201,
    response_model=MemberPublic,
    responses=problem_responses(400, 401, 403, 404, 409, 413, 422),
)
async def add_member(
    organisation_id: uuid.UUID,
    body: MemberCreate,
    session: SessionDep,
    admin: Admin,
    passwords: PasswordsDep,
    call: IdempotencyDep,
) -> Response:
    organisation = await accounts.administered_organisation(session, principal=admin, organisation_id=organisation_id)
    accounts.require_admin_of(admin, organisation)
    membership, person = await accounts.add_member(
        session, organisation=organisation, request=body, passwords=passwords
    )
    return await call.respond(session, status_code=201, content=member_public((membership, person)))
