"""A funder's year in figures, every one computed by the database (funder_repository.py): its envelopes, the
dossiers routed to it by state, how long a complete file waits for its decision, where its money goes (QPV,
priority, track, association size), and its leverage — what the other funders put on the same dossiers for each
euro of its own."""

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from common.tokens import Principal
from services.funding.funder_scope import funder_of
from services.funding.stats import funder_repository as repository


def one_funder(principal: Principal, asked: uuid.UUID | None) -> uuid.UUID:
    """The funder whose figures are read: the caller's own (403 `not_your_funder` for another's); the desk must
    name one (422)."""
    funder = funder_of(principal, asked, desk_may_take_all=False)
    if funder is None:  # funder_of refuses the desk naming none: never reached
        raise ValueError("no funder named")
    return funder


async def envelopes(session: AsyncSession, funder_id: uuid.UUID, year: int) -> list[dict[str, Any]]:
    """Each envelope of the year with what it has still available."""
    return [
        {**line, "available_cents": line["total_cents"] - line["committed_cents"]}
        for line in await repository.envelopes(session, funder_id, year)
    ]


async def leverage(session: AsyncSession, funder_id: uuid.UUID, year: int) -> dict[str, Any]:
    """What the other funders granted on the dossiers this one funded, for each euro of its own."""
    own, others = await repository.granted_with_others(session, funder_id, year)
    return {"granted_cents": own, "others_granted_cents": others,
            "per_euro": round(others / own, 2) if own else None}


async def granted_projects(session: AsyncSession, funder_id: uuid.UUID, year: int) -> list[uuid.UUID]:
    """The projects the funder granted money to that year (their shared indicators are its dashboard's)."""
    return await repository.granted_projects(session, funder_id, year)


async def funder_year(session: AsyncSession, funder_id: uuid.UUID, year: int) -> dict[str, Any]:
    """Every figure of the funder's year."""
    return {
        "funder_id": funder_id, "year": year,
        "envelopes": await envelopes(session, funder_id, year),
        "dossiers_by_state": await repository.dossiers_by_state(session, funder_id, year),
        "decision_delays": await repository.decision_delays(session, funder_id, year),
        "granted_by": {
            "qpv": await repository.granted_by_tag(session, funder_id, year, "qpv"),
            "priority": await repository.granted_by_tag(session, funder_id, year, "priority"),
            "track": await repository.granted_by_track(session, funder_id, year),
            "association_size": await repository.granted_by_tag(session, funder_id, year, "size"),
        },
        "leverage": await leverage(session, funder_id, year),
    }
