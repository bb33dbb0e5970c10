"""What every table of the projects service shares: its own SQLModel registry (so its metadata holds its tables
only), the idempotency keys' table, and the columns many tables repeat (id, version, created_at, updated_at)."""

import uuid
from datetime import datetime

from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from common.db import UtcDateTime, utcnow
from common.idempotency import idempotency_table


class ProjectsTable(SQLModel, registry=registry()):
    pass


metadata = ProjectsTable.metadata
idempotency_keys = idempotency_table(metadata)


# Listed in a table's bases as `(ProjectsTable, Timestamped, Versioned, UuidKey, table=True)`: the last base's
# columns come first, so a table still reads id, version, created_at, updated_at, then its own.
class UuidKey(SQLModel):
    """A random UUID primary key."""

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)


class Versioned(SQLModel):
    """The version a row's ETag is made of; each change adds one."""

    version: int = Field(default=1, nullable=False)


class Timestamped(SQLModel):
    """When the row was created and last changed (UTC); `updated_at` is indexed for `?updated_since=`."""

    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, nullable=False, index=True)
