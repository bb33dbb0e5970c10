"""The projects service: associations' projects and the reference lists."""

import httpx
from fastapi import FastAPI

from common.app import create_service_app, http_client, remote_jwks
from common.db import Database
from services.projects.budgets import routes as budgets
from services.projects.documents import pins_routes
from services.projects.documents import routes as documents
from services.projects.documents.pin_sweep import with_pin_sweep
from services.projects.documents.storage import LocalDocumentStorage
from services.projects.indicators import routes as indicators
from services.projects.models import idempotency_keys
from services.projects.projects import routes as projects
from services.projects.referential import routes as referential
from services.projects.reports import routes as reports
from services.projects.settings import ProjectsSettings

TAGS = [
    {"name": "projects", "description": "Projets des associations."},
    {"name": "budgets", "description": "Budgets au format du CERFA 12156 : projet et association."},
    {"name": "referential", "description": "Listes de référence : QPV, priorités."},
    {"name": "indicators", "description": "Catalogue des indicateurs partagés (impact collectif)."},
    {"name": "reports", "description": "Rapports des projets : valeurs des indicateurs, récit, preuves."},
    {"name": "documents", "description": "Coffre-fort des documents des associations (statuts, RIB, comptes…)."},
    {"name": "operations", "description": "Santé, disponibilité, métriques."},
]


def create_app(
    settings: ProjectsSettings | None = None, *, transport: httpx.AsyncBaseTransport | None = None
) -> FastAPI:
    settings = settings or ProjectsSettings()
    http = http_client(settings, transport)
    app = create_service_app(
        service="projects",
        title="Guichet unique — projects",
        description="Projets des associations, QPV et priorités du contrat de ville.",
        settings=settings,
        database=Database(
            settings.database_url, schema=settings.db_schema, pooled=settings.database_pool,
            pool_size=settings.database_pool_size, max_overflow=settings.database_max_overflow,
            pool_timeout=settings.database_pool_timeout_seconds,
            connect_timeout=settings.database_connect_timeout_seconds,
        ),
        idempotency_table=idempotency_keys,
        routers=[projects.router, budgets.router, referential.router,
                 indicators.targets_router, indicators.router, reports.router,
                 pins_routes.router, documents.router],
        http=http,
        key_source=remote_jwks(http, settings),
        openapi_tags=TAGS,
        body_limits=documents.upload_body_limits(settings.documents_max_bytes),
    )
    app.state.document_storage = LocalDocumentStorage(settings.documents_root)
    with_pin_sweep(app, settings.pin_sweep_seconds)
    return app
