"""An organisation's members: their roles change, they leave or are removed; the organisation keeps an admin.
Every change is made behind the organisation's row lock, so that two admins demoting each other at once cannot
leave it with none."""

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from common.problems import Conflict, NotFound, Text
from common.tokens import Principal
from services.identity import audit, repository
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
