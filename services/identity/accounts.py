"""Organisations, people and memberships: the rules."""

import uuid
from collections.abc import Callable

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from common.db import utcnow
from common.problems import Conflict, Forbidden, NotFound, Text, UnprocessableContent
from common.tokens import Principal
from services.identity import repository
from services.identity.models import Membership, Organisation, Person
from services.identity.passwords import Passwords
from services.identity.schemas import MemberCreate, OrganisationCreate, OrganisationUpdate, SignupRequest
from services.vocabulary import ROLES_BY_KIND, OrganisationKind, Role

ORGANISATION_NOT_FOUND = Text("Organisation introuvable.", "Organisation not found.")


def _identifier_taken() -> Conflict:
    return Conflict(
        Text("Une organisation porte déjà ce SIRET ou ce RNA.", "An organisation already has this SIRET or RNA."),
        code="organisation_exists",
    )


def _email_taken() -> Conflict:
    return Conflict(Text("Cette adresse e-mail a déjà un compte.", "This email already has an account."),
                    code="email_taken")


def _already_member() -> Conflict:
    return Conflict(Text("Cette personne est déjà membre.", "This person is already a member."),
                    code="already_member")


async def signup_association(
    session: AsyncSession, *, request: SignupRequest, passwords: Passwords
) -> tuple[Organisation, Person]:
    """An association registers itself with its first admin."""
    fields = request.organisation
    if not fields.siret and not fields.rna:
        raise UnprocessableContent(
            Text("Une association s'identifie par son SIRET ou son RNA.", "An association needs a SIRET or an RNA."),
            errors=[("body.organisation.siret", Text("SIRET ou RNA requis.", "SIRET or RNA required."))],
        )
    if await repository.organisation_by_identifier(session, siret=fields.siret, rna=fields.rna):
        raise _identifier_taken()
    if await repository.person_by_email(session, request.admin.email):
        raise _email_taken()
    organisation = Organisation(kind=OrganisationKind.association, **fields.model_dump())
    person = Person(
        email=request.admin.email.lower(),
        full_name=request.admin.full_name,
        password_hash=passwords.hash(request.admin.password),
    )
    # One flush per row, so that a concurrent sign-up that took the identifier or the email between our
    # checks and our inserts is told apart (PostgreSQL) and answered 409, never 500.
    session.add(organisation)
    await _flush_or_conflict(session, _identifier_taken)
    session.add(person)
    await _flush_or_conflict(session, _email_taken)
    session.add(Membership(person_id=person.id, organisation_id=organisation.id, roles=[Role.holder_admin]))
    await _flush_or_conflict(session, _identifier_taken)
    return organisation, person


async def create_organisation(session: AsyncSession, *, request: OrganisationCreate) -> Organisation:
    """A platform admin registers a funder, the desk, a citizen council or an association."""
    if request.kind == OrganisationKind.citizen_council and not request.qpv_codes:
        raise UnprocessableContent(
            Text("Un conseil citoyen parle pour au moins un QPV.", "A citizen council speaks for at least one QPV."),
            errors=[("body.qpv_codes", Text("Au moins un code QPV.", "At least one QPV code."))],
        )
    if request.funder_category and request.kind != OrganisationKind.funder:
        raise UnprocessableContent(
            Text("Seul un financeur a une catégorie de financeur.", "Only a funder has a funder category."),
            errors=[("body.funder_category", Text("Réservé aux financeurs.", "Funders only."))],
        )
    if await repository.organisation_by_identifier(session, siret=request.siret, rna=request.rna):
        raise _identifier_taken()
    organisation = Organisation(**request.model_dump())
    session.add(organisation)
    await _flush_or_conflict(session, _identifier_taken)
    return organisation


async def update_organisation(
    session: AsyncSession, *, organisation: Organisation, request: OrganisationUpdate
) -> Organisation:
    changes = request.model_dump(exclude_unset=True)
    if all(getattr(organisation, field) == value for field, value in changes.items()):
        return organisation  # nothing changes: same version, same ETag
    for field, value in changes.items():
        setattr(organisation, field, value)
    organisation.version += 1
    organisation.updated_at = utcnow()
    await session.flush()
    return organisation


async def visible_organisation(
    session: AsyncSession, organisation_id: uuid.UUID, *, for_update: bool = False
) -> Organisation:
    """Organisations' public cards (name, kind, registry identifiers) are readable by every signed-in caller."""
    organisation = await repository.organisation_by_id(session, organisation_id, for_update=for_update)
    if organisation is None:
        raise NotFound(ORGANISATION_NOT_FOUND)
    return organisation


async def administered_organisation(
    session: AsyncSession, *, principal: Principal, organisation_id: uuid.UUID, for_update: bool = False
) -> Organisation:
    """The organisation, if the caller administers it (or is a platform admin); 404 otherwise.

    `for_update` locks the row before its ETag is checked, so that two changes made from the same read
    cannot both pass the If-Match check (the second waits, then sees the new version: 412).
    """
    if Role.platform_admin not in principal.roles and principal.organisation_id != organisation_id:
        raise NotFound(ORGANISATION_NOT_FOUND)
    return await visible_organisation(session, organisation_id, for_update=for_update)


async def add_member(
    session: AsyncSession, *, organisation: Organisation, request: MemberCreate, passwords: Passwords
) -> tuple[Membership, Person]:
    allowed = ROLES_BY_KIND[OrganisationKind(organisation.kind)]
    refused = [role for role in request.roles if role not in allowed]
    if refused:
        raise UnprocessableContent(
            Text("Rôle non prévu pour ce type d'organisation.", "Role not available for this kind of organisation."),
            errors=[("body.roles", Text(f"Refusé : {', '.join(refused)}", f"Refused: {', '.join(refused)}"))],
        )
    person = await repository.person_by_email(session, request.email)
    if person is None:
        person = Person(
            email=request.email.lower(), full_name=request.full_name, password_hash=passwords.hash(request.password)
        )
        session.add(person)
        # A concurrent request may have created this person between our lookup and our insert.
        await _flush_or_conflict(session, _email_taken)
    elif await repository.membership(session, person.id, organisation.id):
        raise _already_member()
    membership = Membership(
        person_id=person.id, organisation_id=organisation.id, roles=sorted(set(request.roles))
    )
    session.add(membership)
    await _flush_or_conflict(session, _already_member)
    return membership, person


def require_admin_of(principal: Principal, organisation: Organisation) -> None:
    if Role.platform_admin in principal.roles:
        return
    if principal.organisation_id != organisation.id:
        raise NotFound(ORGANISATION_NOT_FOUND)
    if principal.kind != "user":
        raise Forbidden(Text("Réservé aux personnes.", "People only."))


async def _flush_or_conflict(session: AsyncSession, conflict: Callable[[], Conflict]) -> None:
    """Flush; a unique constraint broken by a concurrent request (after our checks) is that request's 409."""
    try:
        await session.flush()
    except IntegrityError as exc:
        raise conflict() from exc
