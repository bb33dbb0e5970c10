"""The shared indicators' catalogue: kept by the desk, read by everyone."""

import uuid

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from common.db import utcnow
from common.problems import Conflict, NotFound, Text, UnprocessableContent
from common.tokens import Principal
from services.projects.indicators import repository
from services.projects.indicators.schemas import IndicatorCreate, IndicatorPublic, IndicatorUpdate
from services.projects.models import Indicator
from services.projects.referential.service import check_references

INDICATOR_NOT_FOUND = Text("Indicateur introuvable.", "Indicator not found.")


def _code_taken(code: str) -> Conflict:
    return Conflict(
        Text(f"Le code « {code} » est déjà pris.", f"The code '{code}' is already taken."), code="indicator_code_taken"
    )


async def create_indicator(session: AsyncSession, *, request: IndicatorCreate) -> IndicatorPublic:
    await check_references(session, qpv_codes=None, priorities=request.priorities)
    if await repository.indicator_by_code(session, request.code):
        raise _code_taken(request.code)
    if request.denominator_code is not None:
        denominator = await repository.indicator_by_code(session, request.denominator_code)
        if denominator is None or denominator.aggregation == "ratio":
            raise UnprocessableContent(
                Text(
                    "Le dénominateur doit être un indicateur existant qui n'est pas lui-même un ratio.",
                    "The denominator must be an existing indicator that is not itself a ratio.",
                ),
                errors=[("body.denominator_code", Text("Dénominateur refusé.", "Denominator refused."))],
                code="invalid_denominator",
            )
    if request.part_of_code is not None:
        whole = await repository.indicator_by_code(session, request.part_of_code)
        if whole is None or whole.aggregation != "sum" or whole.unit != request.unit:
            raise UnprocessableContent(
                Text(
                    "Le tout (« dont ») doit être un indicateur existant, une somme de même unité.",
                    "The whole ('of whom') must be an existing indicator, a sum of the same unit.",
                ),
                errors=[("body.part_of_code", Text("Indicateur englobant refusé.", "Whole indicator refused."))],
                code="invalid_part_of",
            )
    indicator = Indicator(**request.model_dump(exclude={"priorities"}))
    session.add(indicator)
    try:
        await session.flush()
    except IntegrityError as exc:  # the same code created at the same moment by another request
        raise _code_taken(request.code) from exc
    await repository.replace_indicator_priorities(session, indicator.id, request.priorities)
    return (await to_public_many(session, [indicator]))[0]


async def readable_indicator(session: AsyncSession, principal: Principal, indicator_id: uuid.UUID) -> Indicator:
    """An indicator of the catalogue, which every caller reads; else 404."""
    return _found(await repository.indicator_by_id(session, indicator_id))


async def locked_indicator(session: AsyncSession, principal: Principal, indicator_id: uuid.UUID) -> Indicator:
    """An indicator of the catalogue, locked for the desk's change of it; else 404."""
    return _found(await repository.indicator_by_id(session, indicator_id, for_update=True))


def _found(indicator: Indicator | None) -> Indicator:
    if indicator is None:
        raise NotFound(INDICATOR_NOT_FOUND)
    return indicator


# A page (plus one row) of the catalogue, filtered.
list_indicators = repository.list_indicators


async def update_indicator(session: AsyncSession, *, indicator: Indicator, request: IndicatorUpdate) -> IndicatorPublic:
    changes = request.model_dump(exclude_unset=True)
    if "priorities" in changes:
        await check_references(session, qpv_codes=None, priorities=changes["priorities"])
    current = (await to_public_many(session, [indicator]))[0]
    wanted = {**changes, **({"priorities": sorted(set(changes["priorities"]))} if "priorities" in changes else {})}
    if all(getattr(current, field) == value for field, value in wanted.items()):
        return current  # nothing changes: same version, same ETag
    for field, value in changes.items():
        if field != "priorities":
            setattr(indicator, field, value)
    indicator.version += 1
    indicator.updated_at = utcnow()
    await session.flush()
    if "priorities" in changes:
        await repository.replace_indicator_priorities(session, indicator.id, changes["priorities"])
    return (await to_public_many(session, [indicator]))[0]


async def to_public_many(session: AsyncSession, indicators: list[Indicator]) -> list[IndicatorPublic]:
    tags = await repository.indicator_priorities(session, [i.id for i in indicators])
    return [IndicatorPublic(**i.model_dump(), priorities=tags[i.id]) for i in indicators]
