"""Invitations: sent by an organisation's admins, accepted by the invitee with the token mailed to them."""

import uuid
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Query, Response

from common.auth import AnyCaller
from common.clock import ClockDep
from common.db import Database, SessionDep
from common.idempotency import IdempotencyDep
from common.pagination import CursorParam, LimitParam, Page, page_of
from common.problems import problem_responses
from services.identity import invitations, mails
from services.identity.deps import (
    AdministeredOrganisation,
    CurrentInvitation,
    DatabaseDep,
    GatedPasswordsDep,
    LockedAdministeredOrganisation,
    LockedInvitation,
    MailerDep,
    SettingsDep,
)
from services.identity.guards import OrganisationAdmin
from services.identity.models import Invitation, Organisation, Person
from services.identity.schemas import (
    InvitationAccept,
    InvitationAccepted,
    InvitationCreate,
    InvitationPublic,
    InvitationState,
)
from services.identity.settings import IdentitySettings

router = APIRouter(tags=["invitations"])
ORGANISATION_INVITATIONS = "/organisations/{organisation_id}/invitations"


def _mail_it(
    background: BackgroundTasks, *, database: Database, mailer: MailerDep, settings: IdentitySettings,
    invitation: Invitation, organisation: Organisation, inviter: Person | None, token: str,
) -> None:
    """After the commit: the mail, then whether it left (for the admin's list; a resend meanwhile has its own)."""
    mail = mails.invitation(
        to=invitation.email, organisation_name=organisation.name, roles=invitation.roles,
        inviter_name=inviter.full_name if inviter else organisation.name, token=token,
        expires_at=invitation.expires_at, links_base_url=settings.links_base_url,
    )
    record = invitations.mail_state_recorder(database, invitation)
    background.add_task(mails.send, mailer, settings.mail_from, mail, on_result=record)


@router.post(
    ORGANISATION_INVITATIONS,
    summary="Inviter une adresse avec des rôles : un lien à usage unique lui est envoyé",
    status_code=201,
    response_model=InvitationPublic,
    responses=problem_responses(400, 401, 403, 404, 409, 413, 422),
)
async def create_invitation(
    # The guard, then the Idempotency-Key's reservation (its own transaction), then the organisation's row lock:
    # two invitations to one address at once cannot both find none waiting.
    admin: OrganisationAdmin, call: IdempotencyDep, organisation: LockedAdministeredOrganisation,
    body: InvitationCreate, session: SessionDep,
    clock: ClockDep, settings: SettingsDep, database: DatabaseDep, mailer: MailerDep, background: BackgroundTasks,
) -> Response:
    """Nothing is attached until the invitee accepts. The answer is the same whether the address has an account or
    not; 409 `already_member` when it is already a member of this organisation, `invitation_pending` when an
    invitation to it still waits. By the organisation's admins (people only) or the platform's; 404 for another
    organisation."""
    now = clock.now()
    invitation, token = await invitations.invite(
        session, organisation=organisation, request=body, principal=admin, now=now,
        ttl_seconds=settings.invitation_ttl_seconds,
    )
    inviter = await invitations.inviter(session, invitation.invited_by)
    _mail_it(background, database=database, mailer=mailer, settings=settings, invitation=invitation,
             organisation=organisation, inviter=inviter, token=token)
    return await call.respond(
        session, status_code=201, content=invitations.to_public(invitation, now),
        headers={"Location": f"/api/v1/organisations/{organisation.id}/invitations/{invitation.id}"},
    )


@router.get(
    ORGANISATION_INVITATIONS,
    summary="Les invitations de son organisation",
    response_model=Page[InvitationPublic],
    responses=problem_responses(400, 401, 403, 404, 422),
)
async def list_invitations(
    organisation: AdministeredOrganisation, session: SessionDep, clock: ClockDep,
    limit: LimitParam = 50, cursor: CursorParam = None,
    state: Annotated[InvitationState | None, Query()] = None,
) -> dict:
    """The organisation's invitations, by state, paged; read by its admins (people only) or the platform's; 404
    for another organisation."""
    now = clock.now()
    rows = await invitations.list_invitations(session, organisation, state=state, now=now, limit=limit, cursor=cursor)
    return page_of(rows, limit=limit, to_public=lambda row: invitations.to_public(row, now))


@router.get(
    ORGANISATION_INVITATIONS + "/{invitation_id}",
    summary="Une invitation de son organisation",
    response_model=InvitationPublic,
    responses=problem_responses(401, 403, 404, 422),
)
async def get_invitation(found: CurrentInvitation, clock: ClockDep) -> InvitationPublic:
    """One invitation of the organisation; read by its admins (people only) or the platform's; 404 for another
    organisation's."""
    _organisation, invitation = found
    return invitations.to_public(invitation, clock.now())


@router.post(
    ORGANISATION_INVITATIONS + "/{invitation_id}/revoke",
    summary="Révoquer une invitation en attente : son lien ne sert plus",
    response_model=InvitationPublic,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def revoke_invitation(
    found: LockedInvitation, session: SessionDep, admin: OrganisationAdmin, clock: ClockDep
) -> InvitationPublic:
    """By the organisation's admins (people only) or the platform's; 409 for an invitation no longer pending."""
    _organisation, invitation = found
    now = clock.now()
    revoked = await invitations.revoke(session, invitation=invitation, principal=admin, now=now)
    return invitations.to_public(revoked, now)


@router.post(
    ORGANISATION_INVITATIONS + "/{invitation_id}/resend",
    summary="Renvoyer une invitation : nouveau lien, nouvelle échéance, l'ancien lien ne sert plus",
    response_model=InvitationPublic,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def resend_invitation(
    found: LockedInvitation, session: SessionDep, admin: OrganisationAdmin, clock: ClockDep,
    settings: SettingsDep, database: DatabaseDep, mailer: MailerDep, background: BackgroundTasks,
) -> InvitationPublic:
    """By the organisation's admins (people only) or the platform's; the mail goes after the commit. 409 for an
    invitation no longer pending."""
    organisation, invitation = found
    now = clock.now()
    invitation, token = await invitations.resend(
        session, invitation=invitation, principal=admin, now=now, ttl_seconds=settings.invitation_ttl_seconds
    )
    inviter = await invitations.inviter(session, uuid.UUID(admin.subject))
    _mail_it(background, database=database, mailer=mailer, settings=settings, invitation=invitation,
             organisation=organisation, inviter=inviter, token=token)
    return invitations.to_public(invitation, now)


@router.post(
    "/invitations/accept",
    summary="Accepter une invitation avec le jeton reçu par mail",
    status_code=201,
    response_model=InvitationAccepted,
    responses=problem_responses(400, 401, 403, 404, 409, 410, 413, 422),
    openapi_extra={"security": [{}, {"HTTPBearer": []}]},
)
async def accept_invitation(
    body: InvitationAccept, session: SessionDep, caller: AnyCaller, database: DatabaseDep,
    passwords: GatedPasswordsDep, clock: ClockDep,
) -> InvitationAccepted:
    """A new person sends `full_name` and `password` (the token proved the address); an address that already has an
    account must be signed in as that account (401 `sign_in_required`, 403 `invitation_for_someone_else`), and its
    password does not change. 404 `token_unknown`, 409 `invitation_used`, 410 `token_expired` or
    `invitation_revoked`. The new membership is in the person's next login."""
    _invitation, organisation, person = await invitations.accept(
        session, database=database, request=body, principal=caller, passwords=passwords, now=clock.now()
    )
    return InvitationAccepted(
        organisation_id=organisation.id, organisation_name=organisation.name, person_id=person.id,
        roles=await invitations.roles_granted(session, person, organisation),
    )
