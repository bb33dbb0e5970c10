"""Bulk loading into one service's schema: binary COPY with psycopg 3, inside one transaction, with the big tables'
indexes and constraints set aside while they fill.

Rows are tuples in the order of the columns named for their table. Values are already in PostgreSQL's binary form
where that is cheaper than an object: ids as 16 raw bytes, instants and days as ints (see clock.py), JSON as its
text. Dropping a table's indexes and foreign keys and rebuilding them once the rows are in is about twice as fast
as maintaining them row by row (measured on this machine); the definitions are read from the catalog and put back
as they were, in the same transaction, so a failure leaves the schema untouched.
"""

import queue
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg.types.string import BytesBinaryDumper
from sqlalchemy.engine import make_url

try:  # psycopg-binary's C dumper: the pure Python one that psycopg registers for bytea costs twice as much
    # The binary package's stub declares none of its C dumpers.
    from psycopg_binary._psycopg import BytesBinaryDumper as FastBytesDumper  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - psycopg without its binary package
    FastBytesDumper = BytesBinaryDumper

# How each column type travels in the binary COPY (see the module's docstring).
WIRE_TYPES = {
    "uuid": "bytea",
    "text": "text",
    "character varying": "text",
    "json": "text",
    "integer": "int4",
    "bigint": "int8",
    "boolean": "bool",
    "timestamp with time zone": "int8",
    "date": "int4",
}


def libpq_url(url: str) -> str:
    """A SQLAlchemy URL (`postgresql+psycopg://…`) as libpq takes it."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def connect(url: str, schema: str, *, autocommit: bool = False) -> psycopg.Connection:
    connection = psycopg.connect(libpq_url(url), options=f"-c search_path={schema}", autocommit=autocommit)
    connection.adapters.register_dumper(bytes, FastBytesDumper)
    # A seed can be replayed: no need to wait for each commit's flush. Index builds sort in memory.
    connection.execute("SET synchronous_commit = off")
    connection.execute("SET maintenance_work_mem = '1GB'")
    connection.execute("SET work_mem = '256MB'")
    return connection


@dataclass
class Column:
    name: str
    wire: str
    required: bool  # NOT NULL without a default: every COPY into the table must give it


@dataclass
class SetAside:
    """What `Loader.set_aside` dropped, to be put back in this order: keys, indexes, foreign keys."""

    keys: list[tuple[str, str, str]] = field(default_factory=list)  # (table, name, definition)
    indexes: list[str] = field(default_factory=list)  # CREATE INDEX statements
    foreign_keys: list[tuple[str, str, str]] = field(default_factory=list)


class Loader:
    def __init__(self, url: str, schema: str):
        self.url = url
        self.schema = schema
        self.connection = connect(url, schema)
        self.columns: dict[str, dict[str, Column]] = {}
        self.counts: dict[str, int] = {}

    def table_columns(self, table: str) -> dict[str, Column]:
        if table not in self.columns:
            rows = self.connection.execute(
                """SELECT a.attname, format_type(a.atttypid, NULL), a.attnotnull AND NOT a.atthasdef
                   FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
                   JOIN pg_namespace n ON n.oid = c.relnamespace
                   WHERE n.nspname = %s AND c.relname = %s AND a.attnum > 0 AND NOT a.attisdropped
                   ORDER BY a.attnum""",
                (self.schema, table),
            ).fetchall()
            if not rows:
                raise LookupError(f"table {self.schema}.{table} not found: run `python -m scripts.migrate` first")
            self.columns[table] = {name: Column(name, WIRE_TYPES[kind], required) for name, kind, required in rows}
        return self.columns[table]

    def copy(self, table: str, columns: Sequence[str], rows: Iterable[tuple]) -> int:
        known = self.table_columns(table)
        missing = [c.name for c in known.values() if c.required and c.name not in columns]
        unknown = [name for name in columns if name not in known]
        if missing or unknown:
            raise LookupError(f"{table}: columns missing {missing}, unknown {unknown} (a migration changed it?)")
        count = 0
        with self.connection.cursor() as cursor:
            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types([known[name].wire for name in columns])
                write = copy.write_row
                for row in rows:
                    write(row)
                    count += 1
        self.counts[table] = self.counts.get(table, 0) + count
        return count

    def execute(self, statement: str, params: Sequence[Any] | Mapping[str, Any] | None = None) -> list[tuple]:
        with self.connection.cursor() as cursor:
            cursor.execute(statement, params)
            return cursor.fetchall() if cursor.description else []

    def set_aside(self, tables: Sequence[str]) -> SetAside:
        """Drop the tables' indexes, primary and unique keys, and every foreign key from or to them."""
        oids = [f"{self.schema}.{table}" for table in tables]
        aside = SetAside()
        aside.foreign_keys = [(t, n, d) for t, n, d in self.execute(
            """SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint
               WHERE contype = 'f' AND (conrelid = ANY(%s::regclass[]) OR confrelid = ANY(%s::regclass[]))
               ORDER BY 1, 2""", (oids, oids))]
        aside.keys = [(t, n, d) for t, n, d in self.execute(
            """SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint
               WHERE contype IN ('p', 'u') AND conrelid = ANY(%s::regclass[]) ORDER BY 1, 2""", (oids,))]
        aside.indexes = [d for (d,) in self.execute(
            """SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i
               WHERE i.indrelid = ANY(%s::regclass[]) AND NOT EXISTS (
                   SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.contype IN ('p', 'u'))
               ORDER BY 1""", (oids,))]
        for table, name, _ in aside.foreign_keys:
            self.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for table, name, _ in aside.keys:
            self.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for (name,) in self.execute(
            """SELECT i.indexrelid::regclass::text FROM pg_index i WHERE i.indrelid = ANY(%s::regclass[])""", (oids,)
        ):
            self.execute(f"DROP INDEX {name}")
        return aside

    def put_back(self, aside: SetAside) -> dict[str, float]:
        """Rebuild what `set_aside` dropped; the seconds each step took (keys and indexes, foreign keys)."""
        started = time.perf_counter()
        for table, name, definition in aside.keys:
            self.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        for definition in aside.indexes:
            self.execute(definition)
        indexed = time.perf_counter()
        for table, name, definition in aside.foreign_keys:
            self.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        return {"keys and indexes": indexed - started, "foreign keys": time.perf_counter() - indexed}

    def commit(self) -> None:
        self.connection.commit()

    def close(self) -> None:
        self.connection.close()


def vacuum_analyze(targets: Sequence[tuple[str, str, str]], workers: int = 2) -> None:
    """Statistics for the planner, and the visibility map for index-only scans, on what the seed wrote: (url,
    schema, table) each, biggest first, on `workers` connections at once (one table each)."""
    todo: queue.Queue = queue.Queue()
    for target in targets:
        todo.put(target)
    failures: list[BaseException] = []

    def work() -> None:
        connections: dict[tuple[str, str], psycopg.Connection] = {}
        try:
            while True:
                try:
                    url, schema, table = todo.get_nowait()
                except queue.Empty:
                    return
                if (url, schema) not in connections:
                    connections[(url, schema)] = connect(url, schema, autocommit=True)
                connections[(url, schema)].execute(f"VACUUM (ANALYZE) {table}")
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            failures.append(exc)
        finally:
            for connection in connections.values():
                connection.close()

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]


class Writer:
    """COPYs batches on a thread of its own while the next one is generated: the server parses one territory's rows
    while Python draws the next."""

    def __init__(self, loaders: dict[str, "Loader"]):
        self.loaders = loaders
        self.waiting: queue.Queue = queue.Queue(maxsize=2)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while (batch := self.waiting.get()) is not None:
            if self.error is None:
                try:
                    flush(batch, self.loaders)
                except BaseException as exc:  # noqa: BLE001 - raised again in the caller's thread
                    self.error = exc

    def put(self, batch: "Batch") -> None:
        if self.error is not None:
            raise self.error
        self.waiting.put(batch)

    def close(self) -> None:
        self.waiting.put(None)
        self.thread.join()
        if self.error is not None:
            raise self.error


def flush(batch: "Batch", loaders: dict[str, "Loader"]) -> int:
    """COPY what the batch holds, table by table in its order; the rows written."""
    written = 0
    for table, rows in batch.rows.items():
        if rows:
            written += loaders[table.service].copy(table.name, table.columns, rows)
    batch.clear()
    return written


@dataclass(frozen=True, eq=False)  # hashed by identity: looked up for every row
class Table:
    service: str
    name: str
    columns: tuple[str, ...]


class Batch:
    """Rows waiting for their COPY, per table, in the order given (parents before their children)."""

    def __init__(self, order: Sequence[Table]) -> None:
        self.order = tuple(order)
        self.rows: dict[Table, list[tuple]] = {table: [] for table in self.order}

    def rows_of(self, table: Table) -> list[tuple]:
        return self.rows[table]

    def clear(self) -> None:
        for rows in self.rows.values():
            rows.clear()

    def size(self) -> int:
        return sum(len(rows) for rows in self.rows.values())
