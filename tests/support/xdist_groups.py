"""Which tests pytest-xdist keeps on one worker, one after the other: those that share a costly, stateful desk of
their own per backend (the fault desk's five processes, the seeded country, the containers' apps).

`--dist loadgroup` reads `xdist_group` markers through a `@group` suffix that pytest-xdist 3.8 writes into a test's
`_nodeid`; pytest 9 keeps the id elsewhere, so the markers are silently ignored and every group spreads over all
workers. This scheduler groups by the tests' ids instead, through xdist's own hook, and leaves every other test to
go to whichever worker is free, in collection order (pytest 9 orders every SQLite test before every PostgreSQL
one, so a worker builds each backend's stack once)."""

import re

import pytest
from xdist.scheduler import LoadScopeScheduling  # type: ignore[import-untyped]

# Id prefix → group; a group is per backend, read off the test's parameters.
GROUPS = {
    "tests/faults/": "faults",
    "tests/test_seed_country.py::": "seed_country",
    "tests/test_compose.py::": "compose",
}
BACKEND = re.compile(r"\[(sqlite|postgres)\b")


def group_of(nodeid: str) -> str | None:
    for prefix, group in GROUPS.items():
        if nodeid.startswith(prefix):
            backend = BACKEND.search(nodeid)
            return f"{group}-{backend.group(1)}" if backend else group
    return None


class GroupScheduling(LoadScopeScheduling):
    """loadgroup's scheduling: one work unit per group, one per test otherwise."""

    def _split_scope(self, nodeid: str) -> str:
        return group_of(nodeid) or nodeid


def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> LoadScopeScheduling | None:
    if config.getvalue("dist") != "loadgroup":
        return None
    return GroupScheduling(config, log)
