"""A service's database brought to one revision of its history, to test a data migration on rows written before
it: SQLite in a temporary folder, or PostgreSQL in a schema of its own (dropped before and after)."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, inspect
from sqlalchemy import column as sa_column
from sqlalchemy import table as sa_table
from sqlalchemy.sql.expression import TableClause

from common.db import connect_args_for, sync_url
from scripts.live_stack import drop_schemas
from tests.support.stack import REPO


@dataclass
class ServiceDatabase:
    service: str
    url: str
    schema: str
    engine: Engine

    def upgrade(self, revision: str = "head") -> None:
        command.upgrade(self._config(), revision)

    def downgrade(self, revision: str) -> None:
        command.downgrade(self._config(), revision)

    def _config(self) -> Config:
        config = Config(str(REPO / "alembic.ini"), ini_section=self.service)
        config.set_main_option("script_location", str(REPO / "migrations" / self.service))
        config.set_main_option("sqlalchemy.url", self.url)
        return config


@contextmanager
def service_database(
    service: str, backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, postgres_url: str | None
) -> Iterator[ServiceDatabase]:
    if backend == "sqlite":
        url, schema = f"sqlite:///{tmp_path / f'{service}.db'}", service
    else:
        assert postgres_url is not None
        url, schema = postgres_url, f"migration_test_{service}"
        drop_schemas(url, [schema])
    # The service's env.py takes its schema from the settings.
    monkeypatch.setenv(f"{service.upper()}_DB_SCHEMA", schema)
    engine = create_engine(sync_url(url), connect_args=connect_args_for(url, schema))
    try:
        yield ServiceDatabase(service, url, schema, engine)
    finally:
        engine.dispose()
        if backend != "sqlite":
            drop_schemas(url, [schema])


def as_it_was(connection: Connection, model: Any) -> TableClause:
    """The model's table with only the columns the database has at this revision (later migrations add others,
    some with defaults a plain insert of the model's table would send), typed as the model types them."""
    table = model.__table__
    present = {column["name"] for column in inspect(connection).get_columns(table.name)}
    return sa_table(table.name, *(sa_column(c.name, c.type) for c in table.columns if c.name in present))
