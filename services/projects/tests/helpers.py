"""Small helpers for the projects tests: walking every page of a list, firing requests at once."""

from typing import Any

from sqlalchemy import func, select

from services.projects.models import Project
from tests.support import calls
from tests.support.calls import at_once, pages  # noqa: F401  (the tests import them from here)
from tests.support.stack import Api
from tests.support.world import World

PROJECTS = "/api/v1/projects"










def stored_projects(world: World) -> int:
    """Rows in the projects table, whoever owns them: a write the caller's own list would not show."""

    async def count() -> int:
        async with world.stack.apps["projects"].state.db.reader() as session:
            return (await session.execute(select(func.count()).select_from(Project))).scalar_one()

    return world.stack.run(count)


def listed_ids(api: Api, url: str = PROJECTS, **params: Any) -> list[str]:
    return calls.listed_ids(api, url, **params)


def listed_state(api: Api, url: str = PROJECTS) -> list[tuple[str, int]]:
    return calls.listed_state(api, url)
