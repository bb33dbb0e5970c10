"""Programmes: created by the desk, each with its track, year, participating funders and dates."""

import asyncio
import uuid
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from common.db import utcnow
from common.pagination import split_page
from common.problems import NotFound, Text, UnprocessableContent
from common.tokens import Principal
from services.funding.models.programme import Programme, ProgrammeFunder, Track
from services.funding.peers import Peers
from services.funding.programmes import repository
from services.funding.programmes.schemas import ProgrammeCreate, ProgrammeOpenDataUpdate, ProgrammePublic
from services.funding.programmes.track_rules import public_rules
from services.vocabulary import OrganisationKind

# What each track asks of the association's documents vault (kinds of projects' vault), checked at admissibility.
REQUIRED_DOCUMENTS: dict[str, tuple[str, ...]] = {
    Track.seed: ("statutes", "board_members", "bank_details"),
    Track.small: ("statutes", "bank_details"),
    Track.annual: (
        "statutes", "board_members", "bank_details", "approved_accounts", "activity_report", "insurance_certificate",
    ),
    Track.cpo: (
        "statutes", "board_members", "bank_details", "approved_accounts", "activity_report", "insurance_certificate",
    ),
}


# What a programme sets in place of its track's rules (services.funding.programmes.track_rules).
RULE_FIELDS = {
    "lead_funder_id", "ceiling_cents", "convention_threshold_cents", "default_years", "multi_party_agreement",
    "explained_gap_bp",
}


def is_open(programme: Programme, today: date) -> bool:
    return programme.opens_on <= today <= programme.closes_on


async def create_programme(
    session: AsyncSession, *, principal: Principal, request: ProgrammeCreate, peers: Peers, today: date
) -> ProgrammePublic:
    """Every participating funder must be a funder known to identity."""
    organisations = await asyncio.gather(*(peers.organisation(fid) for fid in request.funder_ids))
    not_funders = [
        str(fid)
        for fid, org in zip(request.funder_ids, organisations, strict=True)
        if org is None or org.get("kind") != OrganisationKind.funder
    ]
    if not_funders:
        raise UnprocessableContent(
            Text("Ces organisations ne sont pas des financeurs connus.", "These organisations are not known funders."),
            errors=[("body.funder_ids", Text(", ".join(not_funders), ", ".join(not_funders)))],
            code="unknown_funder",
        )
    # JSON columns (territory, quorum, rules) take plain strings; the dates stay dates.
    stored = request.model_dump(mode="json", exclude={"funder_ids", "opens_on", "closes_on", *RULE_FIELDS})
    rules = request.model_dump(mode="json", include=RULE_FIELDS, exclude_none=True)
    programme = Programme(
        created_by=principal.subject, opens_on=request.opens_on, closes_on=request.closes_on, rules=rules, **stored
    )
    session.add(programme)
    await session.flush()
    session.add_all(ProgrammeFunder(programme_id=programme.id, funder_id=fid) for fid in request.funder_ids)
    await session.flush()
    return (await to_public_many(session, [programme], today))[0]


async def programme_for_change(session: AsyncSession, principal: Principal, programme_id: uuid.UUID) -> Programme:
    """A programme the desk edits, locked; 404 for an unknown id."""
    programme = await repository.locked_programme(session, programme_id)
    if programme is None:
        raise NotFound(Text("Programme introuvable.", "Programme not found."))
    return programme


async def update_open_data(
    session: AsyncSession, *, programme: Programme, request: ProgrammeOpenDataUpdate, today: date
) -> ProgrammePublic:
    """The fields its grants publish as open data; the same values again keep its version. The rows of grants
    already notified keep what they froze."""
    changes = request.model_dump(mode="json", exclude_unset=True)
    changed = {name: value for name, value in changes.items() if getattr(programme, name) != value}
    if changed:
        for name, value in changed.items():
            setattr(programme, name, value)
        programme.version += 1
        programme.updated_at = utcnow()
        await session.flush()
    return (await to_public_many(session, [programme], today))[0]


async def get_programme(session: AsyncSession, programme_id: uuid.UUID) -> Programme:
    programme = await repository.programme_by_id(session, programme_id)
    if programme is None:
        raise NotFound(Text("Programme introuvable.", "Programme not found."))
    return programme


async def readable_programme(session: AsyncSession, principal: Principal, programme_id: uuid.UUID) -> Programme:
    """A programme, for any caller with the programmes' read scope (every call is public to the house)."""
    return await get_programme(session, programme_id)


async def list_programmes(
    session: AsyncSession, *, track: Track | None, year: int | None, limit: int, cursor: str | None, today: date
) -> tuple[list[ProgrammePublic], str | None]:
    """A page of programmes, in the order they were created, optionally one track's or one year's."""
    rows = await repository.list_programmes(session, track=track, year=year, limit=limit, cursor=cursor)
    page, next_cursor = split_page(rows, limit=limit)
    return await to_public_many(session, page, today), next_cursor


async def to_public_many(session: AsyncSession, programmes: list[Programme], today: date) -> list[ProgrammePublic]:
    funders = await repository.funders_of_programmes(session, [p.id for p in programmes])
    return [
        ProgrammePublic(
            **p.model_dump(exclude={"created_by", "version", "rules"}), funder_ids=funders[p.id],
            rules=public_rules(p), is_open=is_open(p, today),
        ).at_version(p.version)
        for p in programmes
    ]
