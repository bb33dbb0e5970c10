"""A lost database connection is a 503 `database_unavailable` with `Retry-After`, never a 500; a safe read is run
once more on a fresh connection, a write never (the client retries with its Idempotency-Key), a response already
started never. First the mechanism on an app of its own, with the errors SQLAlchemy raises; then on PostgreSQL,
backends terminated under a route (pre-ping cannot help) and between requests (with pre-ping off, as issue 18 may
have it), on a tiny app and on projects itself."""

import asyncio
import os
import socket
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, event, func, insert, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from common.connection_loss import ConnectionLossMiddleware
from common.db import Database, SessionDep, sync_url
from common.problems import install_problem_handlers
from tests.support.stack import problem
from tests.support.world import HOLDER, PROJECT, World


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def lost(statement: str | None = "SELECT 1") -> OperationalError:
    """What SQLAlchemy raises when the dialect saw a dead connection (`is_disconnect`); with no statement, a
    connection that could not be opened."""
    return OperationalError(statement, {}, Exception("terminating connection due to administrator command"),
                            connection_invalidated=statement is not None)


def faulty_app(failures: dict[str, list[BaseException]], calls: dict[str, int]) -> FastAPI:
    """Each route raises the errors listed for it, one per call, then answers."""
    app = FastAPI()
    install_problem_handlers(app)
    app.add_middleware(ConnectionLossMiddleware)

    def attempt(name: str) -> None:
        calls[name] = calls.get(name, 0) + 1
        if failures.get(name):
            raise failures[name].pop(0)

    @app.get("/read")
    async def read() -> dict[str, str]:
        attempt("read")
        return {"read": "ok"}

    @app.post("/write")
    async def write() -> dict[str, str]:
        attempt("write")
        return {"written": "ok"}

    @app.get("/stream")
    async def stream() -> StreamingResponse:
        async def rows() -> AsyncIterator[bytes]:
            yield b"id\n"
            attempt("stream")  # the connection goes while the export streams
            yield b"1\n"

        return StreamingResponse(rows(), media_type="text/csv")

    return app


@pytest.fixture
async def faulty() -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, list[BaseException]], dict[str, int]]]:
    failures: dict[str, list[BaseException]] = {}
    calls: dict[str, int] = {}
    transport = httpx.ASGITransport(app=faulty_app(failures, calls), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client, failures, calls


def assert_database_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert problem(response)["code"] == "database_unavailable"
    assert int(response.headers["retry-after"]) >= 1


class TestMechanism:
    @pytest.mark.anyio
    async def test_a_read_that_lost_its_connection_is_run_once_more(self, faulty) -> None:
        client, failures, calls = faulty
        failures["read"] = [lost()]
        response = await client.get("/read")
        assert response.status_code == 200, response.text
        assert calls["read"] == 2

    @pytest.mark.anyio
    async def test_a_read_that_loses_it_twice_is_a_503(self, faulty) -> None:
        client, failures, calls = faulty
        failures["read"] = [lost(), lost(None)]
        assert_database_unavailable(await client.get("/read", headers={"Accept-Language": "en"}))
        assert calls["read"] == 2

    @pytest.mark.anyio
    async def test_a_write_is_never_run_again(self, faulty) -> None:
        client, failures, calls = faulty
        failures["write"] = [lost()]
        assert_database_unavailable(await client.post("/write"))
        assert calls["write"] == 1

    @pytest.mark.anyio
    async def test_a_database_that_cannot_be_reached_is_a_503(self, faulty) -> None:
        client, failures, _ = faulty
        failures["write"] = [lost(None)]
        assert_database_unavailable(await client.post("/write"))

    @pytest.mark.anyio
    async def test_a_started_response_is_not_run_again(self, faulty) -> None:
        client, failures, calls = faulty
        failures["stream"] = [lost()]
        response = await client.get("/stream")
        assert response.text == "id\n"  # cut short: the bytes already sent cannot be taken back, nor sent twice
        assert calls["stream"] == 1

    @pytest.mark.anyio
    @pytest.mark.parametrize("method", ["get", "post"])
    async def test_a_pool_with_no_connection_free_is_a_503_busy_never_run_again(self, faulty, method) -> None:
        client, failures, calls = faulty
        name = "read" if method == "get" else "write"
        failures[name] = [PoolTimeout("QueuePool limit of size 1 overflow 0 reached, connection timed out")]
        response = await client.request(method.upper(), f"/{name}", headers={"Accept-Language": "en"})
        assert response.status_code == 503, response.text
        assert problem(response)["code"] == "database_busy"
        assert int(response.headers["retry-after"]) >= 1
        assert calls[name] == 1

    @pytest.mark.anyio
    async def test_other_database_errors_are_not_mistaken_for_a_lost_connection(self, faulty) -> None:
        client, failures, calls = faulty
        failures["read"] = [OperationalError("BEGIN IMMEDIATE", {}, Exception("database is locked"))]
        response = await client.get("/read")
        assert response.status_code == 500
        assert calls["read"] == 1


POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL")
postgres_only = pytest.mark.skipif(not POSTGRES_URL, reason="PostgreSQL at TEST_POSTGRES_URL is needed")
SCHEMA = "connection_loss"
METADATA = MetaData(schema=SCHEMA)
NOTES = Table("notes", METADATA, Column("id", Integer, primary_key=True), Column("word", String(20)))


class Backends:
    """Terminates PostgreSQL backends from a connection of its own, as an administrator or a failover would."""

    def __init__(self, url: str):
        self.engine = create_engine(sync_url(url), isolation_level="AUTOCOMMIT")

    def terminate(self, pids: set[int]) -> None:
        # Only the pids given: the shared test server also holds the other tests' pools.
        with self.engine.connect() as connection:
            connection.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                    "WHERE datname = current_database() AND pid = ANY(:pids)"), {"pids": list(pids)})


def record_pids(database: Database) -> set[int]:
    """The backend pid of each connection the database's pool opens, from now on."""
    pids: set[int] = set()

    @event.listens_for(database.engine.sync_engine, "connect")
    def _opened(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("SELECT pg_backend_pid()")
        pids.add(cursor.fetchone()[0])
        cursor.close()

    return pids


@pytest.fixture
def backends() -> Iterator[Backends]:
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL at TEST_POSTGRES_URL is needed")
    built = Backends(POSTGRES_URL)
    yield built
    built.engine.dispose()


def notes_app(database: Database, backends: Backends, calls: list[str]) -> FastAPI:
    """Reads and writes that lose their connection halfway, on the first call only."""
    app = FastAPI()
    app.state.db = database
    install_problem_handlers(app)
    app.add_middleware(ConnectionLossMiddleware)

    async def cut_once(session: Any) -> None:
        calls.append("call")
        if len(calls) == 1:
            pid = (await session.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            backends.terminate({pid})

    @app.get("/notes")
    async def count(session: SessionDep) -> dict[str, int]:
        await cut_once(session)
        return {"count": (await session.execute(select(func.count()).select_from(NOTES))).scalar_one()}

    @app.post("/notes", status_code=201)
    async def add(session: SessionDep) -> dict[str, str]:
        await session.execute(insert(NOTES).values(word="first"))
        await cut_once(session)
        await session.execute(insert(NOTES).values(word="second"))
        return {"added": "two"}

    return app


@pytest.fixture
async def notes_database() -> AsyncIterator[Database]:
    assert POSTGRES_URL
    database = Database(POSTGRES_URL, schema=SCHEMA, pool_size=2)  # pre-ping on, as today
    async with database.engine.begin() as connection:
        await connection.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        await connection.execute(text(f"CREATE SCHEMA {SCHEMA}"))
        await connection.run_sync(METADATA.create_all)
    yield database
    async with database.engine.begin() as connection:
        await connection.execute(text(f"DROP SCHEMA {SCHEMA} CASCADE"))
    await database.dispose()


@postgres_only
class TestTerminatedUnderARoute:
    @pytest.mark.anyio
    async def test_a_read_is_answered_from_a_fresh_connection(self, notes_database, backends) -> None:
        calls: list[str] = []
        transport = httpx.ASGITransport(app=notes_app(notes_database, backends, calls))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.get("/notes")
        assert response.status_code == 200, response.text
        assert response.json() == {"count": 0}
        assert len(calls) == 2

    @pytest.mark.anyio
    async def test_a_write_is_a_503_and_writes_nothing(self, notes_database, backends) -> None:
        calls: list[str] = []
        transport = httpx.ASGITransport(app=notes_app(notes_database, backends, calls))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            assert_database_unavailable(await client.post("/notes"))
            assert len(calls) == 1
            assert (await client.get("/notes")).json() == {"count": 0}
            assert (await client.post("/notes")).status_code == 201  # the client's retry
            assert (await client.get("/notes")).json() == {"count": 2}


@pytest.mark.postgres_only
class TestTerminatedBetweenRequests:
    """Projects' own pool, pre-ping off, holding a connection whose backend was terminated since."""

    @pytest.fixture
    def projects(self, world: World, backends: Backends) -> Iterator[tuple[World, Database, set[int]]]:
        app = world.stack.apps["projects"]
        kept = app.state.db
        database = Database(world.stack.urls["projects"], schema="projects", pool_size=2, pre_ping=False)
        pids = record_pids(database)
        app.state.db = database
        yield world, database, pids
        app.state.db = kept
        world.stack.run(database.dispose)

    def test_a_read_still_answers_200_and_a_write_is_a_503_that_writes_nothing(self, projects, backends) -> None:
        world, _database, pids = projects
        holder = world.as_("projects", HOLDER)
        assert holder.get("/api/v1/projects").status_code == 200  # the pool now holds a connection
        before = len(holder.get("/api/v1/projects", params={"limit": 200}).json()["items"])
        backends.terminate(set(pids))
        opened = len(pids)
        read = holder.get("/api/v1/projects", params={"limit": 200})
        assert read.status_code == 200, read.text
        assert len(pids) > opened  # the dead one failed, and the read was run again on a new one
        backends.terminate(set(pids))
        key = {"Idempotency-Key": "connection-loss-1"}
        assert_database_unavailable(holder.post("/api/v1/projects", json=PROJECT, headers=key))
        assert len(holder.get("/api/v1/projects", params={"limit": 200}).json()["items"]) == before
        retried = holder.post("/api/v1/projects", json=PROJECT, headers=key)  # the key was released
        assert retried.status_code == 201, retried.text


@postgres_only
class TestPoolExhausted:
    @pytest.mark.anyio
    async def test_a_request_that_finds_every_connection_busy_gets_a_503_and_the_next_one_is_served(self) -> None:
        assert POSTGRES_URL
        database = Database(POSTGRES_URL, schema="public", pool_size=1, max_overflow=0, pool_timeout=0.2)
        holding, release = asyncio.Event(), asyncio.Event()
        app = FastAPI()
        app.state.db = database
        install_problem_handlers(app)
        app.add_middleware(ConnectionLossMiddleware)

        @app.get("/hold")
        async def hold(session: SessionDep) -> dict[str, int]:
            value = (await session.execute(text("SELECT 1"))).scalar_one()  # the pool's one connection, kept
            holding.set()
            await release.wait()
            return {"value": value}

        @app.get("/one")
        async def one(session: SessionDep) -> dict[str, int]:
            return {"value": (await session.execute(text("SELECT 1"))).scalar_one()}

        try:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                held = asyncio.create_task(client.get("/hold"))
                await asyncio.wait_for(holding.wait(), 10)
                busy = await client.get("/one")
                assert busy.status_code == 503, busy.text
                assert problem(busy)["code"] == "database_busy"
                assert int(busy.headers["retry-after"]) >= 1
                release.set()
                assert (await held).json() == {"value": 1}
                assert (await client.get("/one")).json() == {"value": 1}
        finally:
            release.set()
            await database.dispose()


class TestConnectTimeout:
    @pytest.mark.anyio
    async def test_a_server_that_accepts_and_never_answers_is_a_503_within_the_connect_timeout(self) -> None:
        """The kernel completes the TCP handshake for a listening socket nobody accepts on: the client's
        startup message then waits for an answer that never comes, as behind a dead host's load balancer."""
        silent = socket.socket()
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        database = Database(f"postgresql://postgres@127.0.0.1:{port}/silent", connect_timeout=2)
        app = FastAPI()
        app.state.db = database
        install_problem_handlers(app)
        app.add_middleware(ConnectionLossMiddleware)

        @app.post("/one")
        async def one(session: SessionDep) -> dict[str, int]:
            return {"value": (await session.execute(text("SELECT 1"))).scalar_one()}

        try:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                # The guard only turns a hang (no connect timeout) into a failure; it times nothing.
                response = await asyncio.wait_for(client.post("/one"), 60)
            assert_database_unavailable(response)
        finally:
            silent.close()
            await database.dispose()
