"""The identity service: organisations, people, memberships, machine clients, tokens and keys."""

from typing import Any

import httpx
from fastapi import FastAPI

from common.app import create_service_app, http_client
from common.client_address import networks_of
from common.db import Database
from common.mail import mailer_from_settings
from common.tokens import JwksKeySource
from services.identity.accounts import SignupMailGate
from services.identity.keys import KeyStore
from services.identity.models import idempotency_keys
from services.identity.passwords import Passwords
from services.identity.routes import audit, auth, clients, invitations, jwks, me, members, organisations, profiles
from services.identity.schemas import ClientCredentialsGrant, PasswordGrant
from services.identity.settings import IdentitySettings
from services.identity.sign_in import TokenIssuer
from services.identity.throttle import AddressGate

TAGS = [
    {"name": "auth", "description": "Jetons d'accès et de rafraîchissement."},
    {"name": "organisations", "description": "Associations, financeurs, guichet, conseils citoyens et leurs membres."},
    {"name": "members", "description": "Les membres d'une organisation, leurs rôles, leur départ."},
    {"name": "invitations", "description": "Inviter une personne : rien n'est rattaché avant qu'elle accepte."},
    {"name": "me", "description": "La personne connectée."},
    {"name": "clients", "description": "Clients machine (systèmes partenaires)."},
    {"name": "keys", "description": "Clés publiques de signature."},
    {"name": "operations", "description": "Santé, disponibilité, métriques."},
]


def create_app(
    settings: IdentitySettings | None = None, *, transport: httpx.AsyncBaseTransport | None = None
) -> FastAPI:
    settings = settings or IdentitySettings()
    keys = KeyStore.from_settings(settings)

    async def own_jwks() -> dict[str, Any]:
        return keys.jwks()

    app = create_service_app(
        service="identity",
        title="Guichet unique — identity",
        description="Organisations, personnes, rôles, clients machine ; émet les jetons et publie ses clés.",
        settings=settings,
        database=Database(
            settings.database_url, schema=settings.db_schema, pooled=settings.database_pool,
            pool_size=settings.database_pool_size, max_overflow=settings.database_max_overflow,
            pool_timeout=settings.database_pool_timeout_seconds,
            connect_timeout=settings.database_connect_timeout_seconds,
        ),
        idempotency_table=idempotency_keys,
        routers=[
            auth.router, organisations.router, members.router, invitations.router, profiles.router, me.router,
            clients.router, audit.router,
        ],
        root_routers=[jwks.router],
        http=http_client(settings, transport),
        key_source=JwksKeySource(own_jwks),
        openapi_tags=TAGS,
        extra_schemas=[PasswordGrant, ClientCredentialsGrant],
    )
    app.state.keys = keys
    app.state.passwords = Passwords(settings)
    app.state.issuer = TokenIssuer(settings, keys)
    app.state.mailer = mailer_from_settings(settings)
    app.state.login_gate = AddressGate(settings.login_concurrent_per_ip)
    app.state.signup_mail_gate = SignupMailGate()
    app.state.trusted_proxies = networks_of(settings.trusted_proxies)
    return app
