"""What every funding table shares: the registry (so funding's metadata is its own), the idempotency table,
and the columns most tables repeat (id, version, created_at, updated_at) as mixins."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from common.db import UtcDateTime, utcnow
from common.idempotency import idempotency_table


class FundingTable(SQLModel, registry=registry()):
    pass


metadata = FundingTable.metadata
idempotency_keys = idempotency_table(metadata)


def created_column() -> Any:
    return Field(default_factory=utcnow, sa_type=UtcDateTime, nullable=False)


# The columns most tables repeat, as mixins: a table lists the ones it has after FundingTable. Their columns come
# first in the table (the order of the columns is not the schema's: the migrations say it).
class IdColumn(SQLModel):
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)


class Versioned(SQLModel):
    """A row the API changes under an ETag: its version is the ETag, and moves at each change."""

    version: int = Field(default=1, nullable=False)


class CreatedAt(SQLModel):
    created_at: datetime = created_column()


class Timestamps(CreatedAt):
    updated_at: datetime = created_column()


class SyncedTimestamps(CreatedAt):
    """Timestamps whose `updated_at` is indexed: the table is listed with `?updated_since=`."""

    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, nullable=False, index=True)
