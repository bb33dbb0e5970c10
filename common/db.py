"""Database engine and session: SQLite (WAL, one file per service) or PostgreSQL (one schema per service).

The session dependency is the one place that commits (under an Idempotency-Key, the guard of common.idempotency
commits it just before, with the stored answer); services and repositories only flush.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

import orjson
from fastapi import Depends, Request
from sqlalchemy import DateTime, Select, event, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Any select, whatever its columns: what a helper that narrows a statement takes and gives back.
AnySelect = TypeVar("AnySelect", bound=Select[*tuple[Any, ...]])


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on both backends (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: store UTC-aware timestamps")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def async_url(url: str) -> str:
    parsed = make_url(url)
    driver = "aiosqlite" if parsed.get_backend_name() == "sqlite" else "psycopg"
    return parsed.set(drivername=f"{parsed.get_backend_name()}+{driver}").render_as_string(hide_password=False)


def sync_url(url: str) -> str:
    parsed = make_url(url)
    driver = "pysqlite" if parsed.get_backend_name() == "sqlite" else "psycopg"
    return parsed.set(drivername=f"{parsed.get_backend_name()}+{driver}").render_as_string(hide_password=False)


# How long opening a PostgreSQL connection may take: a server that accepts and then says nothing (a dead host
# behind a load balancer) would otherwise hold the request until the OS gives up, minutes later.
CONNECT_TIMEOUT_SECONDS = 3
# How long a request waits for a pooled connection when all are busy; below the gateway's read timeout (6 s), so
# that the client gets this process's 503 with Retry-After rather than the gateway's 504.
POOL_TIMEOUT_SECONDS = 3.0


def connect_args_for(url: str, schema: str, *, connect_timeout: int = CONNECT_TIMEOUT_SECONDS) -> dict[str, Any]:
    if is_sqlite(url):
        return {"timeout": 30}
    return {"options": f"-csearch_path={schema}", "connect_timeout": connect_timeout}


def install_sqlite_pragmas(engine: Any) -> None:
    """WAL, foreign keys, and explicit BEGIN so that write transactions take the lock up front."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A deferred transaction that later writes can fail at once with SQLITE_BUSY;
        # writers therefore start with BEGIN IMMEDIATE and wait for the lock instead.
        immediate = connection.get_execution_options().get("sqlite_immediate", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


async def get_row(session: AsyncSession, model: Any, row_id: Any, *, for_update: bool = False) -> Any:
    """One row by primary key. `for_update` locks it until commit (PostgreSQL; on SQLite a writer already
    holds the database lock), so a change checked against what it read cannot race another change."""
    if not for_update:
        return await session.get(model, row_id)
    statement = select(model).where(model.id == row_id).with_for_update().execution_options(populate_existing=True)
    return (await session.execute(statement)).scalar_one_or_none()


async def children_by_parent(
    session: AsyncSession, parent_column: Any, child_column: Any, parent_ids: list[Any]
) -> dict[Any, list[Any]]:
    """One query for the children of several parents (tags, members of a link table), in child order;
    every parent asked for is in the answer, with an empty list when it has none."""
    children: dict[Any, list[Any]] = {parent_id: [] for parent_id in parent_ids}
    if parent_ids:
        rows = await session.execute(
            select(parent_column, child_column).where(parent_column.in_(parent_ids)).order_by(child_column)
        )
        for parent_id, child in rows:
            children[parent_id].append(child)
    return children


def where_given(statement: AnySelect, *conditions: tuple[Any, Any]) -> AnySelect:
    """`statement` narrowed by `column == value` for each (column, value) whose value was given: the optional
    equality filters of a list route, without one `if value is not None` per filter."""
    for column, value in conditions:
        if value is not None:
            statement = statement.where(column == value)
    return statement


def json_text(value: Any) -> str:
    """A JSON column's text, as the standard module would write it for what the services store (keys that are not
    strings are written as strings, like `json.dumps`)."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


class Database:
    """One engine per service; a reader and a writer session factory over it."""

    def __init__(
        self, url: str, *, schema: str = "public", pool_size: int = 2, max_overflow: int = 0, pooled: bool = True,
        pre_ping: bool = True, pool_timeout: float = POOL_TIMEOUT_SECONDS,
        connect_timeout: int = CONNECT_TIMEOUT_SECONDS,
    ):
        """`pool_size` connections kept, `max_overflow` more in a burst (PostgreSQL): the services and the worker
        pass their settings; a script's default is small, it counts against the same max_connections. A request
        that waits `pool_timeout` for a connection, or `connect_timeout` to open one, is a 503
        (common.connection_loss)."""
        self.url = url
        self.schema = schema
        self.sqlite = is_sqlite(url)
        kwargs: dict[str, Any] = {
            "connect_args": connect_args_for(url, schema, connect_timeout=connect_timeout),
            # JSON columns (snapshots, plans, terms) are the bulk of a dossier page: orjson reads them in a quarter
            # less CPU than the standard module (bench/quick.py, list of 50), and writes them alike.
            "json_serializer": json_text, "json_deserializer": orjson.loads,
        }
        if not pooled:
            # For callers that run each request on a new event loop (Starlette's TestClient):
            # a pooled async connection cannot move between loops.
            kwargs["poolclass"] = NullPool
        elif not self.sqlite:
            # Pre-ping spares a request most dead connections; those it misses (lost mid-request, or pre-ping
            # off) are common.connection_loss's.
            kwargs.update(
                pool_size=pool_size, max_overflow=max_overflow, pool_pre_ping=pre_ping, pool_timeout=pool_timeout
            )
        self.engine: AsyncEngine = create_async_engine(async_url(url), **kwargs)
        writer_engine = self.engine
        if self.sqlite:
            install_sqlite_pragmas(self.engine.sync_engine)
            writer_engine = self.engine.execution_options(sqlite_immediate=True)
        self.reader = async_sessionmaker(self.engine, class_=AsyncSession, expire_on_commit=False)
        self.writer = async_sessionmaker(writer_engine, class_=AsyncSession, expire_on_commit=False)

    @asynccontextmanager
    async def transaction(self, *, write: bool = True) -> AsyncIterator[AsyncSession]:
        """A session of its own, committed when the block ends and rolled back if it raises: for work that must
        keep (or read) outside a request's session, such as an idempotency reservation, the worker's batches or
        what runs after the commit. A reading one (`write=False`) takes no write lock on SQLite."""
        factory = self.writer if write else self.reader
        async with factory() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    async def dispose(self) -> None:
        await self.engine.dispose()


async def _request_session(request: Request) -> AsyncIterator[AsyncSession]:
    database: Database = request.app.state.db
    async with database.transaction(write=request.method not in SAFE_METHODS) as session:
        yield session


# scope="function": the commit runs before the response is sent, so a failed commit is never a 2xx.
SessionDep = Annotated[AsyncSession, Depends(_request_session, scope="function")]
