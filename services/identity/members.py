"""An organisation's members: their roles change, they leave or are removed; the organisation keeps an admin.
Every change is made behind the organisation's row lock, so that two admins demoting each other at once cannot
leave it with none."""

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from common.problems import Conflict, NotFound, Text
from common.tokens import Principal
from services.identity import accounts, audit, repository, standing
from services.identity.accounts import roles_allowed
from services.identity.models import Membership, Organisation, Person
from services.vocabulary import ADMIN_ROLES, ROLES_BY_KIND, OrganisationKind

MEMBER_NOT_FOUND = Text("Membre introuvable.", "Member not found.")


async def member_of(
    session: AsyncSession, organisation: Organisation, person_id: uuid.UUID, *, for_update: bool = False
) -> tuple[Membership, Person]:
    found = await repository.member(session, organisation.id, person_id, for_update=for_update)
    if found is None:
        raise NotFound(MEMBER_NOT_FOUND)
    return found


async def list_members(
    session: AsyncSession, organisation: Organisation, *, limit: int, cursor: str | None
) -> list[tuple[Membership, Person]]:
    """A page (plus one row) of the organisation's members."""
    return await repository.members_of(session, organisation.id, limit=limit, cursor=cursor)


async def leaving_or_removed(
    session: AsyncSession, *, principal: Principal, organisation_id: uuid.UUID, person_id: uuid.UUID
) -> tuple[Organisation, Membership]:
    """The organisation (locked: every membership change of one organisation waits its turn) and the membership
    about to go: the caller's own (leaving), or one its admin removes. 404 for another organisation's, 403 for a
    member who is not an admin."""
    leaving = principal.kind == "user" and principal.subject == str(person_id) and (
        principal.organisation_id == organisation_id
    )
    if leaving:
        organisation = await accounts.visible_organisation(session, organisation_id, for_update=True)
    else:
        if not principal.has_any_role(ADMIN_ROLES):
            if principal.organisation_id != organisation_id:
                raise NotFound(accounts.ORGANISATION_NOT_FOUND)  # another organisation's: out of sight
            raise accounts.not_an_admin()
        await standing.require_current(session, principal, ADMIN_ROLES)
        organisation = await accounts.locked_administered_organisation(session, principal, organisation_id)
    membership, _person = await member_of(session, organisation, person_id, for_update=True)
    return organisation, membership


def _admin_roles(organisation: Organisation) -> frozenset[str]:
    return ADMIN_ROLES & ROLES_BY_KIND[OrganisationKind(organisation.kind)]


async def _keeps_an_admin(
    session: AsyncSession, organisation: Organisation, membership: Membership, roles_after: list[str] | None
) -> None:
    """409 when the change would leave an organisation that has admin roles without any admin."""
    admin = _admin_roles(organisation)
    if not admin or not admin & set(membership.roles) or (roles_after is not None and admin & set(roles_after)):
        return
    admins = sum(1 for roles in await repository.roles_in(session, organisation.id) if admin & set(roles))
    if admins <= 1:
        raise Conflict(
            Text("L'organisation doit garder au moins un administrateur : nommez-en un autre d'abord.",
                 "The organisation must keep at least one admin: appoint another one first."),
            code="last_admin",
        )


async def change_roles(
    session: AsyncSession, *, organisation: Organisation, membership: Membership, roles: Sequence[str],
    principal: Principal, now: datetime,
) -> Membership:
    """Roles in force from the member's next token (a refresh reads them anew)."""
    roles = roles_allowed(organisation, roles)
    if roles == sorted(membership.roles):
        return membership  # nothing changes: same version, same ETag
    await _keeps_an_admin(session, organisation, membership, roles)
    before = list(membership.roles)
    membership.roles, membership.version, membership.updated_at = roles, membership.version + 1, now
    audit.record(session, action="member.roles_changed", actor=principal, at=now, organisation_id=organisation.id,
                 person_id=membership.person_id, details={"before": before, "after": roles})
    await session.flush()
    return membership


async def remove(
    session: AsyncSession, *, organisation: Organisation, membership: Membership, principal: Principal, now: datetime
) -> None:
    """The member leaves: the membership goes, and with it every refresh token the person holds for it."""
    await _keeps_an_admin(session, organisation, membership, None)
    await session.delete(membership)
    await repository.revoke_refresh_tokens(session, at=now, person_id=membership.person_id,
                                           organisation_id=organisation.id)
    action = "member.left" if principal.subject == str(membership.person_id) else "member.removed"
    audit.record(session, action=action, actor=principal, at=now, organisation_id=organisation.id,
                 person_id=membership.person_id, details={"roles": list(membership.roles)})
    await session.flush()
