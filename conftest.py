"""Fixtures shared by every test: the databases (SQLite always, PostgreSQL when TEST_POSTGRES_URL is set),
built by the real migrations, and the three services in process."""

import os
from collections.abc import Iterator

import pytest
from anyio.from_thread import start_blocking_portal
from sqlalchemy import create_engine, make_url, text

from common.db import sync_url
from tests.support.clock import TEST_NOW
from tests.support.receiver import receiver  # noqa: F401  (a fixture: a partner's webhook endpoint)
from tests.support.stack import SERVICES, Stack, build_stack, migrate, reset_postgres
from tests.support.world import World, demo_world
from tests.support.xdist_groups import pytest_xdist_make_scheduler  # noqa: F401  (which tests share a worker)


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist each worker gets a PostgreSQL database of its own (`<database>_gw0`, …, made here when
    missing) and a Redis database of its own, so that two workers never reset each other's tables."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return
    base = os.environ.get("TEST_POSTGRES_URL")
    if base:
        os.environ["TEST_POSTGRES_URL"] = _worker_database(base, worker)
    redis_url = os.environ.get("TEST_REDIS_URL")
    if redis_url:
        database = int(make_url(redis_url).database or 0) + int(worker.removeprefix("gw"))
        os.environ["TEST_REDIS_URL"] = make_url(redis_url).set(database=str(database)).render_as_string(False)


def _worker_database(base: str, worker: str) -> str:
    url = make_url(sync_url(base))
    name = f"{url.database}_{worker}"
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            exists = connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name})
            if exists.first() is None:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # a missing PostgreSQL fails the run, never skips it
        raise pytest.UsageError(f"PostgreSQL at TEST_POSTGRES_URL is unreachable: {exc}") from exc
    finally:
        engine.dispose()
    return str(make_url(base).set(database=name).render_as_string(hide_password=False))


def _backends() -> list[str]:
    backends = ["sqlite"]
    if os.environ.get("TEST_POSTGRES_URL"):
        backends.append("postgres")
    elif os.environ.get("CI") == "true":
        raise pytest.UsageError("CI=true but TEST_POSTGRES_URL is not set: the PostgreSQL run cannot be skipped")
    return backends


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The markers of pyproject.toml, put on each test from what it uses."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        backend = callspec.params.get("backend") if callspec is not None else None
        if isinstance(backend, str):  # not the empty set of a postgres_only test run without PostgreSQL
            item.add_marker(backend)
        if "live" in getattr(item, "fixturenames", ()):
            item.add_marker("live")
        if "fault_desk" in getattr(item, "fixturenames", ()):
            # One worker runs a backend's fault tests, one after another, on that backend's desk
            # (tests/support/xdist_groups.py).
            item.add_marker("faults")
        test = getattr(item, "obj", None)
        module_name = getattr(getattr(item, "module", None), "__name__", "")
        if getattr(test, "is_hypothesis_test", False) or module_name.endswith("test_schemathesis"):
            item.add_marker("fuzz")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        backends = _backends()
        if metafunc.definition.get_closest_marker("postgres_only"):  # what only a database server can do
            backends = [backend for backend in backends if backend == "postgres"]
        metafunc.parametrize("backend", backends, scope="session")


@pytest.fixture(scope="session")
def portal() -> Iterator[object]:
    with start_blocking_portal() as blocking_portal:
        yield blocking_portal


@pytest.fixture(scope="session")
def database_urls(backend: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    if backend == "sqlite":
        folder = tmp_path_factory.mktemp("sqlite")
        urls = {service: f"sqlite:///{folder / f'{service}.db'}" for service in SERVICES}
    else:
        url = os.environ["TEST_POSTGRES_URL"]
        try:
            engine = create_engine(sync_url(url))
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            engine.dispose()
        except Exception as exc:  # a missing PostgreSQL fails the run, never skips it
            pytest.fail(f"PostgreSQL at TEST_POSTGRES_URL is unreachable: {exc}")
        reset_postgres(url)
        urls = {service: url for service in SERVICES}
    for service, url in urls.items():
        migrate(service, url)
    return urls


@pytest.fixture(scope="session")
def stack(backend: str, database_urls: dict[str, str], portal, tmp_path_factory) -> Iterator[Stack]:
    built = build_stack(backend, database_urls, portal, tmp_path_factory.mktemp(f"stack-{backend}"))
    yield built

    async def close() -> None:
        for app in built.apps.values():
            await app.state.http.aclose()
            await app.state.db.dispose()

    built.run(close)
    built.dispose()


@pytest.fixture
def world(stack: Stack) -> World:
    """The demo territory, seeded once per stack and put back for every test (tests/support/world.py)."""
    return demo_world(stack)


@pytest.fixture(scope="session")
def live(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """The four servers as separate processes, started by the same script as `make run`."""
    from scripts.live_stack import start_live_stack

    stack = start_live_stack(
        backend, tmp_path_factory.mktemp(f"live-{backend}"), os.environ.get("TEST_POSTGRES_URL"), now=TEST_NOW
    )
    yield stack
    stack.stop()
