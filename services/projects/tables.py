"""Every table of the projects service, so that alembic and the test stack see the whole metadata.

Tables live beside the rules that use them (projects, budgets, documents, reports); each module is imported here.
"""

from services.projects import budget_models, document_models, models, report_models  # noqa: F401

metadata = models.metadata
