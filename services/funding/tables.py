"""Every table of the funding service, so that alembic and the test stack see the whole metadata.

Tables live beside the rules that use them (programmes and dossiers, envelopes); each module is imported here,
and so is the outbox (`events`), whose listeners write each session's domain events at commit.
"""

from services.funding import (  # noqa: F401
    agreement_models,
    committee_models,
    cpo_models,
    envelope_models,
    event_models,
    events,
    financial_report_models,
    models,
    notification_models,
    webhook_models,
)

metadata = models.metadata
