"""Seeds the demo territory into each service's own database: `python -m scripts.seed_demo`.

Run twice, it adds nothing: rows are looked up by their fixed ids first.
"""

import asyncio
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from common.db import Database
from scripts import demo_data
from services.funding.models import Programme, ProgrammeFunder, Track
from services.funding.settings import FundingSettings
from services.identity.models import Membership, Organisation, Person
from services.identity.passwords import Passwords
from services.identity.settings import IdentitySettings


async def seed_identity(session: AsyncSession, passwords: Passwords) -> int:
    added = 0
    for demo in demo_data.ORGANISATIONS:
        if await session.get(Organisation, demo.id) is None:
            session.add(
                Organisation(
                    id=demo.id, kind=demo.kind, name=demo.name, siret=demo.siret, rna=demo.rna,
                    funder_category=demo.funder_category, qpv_codes=list(demo.qpv_codes),
                )
            )
            added += 1
    await session.flush()
    password_hash = passwords.hash(demo_data.DEMO_PASSWORD)
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
    return added


async def seed_funding(session: AsyncSession, today: date) -> int:
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


async def _seed(database: Database, seeder, *args) -> int:  # type: ignore[no-untyped-def]
    async with database.writer() as session:
        added = await seeder(session, *args)
        await session.commit()
    await database.dispose()
    return added


async def main() -> None:
    identity = IdentitySettings()
    funding = FundingSettings()
    added = await _seed(Database(identity.database_url, schema=identity.db_schema), seed_identity, Passwords(identity))
    added += await _seed(Database(funding.database_url, schema=funding.db_schema), seed_funding, date.today())
    print(f"demo data: {added} new row group(s)" if added else "demo data: already there, nothing added")


if __name__ == "__main__":
    asyncio.run(main())
