"""Every table of the funding service, one module per domain, so that alembic and the tests see the whole metadata.

The rooms (`dossiers/`, `committee/`, `envelopes/`…) import the tables they use from here; the tables import
no room, which is what keeps the rooms free of cycles. `metadata` is funding's own (not SQLModel's shared one).
"""

from services.funding.models import (  # noqa: F401 (each module registers its tables on the metadata)
    agreement,
    committee,
    cpo,
    dossier,
    envelope,
    event,
    financial_report,
    notification,
    open_data,
    programme,
    webhook,
)
from services.funding.models.base import idempotency_keys, metadata

__all__ = ["idempotency_keys", "metadata"]
