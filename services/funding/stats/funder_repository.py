"""The queries of a funder's year: every figure a grouped sum or count made by the database, percentiles by an
ordered offset where the database has no ordered-set aggregate (SQLite)."""

import math
import uuid
from typing import Any

from sqlalchemy import ColumnElement, Float, and_, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.funding.models.agreement import Grant, GrantYear, GrantYearState
from services.funding.models.dossier import Dossier, DossierRouting, DossierTag, RoutingState
from services.funding.models.envelope import Envelope
from services.funding.models.programme import Programme

SECONDS_A_DAY = 86_400


def _sqlite(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def _days_between(session: AsyncSession, start: Any, end: Any) -> ColumnElement[Any]:
    """SQL: the days from `start` to `end`, with decimals (SQLite counts in Julian days, PostgreSQL in epochs)."""
    if _sqlite(session):
        return func.julianday(end) - func.julianday(start)
    return func.extract("epoch", end - start) / SECONDS_A_DAY


async def envelopes(session: AsyncSession, funder_id: uuid.UUID, year: int) -> list[dict[str, Any]]:
    """The funder's envelopes of the year, by programme title: what each holds, has committed and paid."""
    rows = await session.execute(
        select(col(Envelope.programme_id), col(Programme.title), col(Programme.track), col(Envelope.total_cents),
               col(Envelope.committed_cents), col(Envelope.paid_cents)).select_from(Envelope)
        .join(Programme, col(Programme.id) == col(Envelope.programme_id))
        .where(col(Envelope.funder_id) == funder_id, col(Envelope.year) == year).order_by(col(Programme.title))
    )
    awaiting = dict((await session.execute(
        select(col(GrantYear.programme_id), func.sum(col(GrantYear.amount_cents))).where(
            col(GrantYear.funder_id) == funder_id, col(GrantYear.year) == year,
            col(GrantYear.state) == GrantYearState.awaiting).group_by(col(GrantYear.programme_id))
    )).tuples().all())
    return [{"programme_id": r.programme_id, "title": r.title, "track": r.track, "total_cents": r.total_cents,
             "committed_cents": r.committed_cents, "paid_cents": r.paid_cents,
             "awaiting_cents": int(awaiting.get(r.programme_id, 0))} for r in rows]


def _granted_in(funder_id: uuid.UUID, year: int) -> list[ColumnElement[bool]]:
    """SQL: the funder's grant years of `year` (a CPO gives each of its years its own), not cancelled."""
    return [col(GrantYear.funder_id) == funder_id, col(GrantYear.year) == year,
            col(GrantYear.state) != GrantYearState.cancelled]


def _routed(funder_id: uuid.UUID, year: int) -> ColumnElement[bool]:
    """SQL: the dossiers of that year's programmes routed to the funder."""
    return and_(
        col(Dossier.id).in_(select(col(DossierRouting.dossier_id)).where(
            col(DossierRouting.funder_id) == funder_id, col(DossierRouting.state) == RoutingState.routed)),
        col(Dossier.programme_id).in_(select(col(Programme.id)).where(col(Programme.year) == year)),
    )


async def dossiers_by_state(session: AsyncSession, funder_id: uuid.UUID, year: int) -> dict[str, int]:
    rows = await session.execute(
        select(col(Dossier.state), func.count()).where(_routed(funder_id, year)).group_by(col(Dossier.state))
    )
    return {state: count for state, count in rows}


async def decision_delays(session: AsyncSession, funder_id: uuid.UUID, year: int) -> list[dict[str, Any]]:
    """Per track: how many days from the complete file (submitted) to the decision, median and 90th percentile
    (nearest rank: the ⌈p·n⌉-th of the ordered delays). PostgreSQL's percentile_disc is that rank, all tracks in
    one query; SQLite has no ordered-set aggregate, so there the database reads each rank by an offset."""
    delay = cast(_days_between(session, col(Dossier.submitted_at), col(Dossier.decided_at)), Float)
    decided = and_(
        _routed(funder_id, year), col(Dossier.decided_at).is_not(None), col(Dossier.submitted_at).is_not(None)
    )
    by_track = (select(col(Programme.track), func.count()).select_from(Dossier)
                .join(Programme, col(Programme.id) == col(Dossier.programme_id)).where(decided)
                .group_by(col(Programme.track)).order_by(col(Programme.track)))
    if not _sqlite(session):
        rows = await session.execute(by_track.add_columns(
            func.percentile_disc(0.5).within_group(delay), func.percentile_disc(0.9).within_group(delay)))
        return [{"track": track, "decided": count, "median_days": round(float(median), 1),
                 "p90_days": round(float(p90), 1)} for track, count, median, p90 in rows]
    delays = []
    for track, count in (await session.execute(by_track)).all():
        ordered = (select(delay).select_from(Dossier).join(Programme, col(Programme.id) == col(Dossier.programme_id))
                   .where(decided, col(Programme.track) == track).order_by(delay))

        async def at(share: float, ordered: Any = ordered, count: int = count) -> float:
            rank = max(math.ceil(share * count), 1)
            value = (await session.execute(ordered.offset(rank - 1).limit(1))).scalar_one()
            return round(float(value), 1)

        delays.append({"track": track, "decided": count, "median_days": await at(0.5), "p90_days": await at(0.9)})
    return delays


async def granted_by_tag(session: AsyncSession, funder_id: uuid.UUID, year: int, kind: str) -> list[dict[str, Any]]:
    """The funder's grants of the year by the dossiers' tags of one kind (QPV, priority, size), the largest first."""
    rows = await session.execute(
        select(col(DossierTag.value), func.count(), func.sum(col(GrantYear.amount_cents))).select_from(DossierTag)
        .join(GrantYear, col(GrantYear.dossier_id) == col(DossierTag.dossier_id))
        .where(col(DossierTag.kind) == kind, *_granted_in(funder_id, year))
        .group_by(col(DossierTag.value))
        .order_by(func.sum(col(GrantYear.amount_cents)).desc(), col(DossierTag.value))
    )
    return [{"value": value, "grants": count, "granted_cents": int(total)} for value, count, total in rows]


async def granted_by_track(session: AsyncSession, funder_id: uuid.UUID, year: int) -> list[dict[str, Any]]:
    """The funder's grants of the year by the programmes' track."""
    rows = await session.execute(
        select(col(Programme.track), func.count(), func.sum(col(GrantYear.amount_cents))).select_from(GrantYear)
        .join(Programme, col(Programme.id) == col(GrantYear.programme_id))
        .where(*_granted_in(funder_id, year))
        .group_by(col(Programme.track)).order_by(col(Programme.track))
    )
    return [{"value": track, "grants": count, "granted_cents": int(total)} for track, count, total in rows]


async def granted_with_others(session: AsyncSession, funder_id: uuid.UUID, year: int) -> tuple[int, int]:
    """What the funder granted that year, and what the other funders granted on the same dossiers."""
    own_dossiers = select(col(GrantYear.dossier_id)).where(*_granted_in(funder_id, year))
    own = (await session.execute(select(func.coalesce(func.sum(col(GrantYear.amount_cents)), 0)).where(
        *_granted_in(funder_id, year)))).scalar_one()
    others = (await session.execute(select(func.coalesce(func.sum(col(GrantYear.amount_cents)), 0)).where(
        col(GrantYear.dossier_id).in_(own_dossiers), col(GrantYear.funder_id) != funder_id,
        col(GrantYear.year) == year, col(GrantYear.state) != GrantYearState.cancelled))).scalar_one()
    return int(own), int(others)


async def granted_projects(session: AsyncSession, funder_id: uuid.UUID, year: int) -> list[uuid.UUID]:
    """The projects the funder granted money to that year, in id order."""
    rows = await session.execute(
        select(col(Dossier.project_id)).join(Grant, col(Grant.dossier_id) == col(Dossier.id))
        .where(col(Grant.funder_id) == funder_id, col(Grant.year) == year).distinct().order_by(col(Dossier.project_id))
    )
    return list(rows.scalars())
