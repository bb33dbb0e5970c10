"""The funding service: programmes, dossiers and their co-funding plans."""

import httpx
from fastapi import FastAPI

from common.app import create_service_app, http_client, remote_jwks
from common.db import Database
from common.mail import mailer_from_settings
from services.funding.committee import (
    decisions_routes as decisions,
)
from services.funding.committee import (
    delegated_routes as delegated,
)
from services.funding.committee import (
    sessions_routes as sessions,
)
from services.funding.cpo import routes as cpo
from services.funding.dossiers import routes as dossiers
from services.funding.dossiers import support_routes as support
from services.funding.envelopes import routes as envelopes
from services.funding.events import routes as events
from services.funding.events.outbox import install_outbox
from services.funding.exports import routes as exports
from services.funding.financial_reports import routes as financial_reports
from services.funding.grants import agreements_routes as agreements
from services.funding.grants import payments_routes as payments
from services.funding.grants import routes as grants
from services.funding.instruction import (
    admissibility_routes as admissibility,
)
from services.funding.instruction import (
    opinions_routes as opinions,
)
from services.funding.instruction import (
    routing_routes as routing,
)
from services.funding.models import idempotency_keys
from services.funding.notifications import routes as notifications
from services.funding.peers import Peers
from services.funding.programmes import routes as programmes
from services.funding.seed_fund import routes as learning_reviews
from services.funding.settings import FundingSettings
from services.funding.stats import routes as stats
from services.funding.webhooks import routes as webhooks

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
            Database(settings.database_url, schema=settings.db_schema, pooled=settings.database_pool)
        ),
        idempotency_table=idempotency_keys,
        routers=[
            programmes.router, dossiers.router, admissibility.router, envelopes.router, routing.router,
            opinions.router, sessions.router, notifications.router, agreements.router, payments.router,
            financial_reports.router, delegated.router, support.router, grants.router, learning_reviews.router,
            cpo.router, events.router, webhooks.router, exports.router, stats.router, decisions.router,
        ],
        http=http,
        key_source=remote_jwks(http, settings),
        openapi_tags=TAGS,
    )
    app.state.peers = Peers(settings, http)
    app.state.mailer = mailer_from_settings(settings)
    return app
