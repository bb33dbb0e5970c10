"""The figures every signed-in organisation shares (DOMAIN.md: "everyone reads the same numbers"): aggregates by
QPV, priority, year, funder and track, open to associations and citizen councils as to funders, without exposing
one project's values. A cell built from fewer than a set number of projects (the services' `SMALL_CELL_MIN_PROJECTS`,
3 by default) is suppressed for them: its figures are null and the cell says `suppressed`. The funders, the desk
and the desk's services read every cell as it is (their own detailed views are unchanged)."""

from common.tokens import Principal
from services.vocabulary import DESK_ROLES, FUNDER_ROLES

DEFAULT_MIN_PROJECTS = 3
SUPPRESSED_DESCRIPTION = (
    "true : case bâtie sur moins de projets que le seuil de secret (3 par défaut) ; ses chiffres sont null pour "
    "les associations et les conseils citoyens (les financeurs et le guichet les lisent)."
)


def suppression_threshold(principal: Principal, min_projects: int) -> int | None:
    """The fewest projects a cell must count for this caller to read its figures; None: every cell, as it is."""
    if principal.kind == "service" or principal.has_any_role(FUNDER_ROLES | DESK_ROLES):
        return None
    return min_projects
