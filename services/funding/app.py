"""The funding service: programmes, dossiers and their co-funding plans; each room's router is mounted here."""

import httpx
from fastapi import FastAPI

from common.app import create_service_app, http_client, remote_jwks
from common.db import Database
from common.mail import mailer_from_settings
from services.funding.committee import decisions_routes, delegated_routes, sessions_routes
from services.funding.cpo import routes as cpo_routes
from services.funding.dossiers import routes as dossiers_routes
from services.funding.dossiers import support_routes
from services.funding.envelopes import routes as envelopes_routes
from services.funding.events import routes as events_routes
from services.funding.events.outbox import install_outbox
from services.funding.exports import routes as exports_routes
from services.funding.financial_reports import routes as financial_reports_routes
from services.funding.grants import agreements_routes, payments_routes
from services.funding.grants import routes as grants_routes
from services.funding.instruction import admissibility_routes, opinions_routes, routing_routes
from services.funding.integrity import routes as integrity_routes
from services.funding.models import idempotency_keys
from services.funding.notifications import routes as notifications_routes
from services.funding.peers import Peers
from services.funding.programmes import routes as programmes_routes
from services.funding.seed_fund import routes as seed_fund_routes
from services.funding.settings import FundingSettings
from services.funding.stats import routes as stats_routes
from services.funding.webhooks import routes as webhooks_routes

TAGS = [
    {"name": "programmes", "description": "Programmes : appels, fonds d'amorçage, petits projets, CPO."},
    {"name": "dossiers", "description": "Dossiers uniques et plans de cofinancement."},
    {"name": "envelopes", "description": "Enveloppes des financeurs par programme et année, et leur registre."},
    {"name": "sessions", "description": "Comité des financeurs : séances, ordre du jour, déports, décisions, PV."},
    {"name": "cpo", "description": "CPO : versions et avenants, revues annuelles, évaluation finale, renouvellement."},
    {"name": "agreements", "description": "Conventions et décisions d'attribution, une par subvention."},
    {"name": "payments", "description": "Versements : l'échéancier de chaque subvention."},
    {"name": "financial-reports", "description": "Comptes rendus financiers (CERFA 15059) dus par chaque subvention."},
    {"name": "notifications", "description": "Réponses du comité aux porteurs, et leur envoi par courriel."},
    {"name": "events", "description": "Le flux des événements : ce qui a changé depuis un curseur."},
    {"name": "webhooks", "description": "Points de réception des événements : livraisons signées, journal, rejeu."},
    {"name": "exports", "description": "Données ouvertes : les subventions au format SCDL 2.1.1."},
    {"name": "stats", "description": "Les chiffres d'un financeur pour son tableau de bord."},
    {"name": "operations", "description": "Santé, disponibilité, métriques."},
]


def create_app(
    settings: FundingSettings | None = None, *, transport: httpx.AsyncBaseTransport | None = None
) -> FastAPI:
    settings = settings or FundingSettings()
    http = http_client(settings, transport)
    app = create_service_app(
        service="funding",
        title="Guichet unique — funding",
        description="Programmes, dossiers uniques, plans de cofinancement.",
        settings=settings,
        database=install_outbox(
            Database(
                settings.database_url, schema=settings.db_schema, pooled=settings.database_pool,
                pool_size=settings.database_pool_size, max_overflow=settings.database_max_overflow,
                pool_timeout=settings.database_pool_timeout_seconds,
                connect_timeout=settings.database_connect_timeout_seconds,
            )
        ),
        idempotency_table=idempotency_keys,
        routers=[
            programmes_routes.router, dossiers_routes.router, admissibility_routes.router, envelopes_routes.router,
            routing_routes.router, opinions_routes.router, sessions_routes.router, notifications_routes.router,
            agreements_routes.router, payments_routes.router, financial_reports_routes.router,
            delegated_routes.router, support_routes.router, grants_routes.router, seed_fund_routes.router,
            cpo_routes.router, events_routes.router, webhooks_routes.router, exports_routes.router,
            stats_routes.router, decisions_routes.router, integrity_routes.router,
        ],
        http=http,
        key_source=remote_jwks(http, settings),
        openapi_tags=TAGS,
    )
    app.state.peers = Peers(settings, http)
    app.state.mailer = mailer_from_settings(settings)
    return app
