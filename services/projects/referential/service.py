"""The reference lists' rules: a code other rooms store (a project's QPV, an indicator's priority) must be listed."""

from sqlalchemy.ext.asyncio import AsyncSession

from common.problems import Text, UnprocessableContent
from services.projects.referential import repository


async def check_references(
    session: AsyncSession, *, qpv_codes: list[str] | None, priorities: list[str] | None
) -> None:
    """Codes must come from the reference lists; one 422 names every unknown one."""
    errors: list[tuple[str, Text]] = []
    if qpv_codes is not None:
        unknown = sorted(set(qpv_codes) - await repository.known_qpv_codes(session, qpv_codes))
        if unknown:
            errors.append(
                (
                    "body.qpv_codes",
                    Text(f"QPV inconnu(s) : {', '.join(unknown)}.", f"Unknown QPV: {', '.join(unknown)}."),
                )
            )
    if priorities is not None:
        unknown = sorted(set(priorities) - await repository.known_priority_codes(session, priorities))
        if unknown:
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
            Text("Codes absents des listes de référence.", "Codes missing from the reference lists."),
            errors=errors,
            code="unknown_reference",
        )
