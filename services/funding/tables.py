"""Every table of the funding service, so that alembic and the test stack see the whole metadata.

Tables live beside the rules that use them (programmes and dossiers, envelopes); each module is imported here.
"""

from services.funding import committee_models, envelope_models, models, notification_models  # noqa: F401

metadata = models.metadata
