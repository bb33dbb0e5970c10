"""Organisation profiles (CERFA 12156, identification pages): who reads them, who writes them, what they hold.

Public aid covers a moving window, this year and the three before (the form's "last three years"): lines older
than the window are history the form no longer asks for. They are neither shown nor counted, a PUT may send them
back unchanged (a client that read the profile before 1 January) but not enter new ones, and they are deleted at
the next replacement that changes the profile.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import BaseModel
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from common.db import utcnow
from common.problems import Conflict, Forbidden, NotFound, PreconditionFailed, Text, UnprocessableContent
from common.tokens import Principal
from services.identity import repository
from services.identity.accounts import ORGANISATION_NOT_FOUND
from services.identity.models import (
    Organisation,
    OrganisationProfile,
    ProfileApproval,
    ProfileNetwork,
    ProfilePublicAid,
)
from services.identity.profile_schemas import (
    AID_YEARS_BACK,
    CERTIFIED_ACCOUNTS_THRESHOLD_CENTS,
    REPUBLICAN_CONTRACT_FROM,
    AddressPublic,
    ApprovalPublic,
    NetworkPublic,
    PeoplePublic,
    PersonIn,
    ProfileIn,
    ProfilePersonPublic,
    ProfilePublic,
    PublicAidPublic,
    PublicAidYear,
    RepublicanContractPublic,
)
from services.vocabulary import OrganisationKind, Role

# Who reads any association's profile besides its own members: the desk, and the platform's admin.
READERS_BEYOND_MEMBERS = frozenset({Role.desk_coordinator, Role.platform_admin})
_PERSON_FIELDS = ("name", "function", "email", "phone")


def aid_years(on: date) -> range:
    """The years the form asks public aid for: this one and the three before."""
    return range(on.year - AID_YEARS_BACK, on.year + 1)


def _not_an_association(organisation: Organisation) -> Conflict:
    return Conflict(
        Text(
            f"Seule une association a un profil ; cette organisation est de type « {organisation.kind} ».",
            f"Only an association has a profile; this organisation is of kind '{organisation.kind}'.",
        ),
        code="not_an_association",
        extra={"kind": organisation.kind},
    )


async def _association(session: AsyncSession, organisation_id: uuid.UUID, *, for_update: bool) -> Organisation:
    organisation = await repository.organisation_by_id(session, organisation_id, for_update=for_update)
    if organisation is None:
        raise NotFound(ORGANISATION_NOT_FOUND)
    if organisation.kind != OrganisationKind.association:
        raise _not_an_association(organisation)
    return organisation


async def readable_profile(
    session: AsyncSession, *, principal: Principal, organisation_id: uuid.UUID
) -> OrganisationProfile | None:
    """The profile (None while blank), for the association's members, the desk, the platform admin and the desk's
    services; a 404 for anyone else."""
    member = principal.organisation_id == organisation_id
    # A service token got here only with `organisations:read` (the route's guard).
    if not (member or principal.kind == "service" or principal.has_any_role(READERS_BEYOND_MEMBERS)):
        raise NotFound(ORGANISATION_NOT_FOUND)
    await _association(session, organisation_id, for_update=False)
    return await session.get(OrganisationProfile, organisation_id)


async def writable_association(
    session: AsyncSession, *, principal: Principal, organisation_id: uuid.UUID
) -> tuple[Organisation, OrganisationProfile | None]:
    """The association the caller administers (its own; any, for the platform admin), locked, and its profile
    if it has one (to check the If-Match against).

    The organisation's row lock serialises the writers, the first one included: a second first PUT waits,
    then finds the profile and is asked for its If-Match.
    """
    if Role.platform_admin not in principal.roles and principal.organisation_id != organisation_id:
        raise NotFound(ORGANISATION_NOT_FOUND)
    if principal.kind != "user":
        raise Forbidden(Text("Réservé aux personnes.", "People only."))
    organisation = await _association(session, organisation_id, for_update=True)
    return organisation, await _profile_for_update(session, organisation_id)


@dataclass(frozen=True)
class StoredProfile:
    """An association's profile as read: its row (None while blank: version 0, as the ETag "0" says)."""

    organisation_id: uuid.UUID
    row: OrganisationProfile | None

    @property
    def version(self) -> int:
        return version_of(self.row)


async def current_profile(session: AsyncSession, principal: Principal, organisation_id: uuid.UUID) -> StoredProfile:
    """`readable_profile`, as a route's loader: the profile with its version, blank or not."""
    return StoredProfile(
        organisation_id, await readable_profile(session, principal=principal, organisation_id=organisation_id)
    )


def version_of(profile: OrganisationProfile | None) -> int:
    """0 while the profile is blank, as the ETag "0" says."""
    return profile.version if profile is not None else 0


async def save_profile(
    session: AsyncSession,
    *,
    principal: Principal,
    organisation: Organisation,
    current: OrganisationProfile | None,
    request: ProfileIn,
    today: date,
) -> tuple[OrganisationProfile, bool]:
    """Create the profile or replace it whole; a replacement that changes nothing keeps its version (and ETag).
    Returns the profile and whether it was created.

    Lines older than the public aid's window are not kept; nothing is written when what remains is what is stored
    (an unchanged round trip keeps its ETag even after the window moved, and its aged-out lines until the next
    change)."""
    _check_approvals_not_in_the_future(request, today)
    _check_dates(request, today)
    years = aid_years(today)
    stored = await _stored_children(session, organisation.id) if current is not None else None
    check_aid_years(request, years, stored[ProfilePublicAid] if stored is not None else [])
    await _check_funders(session, request)
    columns = _columns(request)
    children = _children(request, years)
    if current is not None and stored is not None and _stored_columns(current, columns) == columns:
        if _in_window(stored, years) == children:
            return current, False
    now = utcnow()
    if current is None:
        profile = OrganisationProfile(
            organisation_id=organisation.id, created_at=now, updated_at=now, updated_by=principal.subject, **columns
        )
        session.add(profile)
        try:
            await session.flush()
        except IntegrityError as exc:  # cannot happen behind the organisation's lock; answered, never a 500
            raise PreconditionFailed(
                Text("Le profil vient d'être créé ; relisez-le.", "The profile was just created; read it again.")
            ) from exc
    else:
        profile = current
        for name, value in columns.items():
            setattr(profile, name, value)
        profile.version += 1
        profile.updated_at = now
        profile.updated_by = principal.subject
    await _replace_children(session, organisation.id, children)
    return profile, current is None


async def to_public(
    session: AsyncSession, organisation_id: uuid.UUID, profile: OrganisationProfile | None, today: date
) -> ProfilePublic:
    if profile is None:
        return ProfilePublic(
            organisation_id=organisation_id, filled_in=False, legal_representative=None, contact=None,
            address=None, people=None, approvals=[], networks=[], public_aid=[], public_aid_by_year=[],
            certified_accounts_required=False, created_at=None, updated_at=None, updated_by=None,
        )
    children = _in_window(await _stored_children(session, profile.organisation_id), aid_years(today))
    aid = [PublicAidPublic(**line) for line in children[ProfilePublicAid]]
    by_year = aid_by_year(aid)
    return ProfilePublic(
        organisation_id=profile.organisation_id,
        filled_in=True,
        legal_representative=_person_public(profile, "representative"),
        contact=_person_public(profile, "contact") if profile.contact_name is not None else None,
        acronym=profile.acronym,
        purpose=profile.purpose,
        activities=profile.activities,
        address=AddressPublic(
            street_lines=profile.street_lines, postcode=profile.postcode, city=profile.city,
            insee_code=profile.insee_code,
        ),
        correspondence_address=(
            AddressPublic(**profile.correspondence_address) if profile.correspondence_address else None
        ),
        public_utility_recognised_on=profile.public_utility_recognised_on,
        statutory_auditor=profile.statutory_auditor,
        fiscal_year_start=profile.fiscal_year_start,
        republican_contract=(
            RepublicanContractPublic(signed_on=profile.republican_contract_signed_on,
                                     signatory_name=profile.republican_contract_signatory)
            if profile.republican_contract_signed_on is not None and profile.republican_contract_signatory
            else None
        ),
        people=PeoplePublic(
            volunteers=profile.volunteers,
            employees=profile.employees,
            fte=fte_text(profile.fte_hundredths),
            members=profile.members,
            paying_members=profile.paying_members,
            legal_person_members=profile.legal_person_members,
            civic_service_volunteers=profile.civic_service_volunteers,
            seconded_public_staff=profile.seconded_public_staff,
        ),
        approvals=[ApprovalPublic(**line) for line in children[ProfileApproval]],
        networks=[NetworkPublic(**line) for line in children[ProfileNetwork]],
        public_aid=aid,
        public_aid_by_year=by_year,
        certified_accounts_required=any(year.certified_accounts_required for year in by_year),
        created_at=profile.created_at,
        updated_at=profile.updated_at,
        updated_by=profile.updated_by,
    )


def aid_by_year(lines: list[PublicAidPublic]) -> list[PublicAidYear]:
    """Totals per year in integer cents; only cash aid counts towards the certified accounts' threshold."""
    cash: dict[int, int] = {}
    in_kind: dict[int, int] = {}
    for line in lines:
        totals = cash if line.nature == "cash" else in_kind
        totals[line.year] = totals.get(line.year, 0) + line.amount_cents
    return [
        PublicAidYear(
            year=year,
            cash_cents=cash.get(year, 0),
            in_kind_cents=in_kind.get(year, 0),
            total_cents=cash.get(year, 0) + in_kind.get(year, 0),
            certified_accounts_required=cash.get(year, 0) > CERTIFIED_ACCOUNTS_THRESHOLD_CENTS,
        )
        for year in sorted(cash.keys() | in_kind.keys())
    ]


def fte_hundredths(text: str) -> int:
    """"3.5" → 350: the schema allows two decimal places at most, so this is exact."""
    return int(Decimal(text) * 100)


def fte_text(hundredths: int) -> str:
    return f"{hundredths // 100}.{hundredths % 100:02d}"


def _person_columns(prefix: str, person: PersonIn | None) -> dict[str, Any]:
    return {f"{prefix}_{name}": getattr(person, name) if person else None for name in _PERSON_FIELDS}


def _person_public(profile: OrganisationProfile, prefix: str) -> ProfilePersonPublic:
    return ProfilePersonPublic(**{name: getattr(profile, f"{prefix}_{name}") for name in _PERSON_FIELDS})


def _columns(request: ProfileIn) -> dict[str, Any]:
    address, people, contract = request.address, request.people, request.republican_contract
    return {
        "acronym": request.acronym,
        "purpose": request.purpose,
        "activities": request.activities,
        "correspondence_address": (
            request.correspondence_address.model_dump() if request.correspondence_address is not None else None
        ),
        "public_utility_recognised_on": request.public_utility_recognised_on,
        "statutory_auditor": request.statutory_auditor,
        "fiscal_year_start": request.fiscal_year_start,
        "republican_contract_signed_on": contract.signed_on if contract else None,
        "republican_contract_signatory": contract.signatory_name if contract else None,
        "legal_person_members": people.legal_person_members,
        "civic_service_volunteers": people.civic_service_volunteers,
        "seconded_public_staff": people.seconded_public_staff,
        **_person_columns("representative", request.legal_representative),
        **_person_columns("contact", request.contact),
        "street_lines": list(address.street_lines),
        "postcode": address.postcode,
        "city": address.city,
        "insee_code": address.insee_code,
        "volunteers": people.volunteers,
        "employees": people.employees,
        "fte_hundredths": fte_hundredths(people.fte),
        "members": people.members,
        "paying_members": people.paying_members,
    }


def _stored_columns(profile: OrganisationProfile, like: dict[str, Any]) -> dict[str, Any]:
    return {name: getattr(profile, name) for name in like}


# The profile's child tables (its lists of lines).
ChildTable = type[ProfileApproval] | type[ProfileNetwork] | type[ProfilePublicAid]
# The fields of each child table, the same names as in the request's lines.
_CHILD_FIELDS: dict[ChildTable, tuple[str, ...]] = {
    ProfileApproval: ("kind", "number", "authority", "granted_on"),
    ProfileNetwork: ("name", "siret", "rna"),
    ProfilePublicAid: ("year", "funder_name", "funder_organisation_id", "amount_cents", "purpose", "nature", "source"),
}


def _children(request: ProfileIn, years: range) -> dict[ChildTable, list[dict[str, Any]]]:
    """The request's lines as rows, without the public aid older than the window."""
    lines: dict[ChildTable, Sequence[BaseModel]] = {
        ProfileApproval: request.approvals, ProfileNetwork: request.networks, ProfilePublicAid: request.public_aid
    }
    rows = {
        model: [item.model_dump(include=set(_CHILD_FIELDS[model])) for item in items] for model, items in lines.items()
    }
    return _in_window(rows, years)


def _in_window(
    children: dict[ChildTable, list[dict[str, Any]]], years: range
) -> dict[ChildTable, list[dict[str, Any]]]:
    return {**children, ProfilePublicAid: [line for line in children[ProfilePublicAid] if line["year"] in years]}


def _check_approvals_not_in_the_future(request: ProfileIn, today: date) -> None:
    """An approval granted after today (the service's clock, not the request's) is refused."""
    late = [index for index, approval in enumerate(request.approvals) if approval.granted_on > today]
    if late:
        raise UnprocessableContent(
            Text("Certains champs sont invalides.", "Some fields are invalid."),
            errors=[
                (f"body.approvals.{index}.granted_on", Text("Date future refusée.", "A date in the future is refused."))
                for index in late
            ],
        )


def _check_dates(request: ProfileIn, today: date) -> None:
    """A public-utility decree and the republican contract's signature are not after today (the service's clock);
    the contract is not signed before it existed."""
    errors: list[tuple[str, Text]] = []
    future = Text("Date future refusée.", "A date in the future is refused.")
    if request.public_utility_recognised_on is not None and request.public_utility_recognised_on > today:
        errors.append(("body.public_utility_recognised_on", future))
    contract = request.republican_contract
    if contract is not None and contract.signed_on > today:
        errors.append(("body.republican_contract.signed_on", future))
    elif contract is not None and contract.signed_on < REPUBLICAN_CONTRACT_FROM:
        errors.append(("body.republican_contract.signed_on", Text(
            f"Le contrat d'engagement républicain existe depuis le {REPUBLICAN_CONTRACT_FROM}.",
            f"The republican commitment contract exists since {REPUBLICAN_CONTRACT_FROM}.",
        )))
    if errors:
        raise UnprocessableContent(Text("Certains champs sont invalides.", "Some fields are invalid."), errors=errors)


def check_aid_years(request: ProfileIn, years: range, stored_aid: list[dict[str, Any]]) -> None:
    """Each public aid line is of the window, or one already stored sent back unchanged: a profile read before
    1 January is written back as read, while a new line older than the window is refused."""
    fields = _CHILD_FIELDS[ProfilePublicAid]
    stored = {tuple(line[name] for name in fields) for line in stored_aid}
    first, last = years[0], years[-1]
    errors = [
        (
            f"body.public_aid.{index}.year",
            Text(f"Année hors période ({first}–{last}).", f"Year outside the period ({first}–{last})."),
        )
        for index, line in enumerate(request.public_aid)
        if line.year not in years and tuple(getattr(line, name) for name in fields) not in stored
    ]
    if errors:
        raise UnprocessableContent(Text("Certains champs sont invalides.", "Some fields are invalid."), errors=errors)


async def _check_funders(session: AsyncSession, request: ProfileIn) -> None:
    """A funder named by its id is one the desk knows."""
    named = {line.funder_organisation_id for line in request.public_aid if line.funder_organisation_id}
    if not named:
        return
    statement = select(col(Organisation.id)).where(
        col(Organisation.id).in_(named), col(Organisation.kind) == OrganisationKind.funder
    )
    known = set((await session.execute(statement)).scalars())
    errors = [
        (f"body.public_aid.{index}.funder_organisation_id", Text("Financeur inconnu.", "Unknown funder."))
        for index, line in enumerate(request.public_aid)
        if line.funder_organisation_id is not None and line.funder_organisation_id not in known
    ]
    if errors:
        raise UnprocessableContent(
            Text("Financeur inconnu du guichet.", "Funder unknown to the desk."), errors=errors, code="unknown_funder"
        )


# Queries: the profile's tables belong to this module alone.


async def _profile_for_update(session: AsyncSession, organisation_id: uuid.UUID) -> OrganisationProfile | None:
    statement = (
        select(OrganisationProfile)
        .where(col(OrganisationProfile.organisation_id) == organisation_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def _stored_children(session: AsyncSession, organisation_id: uuid.UUID) -> dict[ChildTable, list[dict[str, Any]]]:
    stored: dict[ChildTable, list[dict[str, Any]]] = {}
    for model, fields in _CHILD_FIELDS.items():
        statement = select(model).where(col(model.organisation_id) == organisation_id).order_by(col(model.position))
        rows = (await session.execute(statement)).scalars()
        stored[model] = [{name: getattr(row, name) for name in fields} for row in rows]
    return stored


async def _replace_children(
    session: AsyncSession, organisation_id: uuid.UUID, children: dict[ChildTable, list[dict[str, Any]]]
) -> None:
    for model, lines in children.items():
        await session.execute(delete(model).where(col(model.organisation_id) == organisation_id))
        session.add_all(
            model(organisation_id=organisation_id, position=position, **line) for position, line in enumerate(lines)
        )
    await session.flush()
