"""Seeds the demo territory into each service's own database: `python -m scripts.seed_demo`.

Run twice, it adds nothing: rows are looked up by their fixed ids first.
The QPV sample goes through the same import as the official list (`scripts.import_qpv`).
"""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from common.clock import clock_of
from common.db import Database
from scripts import demo_data
from services.funding.envelopes import service as envelopes
from services.funding.models.envelope import Envelope
from services.funding.models.programme import Programme, ProgrammeFunder, Track
from services.funding.settings import FundingSettings
from services.identity.models import Membership, Organisation, OrganisationProfile, Person
from services.identity.passwords import Passwords
from services.identity.settings import IdentitySettings
from services.projects.budgets import service as budgets
from services.projects.models import Budget, BudgetLine
from services.projects.referential.qpv_import import import_file
from services.projects.settings import ProjectsSettings

# The demo QPVs: a SAMPLE in the ANCT's CSV format (see migrations/projects/data/README.md).
QPV_SAMPLE = Path(__file__).resolve().parent.parent / "migrations" / "projects" / "data" / "qpv_2024_sample.csv"


# SIRETs the demo once gave and that are invalid (their SIREN fails Luhn): a database seeded with one gets the
# demo's valid number at the next run, so that the open-data export never carries it.
FORMER_INVALID_SIRETS = frozenset({"83456789400003"})


async def seed_identity(session: AsyncSession, passwords: Passwords) -> int:
    added = 0
    for demo in demo_data.ORGANISATIONS:
        existing = await session.get(Organisation, demo.id)
        if existing is not None and existing.siret in FORMER_INVALID_SIRETS:
            existing.siret = demo.siret
        if existing is None:
            session.add(
                Organisation(
                    id=demo.id, kind=demo.kind, name=demo.name, siret=demo.siret, rna=demo.rna,
                    funder_category=demo.funder_category, qpv_codes=list(demo.qpv_codes),
                )
            )
            added += 1
    await session.flush()
    password_hash = await passwords.hash(demo_data.DEMO_PASSWORD)
    for user in demo_data.USERS:
        if await session.get(Person, user.id) is None:
            session.add(Person(id=user.id, email=user.email, full_name=user.full_name, password_hash=password_hash))
            await session.flush()
            session.add(
                Membership(
                    person_id=user.id,
                    organisation_id=demo_data.organisation(user.organisation).id,
                    roles=list(user.roles),
                )
            )
            added += 1
    await session.flush()
    for key, profile in demo_data.PROFILES.items():
        organisation_id = demo_data.organisation(key).id
        if await session.get(OrganisationProfile, organisation_id) is None:
            session.add(OrganisationProfile(organisation_id=organisation_id, updated_by="demo", **profile))
            added += 1
    await session.flush()
    return added


async def seed_funding(session: AsyncSession, today: date) -> int:
    added = await _seed_programme(session, today)
    return added + await _seed_envelopes(session, today)


# This year's envelope of each funder of the demo programme, in cents.
DEMO_ENVELOPES = {
    "ville": 20_000_000, "prefecture": 15_000_000, "metropole": 12_000_000, "departement": 8_000_000, "caf": 5_000_000,
}


async def _seed_envelopes(session: AsyncSession, today: date) -> int:
    added = 0
    for key, total_cents in DEMO_ENVELOPES.items():
        funder_id = demo_data.organisation(key).id
        found = await session.execute(
            select(col(Envelope.id)).where(
                col(Envelope.funder_id) == funder_id, col(Envelope.programme_id) == demo_data.PROGRAMME_ID,
                col(Envelope.year) == today.year,
            )
        )
        if found.first() is None:
            await envelopes.open_envelope(
                session, funder_id=funder_id, programme_id=demo_data.PROGRAMME_ID, year=today.year,
                total_cents=total_cents, actor="demo",
            )
            added += 1
    return added


async def _seed_programme(session: AsyncSession, today: date) -> int:
    if await session.get(Programme, demo_data.PROGRAMME_ID) is not None:
        return 0
    session.add(
        Programme(
            id=demo_data.PROGRAMME_ID,
            title=demo_data.PROGRAMME_TITLE,
            track=Track.annual,
            year=today.year,
            opens_on=date(today.year, 1, 1),
            closes_on=date(today.year + 1, 12, 31),
            created_by=str(demo_data.USERS[1].id),
        )
    )
    await session.flush()
    session.add_all(
        ProgrammeFunder(programme_id=demo_data.PROGRAMME_ID, funder_id=demo_data.organisation(key).id)
        for key in demo_data.FUNDER_KEYS
    )
    await session.flush()
    return 1


async def seed_projects(session: AsyncSession, today: date) -> int:
    """This year's budget of each demo association, so that its dossiers can be submitted at once."""
    added = 0
    for key, (charges, income) in demo_data.ASSOCIATION_BUDGETS.items():
        organisation_id = demo_data.organisation(key).id
        if (await budgets.association_budget(session, organisation_id, today.year)).row is not None:
            continue
        budget = Budget(organisation_id=organisation_id, year=today.year, updated_by="demo")
        session.add(budget)
        await session.flush()
        session.add_all(
            BudgetLine(budget_id=budget.id, side="charge", position=i, account_group=group, label=label,
                       amount_cents=amount)
            for i, (group, label, amount) in enumerate(charges)
        )
        session.add_all(
            BudgetLine(budget_id=budget.id, side="income", position=i, account_group=group, label=label,
                       amount_cents=amount, funder_id=demo_data.organisation(funder).id if funder else None)
            for i, (group, label, amount, funder) in enumerate(income)
        )
        added += 1
    await session.flush()
    return added


async def _seed(database: Database, seeder: Callable[..., Awaitable[int]], *args: object) -> int:
    async with database.writer() as session:
        added = await seeder(session, *args)
        await session.commit()
    await database.dispose()
    return added


async def main() -> None:
    identity = IdentitySettings()
    funding = FundingSettings()
    # The desk's today: its clock's (a test's fixed day), the calendar's otherwise.
    today = clock_of(funding.clock_file).today()
    added = await _seed(Database(identity.database_url, schema=identity.db_schema), seed_identity, Passwords(identity))
    added += await _seed(Database(funding.database_url, schema=funding.db_schema), seed_funding, today)
    projects = ProjectsSettings()
    added += await _seed(Database(projects.database_url, schema=projects.db_schema), seed_projects, today)
    print(f"demo data: {added} new row group(s)" if added else "demo data: already there, nothing added")
    # An extract of the national list: it adds and updates, and retires none of what a full import brought.
    qpv = await import_file(projects.database_url, projects.db_schema, QPV_SAMPLE, retire=False)
    print(f"demo QPVs: {len(qpv.added)} added, {len(qpv.changed)} changed, {qpv.unchanged} unchanged, "
          f"{len(qpv.retired)} retired, {len(qpv.rejected)} rejected")


if __name__ == "__main__":
    asyncio.run(main())
