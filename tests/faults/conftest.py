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
def healthy(fault_desk: FaultDesk) -> FaultDesk:
    """The desk as a test finds it: every process running and the proxy letting everything through, whatever the
    test before did."""
    fault_desk.projects_proxy.release()
    for name, process in list(fault_desk.processes.items()):
        if process.poll() is not None:
            fault_desk.start(name)
        else:
            fault_desk.resume(name)
    return fault_desk
