"""The dossiers' queries: who may read which dossier (`readable_dossiers`), the dossier, its co-funding plan,
routings, trail and tags, the yearly reference counter, and what the submission reads besides."""

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Exists,
    Row,
    Select,
    and_,
    delete,
    event,
    exists,
    false,
    insert,
    or_,
    select,
    true,
    union_all,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from common.db import get_row, where_given
from common.pagination import keyset, keyset_on
from common.tokens import Principal
from services.funding.dossiers.filters import DossierFilters
from services.funding.dossiers.schemas import DossierSummary
from services.funding.models.dossier import (
    Dossier,
    DossierHistory,
    DossierOpinion,
    DossierRouting,
    DossierState,
    DossierTag,
    FundingLine,
    ReferenceCounter,
    RoutingState,
)
from services.funding.models.financial_report import FinancialReport, late_clause
from services.vocabulary import COUNCIL_ROLES, DESK_ROLES, FUNDER_ROLES, HOLDER_ROLES


async def next_reference_number(session: AsyncSession, year: int) -> int:
    """Atomic increment: a conditional UPDATE … RETURNING, the row created once per year."""
    statement = (
        update(ReferenceCounter)
        .where(col(ReferenceCounter.year) == year)
        .values(last_value=col(ReferenceCounter.last_value) + 1)
        .returning(col(ReferenceCounter.last_value))
    )
    value = (await session.execute(statement)).scalar_one_or_none()
    if value is not None:
        return value
    # First dossier of the year. A concurrent first insert makes ours fail on the primary key;
    # the savepoint lets us retry the UPDATE within the same transaction.
    try:
        async with session.begin_nested():
            await session.execute(insert(ReferenceCounter).values(year=year, last_value=1))
        return 1
    except IntegrityError:
        return (await session.execute(statement)).scalar_one()


async def lines_of(session: AsyncSession, dossier_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[FundingLine]]:
    lines: dict[uuid.UUID, list[FundingLine]] = {did: [] for did in dossier_ids}
    if not dossier_ids:
        return lines
    rows = await session.execute(
        select(FundingLine).where(col(FundingLine.dossier_id).in_(dossier_ids)).order_by(col(FundingLine.position))
    )
    for line in rows.scalars():
        lines[line.dossier_id].append(line)
    return lines


async def replace_lines(session: AsyncSession, dossier_id: uuid.UUID, lines: list[FundingLine]) -> None:
    await session.execute(delete(FundingLine).where(col(FundingLine.dossier_id) == dossier_id))
    session.add_all(lines)
    await session.flush()


@event.listens_for(DossierRouting, "before_insert")
def _copy_dossier_created_at(_mapper: Any, connection: Connection, routing: DossierRouting) -> None:
    """A routing carries its dossier's creation time, the order of a funder's pages: copied here, at insert,
    whichever module routes the dossier (instruction, or a small project's delegated routing)."""
    if routing.dossier_created_at is None:
        routing.dossier_created_at = connection.execute(
            select(col(Dossier.created_at)).where(col(Dossier.id) == routing.dossier_id)).scalar_one()


def _routed_to(funder_id: uuid.UUID) -> Exists:
    return exists().where(
        col(DossierRouting.dossier_id) == col(Dossier.id),
        col(DossierRouting.funder_id) == funder_id,
        col(DossierRouting.state) == RoutingState.routed,
    )


# A citizen council sees the dossiers of its QPVs while they are examined, and those it gave its opinion on after.
COUNCIL_STATES = (DossierState.in_instruction, DossierState.ready_for_committee)


def council_clause(organisation_id: uuid.UUID, qpv_codes: frozenset[str]) -> ColumnElement[bool]:
    """The dossiers a citizen council reads: examined ones whose project (as submitted) touches one of its QPVs,
    through the QPV tags' index; and, whatever their state since, those it gave its opinion on."""
    examined = and_(
        col(Dossier.state).in_(COUNCIL_STATES),
        col(Dossier.id).in_(select(col(DossierTag.dossier_id)).where(
            col(DossierTag.kind) == "qpv", col(DossierTag.value).in_(sorted(qpv_codes)))),
    )
    opined = col(Dossier.id).in_(select(col(DossierOpinion.dossier_id)).where(
        col(DossierOpinion.organisation_id) == organisation_id, col(DossierOpinion.author_kind) == "citizen_council"))
    return or_(examined, opined) if qpv_codes else opined


def _reading_funder(principal: Principal) -> uuid.UUID | None:
    """The funder whose routed dossiers the caller reads, if it reads them as a funder (the desk reads all)."""
    if principal.has_any_role(DESK_ROLES) or not principal.has_any_role(FUNDER_ROLES):
        return None
    return principal.organisation_id


def _other_clauses(principal: Principal, council_qpvs: frozenset[str] | None) -> list[ColumnElement[bool]]:
    """What the caller reads besides as a funder: its association's dossiers, a citizen council's."""
    clauses: list[ColumnElement[bool]] = []
    if principal.has_any_role(HOLDER_ROLES):
        clauses.append(col(Dossier.organisation_id) == principal.organisation_id)
    if council_qpvs is not None and principal.has_any_role(COUNCIL_ROLES) and principal.organisation_id is not None:
        clauses.append(council_clause(principal.organisation_id, council_qpvs))
    return clauses


def readable_clause(principal: Principal, council_qpvs: frozenset[str] | None = None) -> ColumnElement[bool]:
    """Which dossiers the caller reads: the desk every one; a holder its association's; a funder those routed to
    it now (a funder that declined one no longer sees it); a citizen council, given the QPVs identity says it
    speaks for (`visibility.council_qpvs`), those of `council_clause`."""
    if principal.has_any_role(DESK_ROLES):
        return true()
    clauses = _other_clauses(principal, council_qpvs)
    funder = _reading_funder(principal)
    if funder is not None:
        clauses.append(_routed_to(funder))
    return or_(*clauses) if clauses else false()


def readable_dossiers(principal: Principal, council_qpvs: frozenset[str] | None = None) -> Select[Dossier]:
    """The dossiers the caller may read, one statement for the list and for the one-dossier loader."""
    return select(Dossier).where(readable_clause(principal, council_qpvs))


async def readable_dossier(
    session: AsyncSession, principal: Principal, dossier_id: uuid.UUID, council_qpvs: frozenset[str] | None = None
) -> Dossier | None:
    """The dossier, if the caller may read it (a citizen council's reading with its QPVs only)."""
    statement = readable_dossiers(principal, council_qpvs).where(col(Dossier.id) == dossier_id)
    return (await session.execute(statement)).scalar_one_or_none()


async def dossier_by_id(session: AsyncSession, dossier_id: uuid.UUID, *, for_update: bool = False) -> Dossier | None:
    dossier: Dossier | None = await get_row(session, Dossier, dossier_id, for_update=for_update)
    return dossier


async def references_of(session: AsyncSession, dossier_ids: list[uuid.UUID]) -> dict[uuid.UUID, tuple[str, str]]:
    """The dossiers' own and thread references, without their rows (the snapshots they freeze are the bulk of a
    row)."""
    if not dossier_ids:
        return {}
    rows = await session.execute(select(col(Dossier.id), col(Dossier.reference), col(Dossier.thread_reference))
                                 .where(col(Dossier.id).in_(set(dossier_ids))))
    return {dossier_id: (reference, thread) for dossier_id, reference, thread in rows.tuples()}


async def follower_reference(session: AsyncSession, dossier_id: uuid.UUID) -> str | None:
    """The reference of the dossier that follows this one across the years, if one does."""
    statement = select(col(Dossier.reference)).where(col(Dossier.previous_dossier_id) == dossier_id)
    return (await session.execute(statement)).scalars().first()


async def overdue_reports(
    session: AsyncSession, *, organisation_id: uuid.UUID, funder_ids: set[uuid.UUID], today: date
) -> list[FinancialReport]:
    """The association's financial reports owed to these funders and past their date, the oldest first."""
    rows = await session.execute(
        select(FinancialReport).where(
            col(FinancialReport.organisation_id) == organisation_id,
            col(FinancialReport.funder_id).in_(funder_ids),
            late_clause(today),
        ).order_by(col(FinancialReport.due_on))
    )
    return list(rows.scalars())


async def routings_of(session: AsyncSession, dossier_id: uuid.UUID) -> list[DossierRouting]:
    rows = await session.execute(
        select(DossierRouting).where(col(DossierRouting.dossier_id) == dossier_id)
        .order_by(col(DossierRouting.routed_at))
    )
    return list(rows.scalars())


async def routed_funders(session: AsyncSession, dossier_id: uuid.UUID) -> set[uuid.UUID]:
    """The funders the dossier is routed to now (declined ones left out)."""
    rows = await session.execute(
        select(col(DossierRouting.funder_id)).where(
            col(DossierRouting.dossier_id) == dossier_id, col(DossierRouting.state) == RoutingState.routed
        )
    )
    return set(rows.scalars())


async def history_of(session: AsyncSession, dossier_id: uuid.UUID) -> list[DossierHistory]:
    rows = await session.execute(
        select(DossierHistory).where(col(DossierHistory.dossier_id) == dossier_id).order_by(col(DossierHistory.at))
    )
    return list(rows.scalars())


async def declined_funders(session: AsyncSession, dossier_id: uuid.UUID) -> set[uuid.UUID]:
    rows = await session.execute(
        select(col(DossierRouting.funder_id)).where(
            col(DossierRouting.dossier_id) == dossier_id, col(DossierRouting.state) == RoutingState.declined
        )
    )
    return set(rows.scalars())


async def is_routed_to(session: AsyncSession, dossier_id: uuid.UUID, funder_id: uuid.UUID) -> bool:
    """The dossier is routed to this funder now (a funder that declined it no longer sees it)."""
    statement = select(col(DossierRouting.id)).where(
        col(DossierRouting.dossier_id) == dossier_id,
        col(DossierRouting.funder_id) == funder_id,
        col(DossierRouting.state) == RoutingState.routed,
    )
    return (await session.execute(statement.limit(1))).first() is not None


# The association's size, by its yearly budget (charges): the brackets the dashboards count by.
SIZE_BRACKETS = ((5_000_000, "under_50k"), (20_000_000, "50k_200k"), (100_000_000, "200k_1m"))


def size_of(association_budget: dict[str, Any] | None) -> str | None:
    charges = ((association_budget or {}).get("totals") or {}).get("charges_cents")
    if not charges:
        return None
    return next((name for limit, name in SIZE_BRACKETS if charges < limit), "over_1m")


def tags_of(
    dossier_id: uuid.UUID, year: int, project: dict[str, Any], association_budget: dict[str, Any] | None = None
) -> list[DossierTag]:
    """The project's QPVs and priorities, and the association's size, as the submission froze them; `year`, the
    programme's."""
    tags = [DossierTag(dossier_id=dossier_id, kind=kind, value=value, year=year)
            for kind, key in (("qpv", "qpv_codes"), ("priority", "priorities"))
            for value in dict.fromkeys(project.get(key) or [])]
    size = size_of(association_budget)
    return tags + ([DossierTag(dossier_id=dossier_id, kind="size", value=size, year=year)] if size else [])


async def replace_tags(
    session: AsyncSession, dossier_id: uuid.UUID, year: int, project: dict[str, Any],
    association_budget: dict[str, Any] | None,
) -> None:
    await session.execute(delete(DossierTag).where(col(DossierTag.dossier_id) == dossier_id))
    session.add_all(tags_of(dossier_id, year, project, association_budget))


# A summary's columns: what DossierSummary shows of the row (its funding plan is another table's).
SUMMARY_COLUMNS = tuple(col(getattr(Dossier, name)) for name in DossierSummary.model_fields if name != "funding_plan")


async def list_dossiers(
    session: AsyncSession,
    *,
    principal: Principal,
    state: str | None,
    programme_id: uuid.UUID | None,
    updated_since: datetime | None,
    limit: int,
    cursor: str | None,
    decision_overdue: bool | None = None,
    now: datetime | None = None,
    filters: DossierFilters | None = None,
    summary: bool = False,
    council_qpvs: frozenset[str] | None = None,
) -> list[Dossier] | list[Row[Any]]:
    """The dossiers the caller reads (`readable_clause`), narrowed. A `summary` list reads plain rows of the
    summary's columns: the frozen snapshots (the bulk of a dossier's row, and of a page's bytes) stay in the
    database, and no ORM object is built."""
    columns: Select[Any] = select(*SUMMARY_COLUMNS) if summary else select(Dossier)

    def narrowed(statement: Select[Any]) -> Select[Any]:
        statement = where_given(statement, (col(Dossier.state), state or None),
                                (col(Dossier.programme_id), programme_id))
        if updated_since:
            statement = statement.where(col(Dossier.updated_at) >= updated_since)
        if decision_overdue is not None and now is not None:  # a running clock only: a paused one has no due time
            late = col(Dossier.decision_due_at) < now
            on_time = or_(col(Dossier.decision_due_at).is_(None), ~late)
            statement = statement.where(late if decision_overdue else on_time)
        return filters.narrow(statement) if filters is not None else statement

    funder = _reading_funder(principal)
    if funder is None:
        statement = narrowed(columns.where(readable_clause(principal, council_qpvs)))
    else:
        # A funder's page: its routings walked from the cursor on by their copy of the dossier's (created_at, id),
        # one page of them whatever its number of dossiers (an EXISTS per dossier walked the dossiers until
        # `limit` were routed to it: 12,000 probes for the demo city's page at a million dossiers, 250 ms). What it
        # reads otherwise (a holder's own), a page of its own; the page is the first `limit` of the two.
        routed = narrowed(
            select(col(Dossier.id)).join(DossierRouting, col(DossierRouting.dossier_id) == col(Dossier.id))
            .where(col(DossierRouting.funder_id) == funder, col(DossierRouting.state) == RoutingState.routed))
        pages = [keyset_on(routed, col(DossierRouting.dossier_created_at), col(DossierRouting.dossier_id),
                           limit=limit, cursor=cursor)]
        others = _other_clauses(principal, council_qpvs)
        if others:
            pages.append(keyset(narrowed(select(col(Dossier.id)).where(or_(*others))), Dossier, limit=limit,
                                cursor=cursor))
        ids = [select(page.subquery().c.id) for page in pages]
        statement = columns.where(col(Dossier.id).in_(union_all(*ids) if len(ids) > 1 else ids[0]))
    found = await session.execute(keyset(statement, Dossier, limit=limit, cursor=cursor))
    return list(found.all()) if summary else list(found.scalars())


async def clear_pin_step(
    session: AsyncSession, *, dossier_id: uuid.UUID, step: str, attempt_id: uuid.UUID | None
) -> None:
    """The pins' step owed for this attempt is done; a newer one written meanwhile stays (no version bump: the
    step is bookkeeping, not the dossier's representation)."""
    same_attempt = (col(Dossier.pin_attempt_id) == attempt_id if attempt_id is not None
                    else col(Dossier.pin_attempt_id).is_(None))
    await session.execute(
        update(Dossier)
        .where(col(Dossier.id) == dossier_id, col(Dossier.pin_step) == step, same_attempt)
        .values(pin_step=None)
        .execution_options(synchronize_session=False)
    )


async def owing_pin_steps(session: AsyncSession, *, limit: int) -> list[Dossier]:
    """The dossiers still owing projects a pins' step, the longest waiting first."""
    return list((await session.execute(
        select(Dossier).where(col(Dossier.pin_step).is_not(None)).order_by(col(Dossier.updated_at)).limit(limit)
    )).scalars())


async def owes_confirmation(session: AsyncSession, *, dossier_id: uuid.UUID, attempt_id: uuid.UUID) -> bool:
    """The dossier still owes projects the confirmation of this attempt's pins."""
    found = await session.execute(
        select(col(Dossier.id)).where(col(Dossier.id) == dossier_id, col(Dossier.pin_attempt_id) == attempt_id,
                                      col(Dossier.pin_step) == "confirm")
    )
    return found.first() is not None


async def left_the_flow(session: AsyncSession, dossier_id: uuid.UUID) -> bool:
    """Withdrawn or inadmissible: its pins are to go."""
    found = await session.execute(
        select(col(Dossier.id)).where(col(Dossier.id) == dossier_id,
                                      col(Dossier.state).in_([DossierState.withdrawn, DossierState.inadmissible]))
    )
    return found.first() is not None
