"""Organisations and their members."""

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from common.auth import AnyCaller
from common.clock import ClockDep
from common.db import SessionDep
from common.etag import etag_of, if_match_parameter
from common.idempotency import IdempotencyDep
from common.openapi import ETAG_REF
from common.pagination import CursorParam, LimitParam, Page, page_of
from common.problems import problem_responses
from common.resources import with_etag
from services.identity import accounts, audit, mails
from services.identity.deps import (
    AddressDep,
    AdministeredOrganisation,
    CurrentOrganisation,
    DatabaseDep,
    EditedOrganisation,
    GatedPasswordsDep,
    MailerDep,
    MovedOrganisation,
    SettingsDep,
    SuspendedOrganisation,
)
from services.identity.guards import DirectoryRead, OrganisationAdmin, PlatformAdmin
from services.identity.models import Organisation
from services.identity.schemas import (
    AuditEventPublic,
    OrganisationCreate,
    OrganisationPublic,
    OrganisationUpdate,
    PersonPublic,
    SignupPending,
    SignupRequest,
    SignupResult,
    SignupVerify,
    SuspensionRequest,
)
from services.vocabulary import OrganisationKind

router = APIRouter(prefix="/organisations", tags=["organisations"])



def _next_steps(organisation_id: str) -> dict[str, dict]:
    """OpenAPI links: where to read the organisation a response names (schemathesis' stateful run follows
    them); `organisation_id` is a runtime expression naming where its id is."""
    return {"GetOrganisation": {"operationId": "get_organisation", "parameters": {"organisation_id": organisation_id}}}


def organisation_public(organisation: Organisation) -> OrganisationPublic:
    return OrganisationPublic.model_validate(organisation, from_attributes=True)


def _location(organisation: Organisation) -> str:
    return f"/api/v1/organisations/{organisation.id}"


@router.post(
    "/signup",
    summary="Inscription d'une association : un lien de confirmation part à son premier administrateur",
    status_code=202,
    response_model=SignupPending,
    responses=problem_responses(400, 401, 409, 413, 422),
    # Public: a token is optional (it only scopes the Idempotency-Key); one that is sent must be valid (401).
    openapi_extra={"security": [{}]},
)
async def signup_association(
    body: SignupRequest, session: SessionDep, passwords: GatedPasswordsDep, call: IdempotencyDep, clock: ClockDep,
    settings: SettingsDep, mailer: MailerDep, background: BackgroundTasks, request: Request, address: AddressDep,
    database: DatabaseDep,
) -> Response:
    """Nothing exists until the admin opens the link mailed to them (`POST /organisations/signup/verify`), within
    `IDENTITY_SIGNUP_TTL_SECONDS` (48 h by default): an unproven sign-up holds no address, SIRET or RNA, and
    cannot log in. The answer is the same whether the address already has an account or not.

    The association is identified by its SIRET, its RNA or, with its `department`: in Moselle, Bas-Rhin and
    Haut-Rhin (57, 67, 68) its entry in the tribunal's register (`local_register`: court, volume, folio),
    elsewhere, for an older association, its prefecture receipt. Refused: 422 for none of them, a register entry
    outside those départements or a prefecture receipt inside; 409 for one already registered."""
    now = clock.now()
    asked = await accounts.request_signup(
        session, database=database, request=body, passwords=passwords,
        mail_gate=request.app.state.signup_mail_gate, ip=address,
        now=now, ttl_seconds=settings.signup_ttl_seconds,
    )
    if asked is not None:
        pending, token, existing = asked
        mail = mails.signup_check(
            to=pending.email, organisation_name=body.organisation.name, token=token, expires_at=pending.expires_at,
            links_base_url=settings.links_base_url, existing_account=existing,
        )
        background.add_task(mails.send, mailer, settings.mail_from, mail)
    # The same answer when a sign-up mail went to that address a moment ago and none goes now.
    expires_at = now + timedelta(seconds=settings.signup_ttl_seconds)
    answer = SignupPending(email=body.admin.email.lower(), expires_at=expires_at)
    return await call.respond(session, status_code=202, content=answer)


@router.post(
    "/signup/verify",
    summary="Confirmer une inscription avec le jeton reçu par mail : l'association et son administrateur existent",
    status_code=201,
    response_model=SignupResult,
    # No OpenAPI link: its success needs a token that only the admin's mailbox holds.
    responses={**problem_responses(400, 401, 404, 409, 410, 413, 422), 201: {"headers": {"ETag": ETAG_REF}}},
    openapi_extra={"security": [{}, {"HTTPBearer": []}]},
)
async def verify_signup(
    body: SignupVerify, session: SessionDep, caller: AnyCaller, clock: ClockDep
) -> Response:
    """404 `token_unknown` for a token never issued or already used, 410 `token_expired` after its lifetime. When the
    address already has an account, the person must be signed in as that account (401 `sign_in_required`)."""
    organisation, person = await accounts.verify_signup(session, token=body.token, principal=caller, now=clock.now())
    result = SignupResult(
        organisation=organisation_public(organisation),
        admin=PersonPublic(id=person.id, email=person.email, full_name=person.full_name),
    )
    response = JSONResponse(jsonable_encoder(result), status_code=201, headers={"Location": _location(organisation)})
    with_etag(response, organisation)
    return response


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
    """Registers an organisation of any kind (the platform's admins only; associations sign up themselves).
    Refused: 409 for a SIRET or RNA already registered; 422 for a funder without a SIRET (the grants' open data
    names each funder by it) or an association without a registry identifier."""
    organisation = await accounts.create_organisation(session, request=body)
    # The card has no version of its own (its ETag is the row's), which `common.resources.answer` cannot take.
    return await call.respond(
        session, status_code=201, content=organisation_public(organisation),
        headers={"Location": _location(organisation), "ETag": etag_of(organisation.version)},
    )


@router.get(
    "",
    summary="Annuaire des organisations",
    response_model=Page[OrganisationPublic],
    responses=problem_responses(400, 401, 403, 422),
)
async def list_organisations(
    session: SessionDep,
    _caller: DirectoryRead,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
    kind: Annotated[OrganisationKind | None, Query()] = None,
) -> dict:
    """The directory of organisations' public cards, filtered by kind and paged; read by every signed-in caller
    and service."""
    rows = await accounts.list_organisations(session, kind=kind, limit=limit, cursor=cursor)
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
async def get_organisation(organisation: CurrentOrganisation, response: Response) -> OrganisationPublic:
    """An organisation's public card with its ETag; read by every signed-in caller and service (404 for an unknown
    one)."""
    with_etag(response, organisation)
    return organisation_public(organisation)


@router.patch(
    "/{organisation_id}",
    summary="Modifier sa propre organisation",
    response_model=OrganisationPublic,
    responses=problem_responses(400, 401, 403, 404, 412, 413, 422, 428),
    openapi_extra=if_match_parameter(),
)
async def update_organisation(
    organisation: EditedOrganisation,
    body: OrganisationUpdate,
    response: Response,
    session: SessionDep,
    admin: OrganisationAdmin,
    clock: ClockDep,
) -> OrganisationPublic:
    """Changes the given fields of the caller's own organisation (its admins, or the platform's; 404 for another
    organisation, 403 for a machine client). Refused: 428 without If-Match, 412 on a stale one."""
    organisation = await accounts.update_organisation(
        session, organisation=organisation, request=body, principal=admin, now=clock.now()
    )
    with_etag(response, organisation)
    return organisation_public(organisation)


@router.post(
    "/{organisation_id}/suspend",
    summary="Suspendre une organisation : ses personnes et clients machine n'obtiennent plus de jeton (plateforme)",
    response_model=OrganisationPublic,
    responses=problem_responses(400, 401, 403, 404, 409, 412, 413, 422),
    openapi_extra=if_match_parameter(required=False),
)
async def suspend_organisation(
    organisation: SuspendedOrganisation, body: SuspensionRequest, response: Response, session: SessionDep,
    admin: PlatformAdmin, clock: ClockDep,
) -> OrganisationPublic:
    """The platform's admins only; 409 for an organisation already suspended (or the platform), 412 on a stale
    If-Match. Refresh tokens of its people die at once; an access token already issued works until it expires
    (10 min at most, IDENTITY_ACCESS_TOKEN_TTL_SECONDS)."""
    organisation = await accounts.suspend(
        session, organisation=organisation, reason=body.reason, principal=admin, now=clock.now()
    )
    with_etag(response, organisation)
    return organisation_public(organisation)


@router.post(
    "/{organisation_id}/reactivate",
    summary="Réactiver une organisation suspendue (plateforme)",
    response_model=OrganisationPublic,
    responses=problem_responses(401, 403, 404, 409, 412, 422),
    openapi_extra=if_match_parameter(required=False),
)
async def reactivate_organisation(
    organisation: MovedOrganisation, response: Response, session: SessionDep, admin: PlatformAdmin, clock: ClockDep,
) -> OrganisationPublic:
    """Its people and machine clients obtain tokens again (the platform's admins only); 409 for an organisation
    that is not suspended, 412 on a stale If-Match."""
    organisation = await accounts.reactivate(session, organisation=organisation, principal=admin, now=clock.now())
    with_etag(response, organisation)
    return organisation_public(organisation)


@router.get(
    "/{organisation_id}/audit-events",
    summary="Journal des accès : adhésions, invitations, suspensions (administrateurs de l'organisation)",
    response_model=Page[AuditEventPublic],
    responses=problem_responses(400, 401, 403, 404, 422),
)
async def list_audit_events(
    organisation: AdministeredOrganisation,
    session: SessionDep,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
    action: Annotated[str | None, Query(max_length=64, pattern=r"^[a-z_]+\.[a-z_]+$",
                                        examples=["invitation.created"])] = None,
) -> dict:
    """Oldest first; who did what, when, with the request id that did it. Read by the organisation's admins (or
    the platform's); 404 for another organisation."""
    rows = await audit.events(session, organisation_id=organisation.id, action=action, limit=limit, cursor=cursor)
    return page_of(rows, limit=limit, to_public=lambda row: AuditEventPublic.model_validate(row, from_attributes=True))
