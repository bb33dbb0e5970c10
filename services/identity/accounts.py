"""Organisations, people and memberships: the rules."""

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from common.db import Database, utcnow
from common.problems import Conflict, Forbidden, NotFound, Problem, Text, Unauthorized, UnprocessableContent
from common.tokens import Principal
from services.identity import audit, repository
from services.identity.models import Membership, Organisation, PendingSignup, Person
from services.identity.one_time import hash_secret, new_token
from services.identity.schemas import OrganisationCreate, OrganisationFields, OrganisationUpdate, SignupRequest
from services.identity.throttle import GatedPasswords
from services.vocabulary import ROLES_BY_KIND, OrganisationKind, Role

ORGANISATION_NOT_FOUND = Text("Organisation introuvable.", "Organisation not found.")


def _identifier_taken() -> Conflict:
    return Conflict(
        Text("Une organisation porte déjà ce SIRET ou ce RNA.", "An organisation already has this SIRET or RNA."),
        code="organisation_exists",
    )


# Moselle, Bas-Rhin, Haut-Rhin: associations there live under the local civil code, registered by the tribunal.
ALSACE_MOSELLE = frozenset({"57", "67", "68"})


def organisation_columns(fields: OrganisationFields) -> dict[str, Any]:
    """The organisation's columns from the API's fields: the register entry is one object there, three columns
    here."""
    columns = fields.model_dump(mode="json", exclude={"local_register"})
    register = fields.local_register
    columns |= {"register_court": register.court if register else None,
                "register_volume": register.volume if register else None,
                "register_folio": register.folio if register else None}
    return columns


def _check_identification(columns: dict[str, Any], *, kind: str, at: str) -> None:
    """An association is identified by a SIRET, an RNA, its entry in a tribunal's register (Alsace-Moselle only)
    or a prefecture receipt (anywhere else); the last two are an association's only. `at` is where the fields
    sit in the body ("body.organisation" at sign-up)."""
    local_law = columns.get("department") in ALSACE_MOSELLE
    registered, receipt = columns.get("register_court") is not None, columns.get("prefecture_receipt") is not None
    if kind != OrganisationKind.association:
        for given, field in ((registered, "local_register"), (receipt, "prefecture_receipt")):
            if given:
                raise UnprocessableContent(
                    Text("Seule une association a un registre ou un récépissé d'association.",
                         "Only an association has an association register entry or receipt."),
                    errors=[(f"{at}.{field}", Text("Réservé aux associations.", "Associations only."))],
                )
        return
    if registered and not local_law:
        raise UnprocessableContent(
            Text("Seules les associations de Moselle, du Bas-Rhin et du Haut-Rhin sont inscrites au registre des "
                 "associations d'un tribunal.",
                 "Only associations of Moselle, Bas-Rhin and Haut-Rhin are entered in a tribunal's register."),
            errors=[(f"{at}.department", Text("Département du siège : 57, 67 ou 68 pour une inscription au registre.",
                                              "The seat's département: 57, 67 or 68 for a register entry."))],
        )
    if receipt and local_law:
        raise UnprocessableContent(
            Text("En Alsace-Moselle, une association est inscrite au tribunal, non déclarée en préfecture : "
                 "donnez son inscription au registre des associations.",
                 "In Alsace-Moselle an association is registered by the tribunal, not declared to the prefecture: "
                 "give its entry in the register of associations."),
            errors=[(f"{at}.prefecture_receipt", Text("Pas de récépissé de préfecture en Alsace-Moselle.",
                                                      "No prefecture receipt in Alsace-Moselle."))],
        )
    if not (columns.get("siret") or columns.get("rna") or registered or receipt):
        needed = (Text("SIRET ou inscription au registre des associations du tribunal requis.",
                       "SIRET or entry in the tribunal's register of associations required.") if local_law else
                  Text("SIRET, RNA ou récépissé de déclaration en préfecture requis.",
                       "SIRET, RNA or prefecture receipt required."))
        raise UnprocessableContent(
            Text("Une association s'identifie par son SIRET, son RNA, son inscription au registre des associations "
                 "(Alsace-Moselle) ou le récépissé de sa déclaration en préfecture.",
                 "An association needs a SIRET, an RNA, an entry in a tribunal's register (Alsace-Moselle) or a "
                 "prefecture receipt."),
            errors=[(f"{at}.siret", needed)],
        )


async def _identifier_in_use(session: AsyncSession, columns: dict[str, Any]) -> bool:
    register = (columns.get("register_court"), columns.get("register_volume"), columns.get("register_folio"))
    return await repository.organisation_by_identifier(
        session, siret=columns.get("siret"), rna=columns.get("rna"),
        register=register if all(register) else None,
    ) is not None


def _email_taken() -> Conflict:
    return Conflict(Text("Cette adresse e-mail a déjà un compte.", "This email already has an account."),
                    code="email_taken")


def _already_member() -> Conflict:
    return Conflict(Text("Cette personne est déjà membre.", "This person is already a member."),
                    code="already_member")


class SignupMailGate:
    """One sign-up mail per address and caller address at most every `interval` (in this process: a bound on
    nuisance, not a security boundary; the gateway's per-address rate limit is the other half)."""

    def __init__(self, interval: timedelta = timedelta(seconds=60)):
        self.interval = interval
        self.last_sent: dict[tuple[str, str | None], datetime] = {}

    def allows(self, email: str, ip: str | None, now: datetime) -> bool:
        last = self.last_sent.get((email, ip))
        return last is None or now - last >= self.interval

    def sent(self, email: str, ip: str | None, now: datetime) -> None:
        if len(self.last_sent) > 10_000:  # forget what no longer counts, so the map stays small
            self.last_sent = {k: at for k, at in self.last_sent.items() if now - at < self.interval}
        self.last_sent[(email, ip)] = now


def _signup_gone() -> Problem:
    return Problem(
        Text("Ce lien d'inscription a expiré : inscrivez-vous à nouveau.", "This sign-up link expired: sign up again."),
        status=410, code="token_expired", title=Text("Lien expiré", "Link expired"),
    )


async def request_signup(
    session: AsyncSession, *, database: Database, request: SignupRequest, passwords: GatedPasswords,
    mail_gate: SignupMailGate, ip: str | None, now: datetime, ttl_seconds: int,
) -> tuple[PendingSignup, str, bool] | None:
    """An association asks to register with its first admin: the sign-up waits for the admin to prove the address
    (the token mailed to it). Returns the pending sign-up, its token and whether the address has an account (for
    the mail only: the answer is the same either way); None when this caller had a sign-up mail sent to that
    address a moment ago (nothing is written and no mail goes: the caller's answer stays the same)."""
    fields = request.organisation
    columns = organisation_columns(fields)
    _check_identification(columns, kind=OrganisationKind.association, at="body.organisation")
    email = request.admin.email.lower()
    # Organisations are a public directory: saying one exists tells nothing new. Read first (and on a reader, so
    # that nothing is locked while the password is hashed); the writer checks again.
    async with database.transaction(write=False) as reader:
        if await _identifier_in_use(reader, columns):
            raise _identifier_taken()
    # Sign-up is public: without this, anyone could have the desk mail any address as often as they like, with an
    # organisation name of their choosing in the subject. Counted per address *and* caller, so that a stranger's
    # sign-ups never delay the mail the address's owner asks for; checked before hashing, so a refusal is cheap.
    if not mail_gate.allows(email, ip, now):
        return None
    # Hashed before the writer's first statement, and even when the address has an account (whose password
    # stays): both paths cost the same.
    password_hash = await passwords.hash(request.admin.password)
    if await _identifier_in_use(session, columns):
        raise _identifier_taken()
    await repository.forget_expired_signups(session, now)
    existing = await repository.person_by_email(session, email) is not None
    token, token_hash = new_token("sgn_")
    pending = PendingSignup(
        token_hash=token_hash, email=email, full_name=request.admin.full_name, password_hash=password_hash,
        organisation=columns, created_at=now, expires_at=now + timedelta(seconds=ttl_seconds),
    )
    session.add(pending)
    audit.record(session, action="signup.requested", actor=None, at=now, email=email,
                 details={"name": fields.name, "siret": fields.siret, "rna": fields.rna,
                          "department": fields.department,
                          "local_register": fields.local_register.model_dump() if fields.local_register else None,
                          "prefecture_receipt": fields.prefecture_receipt})
    await session.flush()
    mail_gate.sent(email, ip, now)
    return pending, token, existing


async def verify_signup(
    session: AsyncSession, *, token: str, principal: Principal | None, now: datetime
) -> tuple[Organisation, Person]:
    """The admin opened the mailed link: the association and its admin exist from now on. An address that already
    has an account must be signed in as that account (the sign-up's password is then dropped)."""
    pending = await repository.pending_signup_by_hash(session, hash_secret(token))
    if pending is None:
        raise _token_unknown()
    if pending.expires_at <= now:
        raise _signup_gone()  # the next sign-up's sweep deletes it
    fields = pending.organisation
    if await _identifier_in_use(session, fields):
        raise _identifier_taken()
    person = await repository.person_by_email(session, pending.email)
    if person is not None:
        if principal is None or principal.kind != "user" or principal.subject != str(person.id):
            raise Unauthorized(
                Text("Cette adresse a déjà un compte : connectez-vous avec lui, puis confirmez à nouveau.",
                     "This address already has an account: sign in with it, then confirm again."),
                code="sign_in_required",
            )
    organisation = Organisation(kind=OrganisationKind.association, **fields)
    session.add(organisation)
    await _flush_or_conflict(session, _identifier_taken)
    if person is None:
        person = Person(email=pending.email, full_name=pending.full_name, password_hash=pending.password_hash)
        session.add(person)
        await _flush_or_conflict(session, _email_taken)
    session.add(Membership(person_id=person.id, organisation_id=organisation.id, roles=[Role.holder_admin]))
    await session.delete(pending)
    audit.record(session, action="signup.verified", actor=str(person.id), at=now, organisation_id=organisation.id,
                 person_id=person.id, email=person.email)
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
    if request.kind == OrganisationKind.funder and not request.siret:
        # The grants' open data (SCDL) names each funder by its SIRET: a row without one is invalid.
        raise UnprocessableContent(
            Text("Un financeur s'identifie par son SIRET.", "A funder needs a SIRET."),
            errors=[("body.siret", Text("SIRET requis pour un financeur.", "SIRET required for a funder."))],
        )
    columns = organisation_columns(request)
    _check_identification(columns, kind=request.kind, at="body")
    if await _identifier_in_use(session, columns):
        raise _identifier_taken()
    organisation = Organisation(**columns)
    session.add(organisation)
    await _flush_or_conflict(session, _identifier_taken)
    return organisation


async def update_organisation(
    session: AsyncSession, *, organisation: Organisation, request: OrganisationUpdate, principal: Principal,
    now: datetime,
) -> Organisation:
    changes = request.model_dump(exclude_unset=True)
    if all(getattr(organisation, field) == value for field, value in changes.items()):
        return organisation  # nothing changes: same version, same ETag
    before = {field: getattr(organisation, field) for field in changes}
    for field, value in changes.items():
        setattr(organisation, field, value)
    _touched(organisation)
    # The name and identifiers are what funders, the open data and the mails show: who changed them is kept.
    audit.record(session, action="organisation.updated", actor=principal, at=now, organisation_id=organisation.id,
                 details={"changed": {f: {"from": before[f], "to": changes[f]} for f in changes
                                      if before[f] != changes[f]}})
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


async def suspend(
    session: AsyncSession, *, organisation: Organisation, reason: str, principal: Principal, now: datetime
) -> Organisation:
    """Its people and machine clients obtain no token from now on; their refresh tokens die at once."""
    if organisation.kind == OrganisationKind.platform:
        raise Conflict(Text("La plateforme ne se suspend pas elle-même.", "The platform does not suspend itself."),
                       code="platform_not_suspendable")
    if organisation.status == "suspended":
        raise Conflict(Text("Cette organisation est déjà suspendue.", "This organisation is already suspended."),
                       code="already_suspended")
    organisation.status, organisation.suspended_at, organisation.suspended_reason = "suspended", now, reason
    _touched(organisation)
    await repository.revoke_refresh_tokens(session, organisation_id=organisation.id, at=now)
    audit.record(session, action="organisation.suspended", actor=principal, at=now, organisation_id=organisation.id,
                 details={"reason": reason})
    await session.flush()
    return organisation


async def reactivate(
    session: AsyncSession, *, organisation: Organisation, principal: Principal, now: datetime
) -> Organisation:
    if organisation.status != "suspended":
        raise Conflict(Text("Cette organisation n'est pas suspendue.", "This organisation is not suspended."),
                       code="not_suspended")
    organisation.status, organisation.suspended_at, organisation.suspended_reason = "active", None, None
    _touched(organisation)
    audit.record(session, action="organisation.reactivated", actor=principal, at=now, organisation_id=organisation.id)
    await session.flush()
    return organisation


def _touched(organisation: Organisation) -> None:
    organisation.version += 1
    organisation.updated_at = utcnow()


def roles_allowed(organisation: Organisation, roles: Sequence[str]) -> list[str]:
    """The roles asked, if the organisation's kind gives them all; 422 naming those it does not."""
    allowed = ROLES_BY_KIND[OrganisationKind(organisation.kind)]
    refused = [role for role in roles if role not in allowed]
    if refused:
        raise UnprocessableContent(
            Text("Rôle non prévu pour ce type d'organisation.", "Role not available for this kind of organisation."),
            errors=[("body.roles", Text(f"Refusé : {', '.join(refused)}", f"Refused: {', '.join(refused)}"))],
        )
    return sorted(set(roles))


def _token_unknown() -> NotFound:
    return NotFound(Text("Ce lien n'est pas (ou plus) valable.", "This link is not (or no longer) valid."),
                    code="token_unknown")


async def readable_organisation(
    session: AsyncSession, principal: Principal, organisation_id: uuid.UUID
) -> Organisation:
    """An organisation's public card, which every signed-in caller reads; 404 for an unknown one."""
    return await visible_organisation(session, organisation_id)


async def locked_organisation(session: AsyncSession, principal: Principal, organisation_id: uuid.UUID) -> Organisation:
    """An organisation locked for the platform's move of it (suspension, reactivation); 404 for an unknown one."""
    return await visible_organisation(session, organisation_id, for_update=True)


async def own_administered_organisation(
    session: AsyncSession, principal: Principal, organisation_id: uuid.UUID
) -> Organisation:
    """The organisation its admin (a person, or the platform's) administers; 404 for another, 403 for a machine."""
    organisation = await administered_organisation(session, principal=principal, organisation_id=organisation_id)
    require_admin_of(principal, organisation)
    return organisation


async def locked_administered_organisation(
    session: AsyncSession, principal: Principal, organisation_id: uuid.UUID
) -> Organisation:
    """`own_administered_organisation`, locked for its admin's change (If-Match then checked under the lock)."""
    organisation = await administered_organisation(
        session, principal=principal, organisation_id=organisation_id, for_update=True
    )
    require_admin_of(principal, organisation)
    return organisation


async def list_organisations(
    session: AsyncSession, *, kind: str | None, limit: int, cursor: str | None
) -> list[Organisation]:
    """A page (plus one row) of the directory, which every signed-in caller reads."""
    return await repository.list_organisations(session, kind=kind, limit=limit, cursor=cursor)


async def signed_in_person(
    session: AsyncSession, principal: Principal
) -> tuple[Person, list[tuple[Membership, Organisation]]]:
    """The person behind a token and their memberships; 404 for a machine client, which has none."""
    person = await repository.person_by_id(session, uuid.UUID(principal.subject)) if principal.kind == "user" else None
    if person is None:
        raise NotFound(Text("Aucune personne derrière ce jeton.", "No person behind this token."))
    return person, await repository.memberships_of(session, person.id)


def not_an_admin() -> Forbidden:
    return Forbidden(Text("Votre rôle ne permet pas cette action.", "Your role does not allow this action."))


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
