"""What every service's alembic env.py does: one history per service, in its own schema (PostgreSQL)
or its own file (SQLite)."""

from pathlib import Path

from alembic import context
from sqlalchemy import MetaData, create_engine, pool, text

from common.db import connect_args_for, is_sqlite, sync_url


def run_migrations(*, metadata: MetaData, schema: str, default_url: str) -> None:
    config = context.config
    url = config.get_main_option("sqlalchemy.url") or default_url
    if is_sqlite(url):
        database = url.split("///", 1)[-1]
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
    else:
        with create_engine(sync_url(url), poolclass=pool.NullPool).begin() as connection:
            # CREATE SCHEMA IF NOT EXISTS checks the database's CREATE privilege even when the schema exists:
            # a deployed role owns its schema but may not create schemas (deploy/postgres/init), so look first.
            found = connection.execute(text("SELECT 1 FROM pg_namespace WHERE nspname = :schema"), {"schema": schema})
            if found.first() is None:
                connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    engine = create_engine(sync_url(url), poolclass=pool.NullPool, connect_args=connect_args_for(url, schema))
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            version_table_schema=None if is_sqlite(url) else schema,
            render_as_batch=is_sqlite(url),
            compare_type=True,
            # The version table sits in the service's schema, which autogenerate would see as extra.
            include_name=lambda name, type_, _parent: not (type_ == "table" and name == "alembic_version"),
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
