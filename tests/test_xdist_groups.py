"""The suite's groups hold under pytest-xdist (tests/support/xdist_groups.py): a small suite laid out like ours
runs the way `make test` runs it, and each test writes down the worker it ran on."""

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.support.xdist_groups import group_of

REPO = Path(__file__).resolve().parents[1]
SUITE = '''
import json, os, pathlib
import pytest

def record(name):
    with pathlib.Path(os.environ["WHERE_FILE"]).open("a") as where:
        where.write(json.dumps([name, os.environ["PYTEST_XDIST_WORKER"]]) + "\\n")

@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
@pytest.mark.parametrize("n", range(6))
def test_fault(n, backend):
    record(f"{backend}-{n}")
'''
FREE = '''
import json, os, pathlib
import pytest

@pytest.mark.parametrize("n", range(8))
def test_free(n):
    with pathlib.Path(os.environ["WHERE_FILE"]).open("a") as where:
        where.write(json.dumps([f"free-{n}", os.environ["PYTEST_XDIST_WORKER"]]) + "\\n")
'''


def test_groups_are_read_off_the_id_per_backend() -> None:
    assert group_of("tests/faults/test_crashes.py::test_killed[postgres]") == "faults-postgres"
    assert group_of("tests/faults/test_crashes.py::test_killed[sqlite]") == "faults-sqlite"
    assert group_of("tests/test_seed_country.py::test_sqlite_is_refused") == "seed_country"
    assert group_of("tests/test_schemathesis.py::test_fuzz[postgres-funding-create_dossier]") is None


def test_a_backend_s_fault_tests_run_on_one_worker_and_the_rest_anywhere(tmp_path: Path) -> None:
    (tmp_path / "tests" / "faults").mkdir(parents=True)
    (tmp_path / "tests" / "faults" / "test_suite.py").write_text(SUITE)
    (tmp_path / "tests" / "test_free.py").write_text(FREE)
    where = tmp_path / "where.jsonl"
    environment = {**os.environ, "WHERE_FILE": str(where), "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "2", "--dist", "loadgroup", "-p", "tests.support.xdist_groups",
         "-p", "no:cacheprovider", "-q", "--rootdir", str(tmp_path), "-c", os.devnull, "tests"],
        cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    ran = [json.loads(line) for line in where.read_text().splitlines()]
    assert len(ran) == 20
    for backend in ("sqlite", "postgres"):
        workers = {worker for name, worker in ran if name.startswith(backend)}
        assert len(workers) == 1, f"the {backend} fault tests ran on {sorted(workers)}"
    assert {worker for _name, worker in ran} == {"gw0", "gw1"}, "both workers should have had work"
