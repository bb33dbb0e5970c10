"""What every funding table shares: the registry (so funding's metadata is its own), the idempotency table,
and the columns most tables repeat."""

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
