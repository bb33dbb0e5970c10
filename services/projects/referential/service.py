"""The reference lists' rules: a code other rooms store (a project's QPV, an indicator's priority) must be listed."""

from collections.abc import Collection

from sqlalchemy.ext.asyncio import AsyncSession

from common.problems import Text, UnprocessableContent
from services.projects.referential import repository


async def check_references(
    session: AsyncSession, *, qpv_codes: list[str] | None, priorities: list[str] | None,
    kept_qpv_codes: Collection[str] = (),
) -> None:
    """Codes must come from the reference lists; one 422 names every unknown one. A retired QPV is refused too,
    unless the project already had it (`kept_qpv_codes`): a project keeps what it had, nothing new picks it."""
    errors: list[tuple[str, Text]] = []
    unknown_found = False
    if qpv_codes is not None:
        statuses = await repository.qpv_statuses(session, qpv_codes)
        unknown = sorted(set(qpv_codes) - set(statuses))
        if unknown:
            unknown_found = True
            errors.append(
                (
                    "body.qpv_codes",
                    Text(f"QPV inconnu(s) : {', '.join(unknown)}.", f"Unknown QPV: {', '.join(unknown)}."),
                )
            )
        retired = sorted({c for c, is_retired in statuses.items() if is_retired} - set(kept_qpv_codes))
        if retired:
            errors.append(
                (
                    "body.qpv_codes",
                    Text(
                        f"QPV retiré(s) de la liste nationale : {', '.join(retired)}.",
                        f"QPV retired from the national list: {', '.join(retired)}.",
                    ),
                )
            )
    if priorities is not None:
        unknown = sorted(set(priorities) - await repository.known_priority_codes(session, priorities))
        if unknown:
            unknown_found = True
            errors.append(
                (
                    "body.priorities",
                    Text(
                        f"Priorité(s) inconnue(s) : {', '.join(unknown)}.", f"Unknown priorities: {', '.join(unknown)}."
                    ),
                )
            )
    if errors:
        raise UnprocessableContent(
            Text("Codes absents des listes de référence.", "Codes missing from the reference lists.")
            if unknown_found
            else Text("QPV retirés de la liste nationale.", "QPVs retired from the national list."),
            errors=errors,
            code="unknown_reference" if unknown_found else "retired_reference",
        )
