"""The fault desk: the five processes of `make run`, each started, killed and paused on its own, per backend.

Every fault test of a backend runs on one pytest-xdist worker (their group), one after the other, on that
backend's desk: they kill and pause its processes, and would pull the desk from under each other."""

import os
from collections.abc import Iterator

import pytest

from tests.faults.desk import FaultDesk, start_fault_desk


@pytest.fixture(scope="session")
def fault_desk(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultDesk]:
    desk = start_fault_desk(backend, tmp_path_factory.mktemp(f"faults-{backend}"), os.environ.get("TEST_POSTGRES_URL"))
    yield desk
    desk.stop()


@pytest.fixture
def healthy(fault_desk: FaultDesk, _registered: FaultDesk) -> FaultDesk:
    """The desk as a test finds it: every process running and the proxy letting everything through, whatever the
    test before did."""
    fault_desk.projects_proxy.release()
    for name, process in list(fault_desk.processes.items()):
        if process.poll() is not None:
            fault_desk.start(name)
        else:
            fault_desk.resume(name)
    return fault_desk


RUNNING: dict[str, FaultDesk] = {}


@pytest.fixture(scope="session", autouse=False)
def _registered(fault_desk: FaultDesk, backend: str) -> FaultDesk:
    RUNNING[backend] = fault_desk
    return fault_desk


def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """A backend's desk stops once its last fault test has run (in a row, on one worker), so that its
    processes and their PostgreSQL connections do not stay for the rest of the worker's tests. `healthy` starts
    them again should another fault test of that backend follow."""
    backend = getattr(getattr(item, "callspec", None), "params", {}).get("backend")
    following = getattr(getattr(nextitem, "callspec", None), "params", {}).get("backend") if nextitem else None
    desk = RUNNING.get(backend) if isinstance(backend, str) else None
    if desk is not None and not (nextitem is not None and "fault_desk" in getattr(nextitem, "fixturenames", ())
                                 and following == backend):
        desk.stop_processes()
