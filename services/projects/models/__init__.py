"""Every table of the projects service, one module per domain, and the metadata that alembic and the test stack
read (`metadata` holds them all once this package is imported).

`base` holds what the tables share: the registry, the idempotency keys' table and the id/version/timestamp mixins.
"""

from services.projects.models.base import ProjectsTable, Timestamped, UuidKey, Versioned, idempotency_keys, metadata
from services.projects.models.budgets import Budget, BudgetLine
from services.projects.models.documents import DOCUMENT_KINDS, PER_YEAR_KINDS, Document, DocumentPin, DocumentVersion
from services.projects.models.indicators import (
    PERIOD_CHECK,
    Indicator,
    IndicatorPlan,
    IndicatorPriority,
    IndicatorTarget,
)
from services.projects.models.projects import Project, ProjectPriority, ProjectQpv
from services.projects.models.referential import Priority, Qpv, QpvCommune
from services.projects.models.reports import Report, ReportEvidence, ReportHistory, ReportState, ReportValue

__all__ = [
    "DOCUMENT_KINDS",
    "PER_YEAR_KINDS",
    "PERIOD_CHECK",
    "Budget",
    "BudgetLine",
    "Document",
    "DocumentPin",
    "DocumentVersion",
    "Indicator",
    "IndicatorPlan",
    "IndicatorPriority",
    "IndicatorTarget",
    "Priority",
    "Project",
    "ProjectPriority",
    "ProjectQpv",
    "ProjectsTable",
    "Qpv",
    "QpvCommune",
    "Report",
    "ReportEvidence",
    "ReportHistory",
    "ReportState",
    "ReportValue",
    "Timestamped",
    "UuidKey",
    "Versioned",
    "idempotency_keys",
    "metadata",
]
