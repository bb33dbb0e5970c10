"""A funder's year in figures, every one computed by the database (grouped sums and counts, percentiles by an
ordered offset): its envelopes, the dossiers routed to it by state, how long a complete file waits for its
decision, where its money goes (QPV, priority, track, association size), and its leverage — what the other
funders put on the same dossiers for each euro of its own."""

import math
import uuid
from typing import Any

from sqlalchemy import Float, and_, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.funding.models.agreement import Grant
from services.funding.models.dossier import Dossier, DossierRouting, DossierTag, RoutingState
from services.funding.models.envelope import Envelope
from services.funding.models.programme import Programme

SECONDS_A_DAY = 86_400


def _days_between(session: AsyncSession, start: Any, end: Any) -> Any:
    """SQL: the days from `start` to `end`, with decimals (SQLite counts in Julian days, PostgreSQL in epochs)."""
    if session.bind.dialect.name == "sqlite":  # type: ignore[union-attr]
        return func.julianday(end) - func.julianday(start)
    return func.extract("epoch", end - start) / SECONDS_A_DAY


async def envelopes(session: AsyncSession, funder_id: uuid.UUID, year: int) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(Envelope.programme_id, Programme.title, Programme.track, Envelope.total_cents, Envelope.committed_cents,
               Envelope.paid_cents).select_from(Envelope)
        .join(Programme, Programme.id == Envelope.programme_id)
        .where(Envelope.funder_id == funder_id, Envelope.year == year).order_by(Programme.title)
    )
    return [{"programme_id": r.programme_id, "title": r.title, "track": r.track, "total_cents": r.total_cents,
             "committed_cents": r.committed_cents, "paid_cents": r.paid_cents,
             "available_cents": r.total_cents - r.committed_cents} for r in rows]


def _routed(funder_id: uuid.UUID, year: int) -> Any:
    """SQL: the dossiers of that year's programmes routed to the funder."""
    return and_(
        Dossier.id.in_(select(DossierRouting.dossier_id).where(
            DossierRouting.funder_id == funder_id, DossierRouting.state == RoutingState.routed)),
        Dossier.programme_id.in_(select(Programme.id).where(Programme.year == year)),
    )


async def dossiers_by_state(session: AsyncSession, funder_id: uuid.UUID, year: int) -> dict[str, int]:
    rows = await session.execute(
        select(Dossier.state, func.count()).where(_routed(funder_id, year)).group_by(Dossier.state)
    )
    return {state: count for state, count in rows}


async def decision_delays(session: AsyncSession, funder_id: uuid.UUID, year: int) -> list[dict[str, Any]]:
    """Per track: how many days from the complete file (submitted) to the decision, median and 90th percentile
    (nearest rank: the ⌈p·n⌉-th of the ordered delays). PostgreSQL's percentile_disc is that rank, all tracks in
    one query; SQLite has no ordered-set aggregate, so there the database reads each rank by an offset."""
    delay = cast(_days_between(session, Dossier.submitted_at, Dossier.decided_at), Float)
    decided = and_(_routed(funder_id, year), Dossier.decided_at.is_not(None), Dossier.submitted_at.is_not(None))
    by_track = (select(Programme.track, func.count()).select_from(Dossier)
                .join(Programme, Programme.id == Dossier.programme_id).where(decided)
                .group_by(Programme.track).order_by(Programme.track))
    if session.bind.dialect.name != "sqlite":  # type: ignore[union-attr]
        rows = await session.execute(by_track.add_columns(
            func.percentile_disc(0.5).within_group(delay), func.percentile_disc(0.9).within_group(delay)))
        return [{"track": track, "decided": count, "median_days": round(float(median), 1),
                 "p90_days": round(float(p90), 1)} for track, count, median, p90 in rows]
    delays = []
    for track, count in (await session.execute(by_track)).all():
        ordered = (select(delay).select_from(Dossier).join(Programme, Programme.id == Dossier.programme_id)
                   .where(decided, Programme.track == track).order_by(delay))

        async def at(share: float, ordered: Any = ordered, count: int = count) -> float:
            rank = max(math.ceil(share * count), 1)
            value = (await session.execute(ordered.offset(rank - 1).limit(1))).scalar_one()
            return round(float(value), 1)

        delays.append({"track": track, "decided": count, "median_days": await at(0.5), "p90_days": await at(0.9)})
    return delays


async def _granted_by_tag(session: AsyncSession, funder_id: uuid.UUID, year: int, kind: str) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(DossierTag.value, func.count(), func.sum(Grant.amount_cents)).select_from(DossierTag)
        .join(Grant, Grant.dossier_id == DossierTag.dossier_id)
        .where(DossierTag.kind == kind, Grant.funder_id == funder_id, Grant.year == year)
        .group_by(DossierTag.value).order_by(func.sum(Grant.amount_cents).desc(), DossierTag.value)
    )
    return [{"value": value, "grants": count, "granted_cents": int(total)} for value, count, total in rows]


async def granted_by_track(session: AsyncSession, funder_id: uuid.UUID, year: int) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(Programme.track, func.count(), func.sum(Grant.amount_cents)).select_from(Grant)
        .join(Programme, Programme.id == Grant.programme_id)
        .where(Grant.funder_id == funder_id, Grant.year == year).group_by(Programme.track).order_by(Programme.track)
    )
    return [{"value": track, "grants": count, "granted_cents": int(total)} for track, count, total in rows]


async def leverage(session: AsyncSession, funder_id: uuid.UUID, year: int) -> dict[str, Any]:
    """What the other funders granted on the dossiers this one funded, for each euro of its own."""
    own_dossiers = select(Grant.dossier_id).where(Grant.funder_id == funder_id, Grant.year == year)
    own = (await session.execute(select(func.coalesce(func.sum(Grant.amount_cents), 0)).where(
        Grant.funder_id == funder_id, Grant.year == year))).scalar_one()
    others = (await session.execute(select(func.coalesce(func.sum(Grant.amount_cents), 0)).where(
        Grant.dossier_id.in_(own_dossiers), Grant.funder_id != funder_id))).scalar_one()
    return {"granted_cents": int(own), "others_granted_cents": int(others),
            "per_euro": round(int(others) / int(own), 2) if own else None}


async def granted_projects(session: AsyncSession, funder_id: uuid.UUID, year: int) -> list[uuid.UUID]:
    """The projects the funder granted money to that year (their shared indicators are its dashboard's)."""
    rows = await session.execute(
        select(Dossier.project_id).join(Grant, Grant.dossier_id == Dossier.id)
        .where(Grant.funder_id == funder_id, Grant.year == year).distinct().order_by(Dossier.project_id)
    )
    return list(rows.scalars())


async def funder_year(session: AsyncSession, funder_id: uuid.UUID, year: int) -> dict[str, Any]:
    return {
        "funder_id": funder_id, "year": year,
        "envelopes": await envelopes(session, funder_id, year),
        "dossiers_by_state": await dossiers_by_state(session, funder_id, year),
        "decision_delays": await decision_delays(session, funder_id, year),
        "granted_by": {
            "qpv": await _granted_by_tag(session, funder_id, year, "qpv"),
            "priority": await _granted_by_tag(session, funder_id, year, "priority"),
            "track": await granted_by_track(session, funder_id, year),
            "association_size": await _granted_by_tag(session, funder_id, year, "size"),
        },
        "leverage": await leverage(session, funder_id, year),
    }
