"""Small helpers shared by identity's tests: direct row counts, logins, token claims."""

import uuid
from collections.abc import Iterable
from typing import Any

import httpx
from jose import jwt
from sqlalchemy import ColumnElement, func, select, update

from scripts import demo_data
from tests.support.stack import SERVICE_SECRET, Api, Stack
from tests.support.world import World, org_id

TOKEN_URL = "/api/v1/auth/token"
REFRESH_URL = "/api/v1/auth/refresh"
LOGOUT_URL = "/api/v1/auth/logout"
SIGNUP_URL = "/api/v1/organisations/signup"
SERVICE_CLIENT_ID = "svc-funding"
SERVICE_CLIENT_SECRET = SERVICE_SECRET


def count_rows(stack: Stack, model: Any, *where: ColumnElement[bool]) -> int:
    """Rows of an identity table, read straight from the database (not through the API)."""

    async def run() -> int:
        async with stack.apps["identity"].state.db.reader() as session:
            statement = select(func.count()).select_from(model)
            for clause in where:
                statement = statement.where(clause)
            return int((await session.execute(statement)).scalar_one())

    return stack.run(run)


def fetch_rows(stack: Stack, model: Any, *where: ColumnElement[bool]) -> list[Any]:
    async def run() -> list[Any]:
        async with stack.apps["identity"].state.db.reader() as session:
            statement = select(model)
            for clause in where:
                statement = statement.where(clause)
            if hasattr(model, "created_at") and hasattr(model, "id"):
                statement = statement.order_by(model.created_at, model.id)  # PostgreSQL promises no order otherwise
            return list((await session.execute(statement)).scalars())

    return stack.run(run)


def update_rows(stack: Stack, model: Any, where: Iterable[ColumnElement[bool]], **values: Any) -> int:
    """Change rows behind the API's back (to age a token or a client, say); returns how many changed."""

    async def run() -> int:
        async with stack.apps["identity"].state.db.writer() as session:
            statement = update(model).values(**values)
            for clause in where:
                statement = statement.where(clause)
            result = await session.execute(statement)
            await session.commit()
            return int(result.rowcount)

    return stack.run(run)


def insert_rows(stack: Stack, rows: list[Any]) -> None:
    async def run() -> None:
        async with stack.apps["identity"].state.db.writer() as session:
            session.add_all(rows)
            await session.commit()

    stack.run(run)


def password_login(api: Api, email: str, password: str = demo_data.DEMO_PASSWORD, **extra: Any) -> httpx.Response:
    """POST /auth/token with a JSON password grant, without any bearer token."""
    return api.post(
        TOKEN_URL, token="", json={"grant_type": "password", "username": email, "password": password, **extra}
    )


def form_post(api: Api, url: str, fields: dict[str, str]) -> httpx.Response:
    """An application/x-www-form-urlencoded POST, as OAuth2 clients send it."""
    return api.post(url, token="", data=fields)


def client_credentials(api: Api, client_id: str, secret: str, scope: str | None = None) -> httpx.Response:
    body = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    if scope is not None:
        body["scope"] = scope
    return api.post(TOKEN_URL, token="", json=body)


def claims(token: str) -> dict[str, Any]:
    """The claims of a JWT, unverified (verification is tested on its own)."""
    return jwt.get_unverified_claims(token)


def person_id(email: str) -> str:
    return str(next(user.id for user in demo_data.USERS if user.email == email))


def demo_org(key: str) -> str:
    return org_id(key)


def signup_body(
    *,
    siret: str | None = "73282932000074",
    rna: str | None = None,
    email: str = "presidente@nouvelle.example",
    name: str = "Association Nouvelle Vague",
    password: str = "un-mot-de-passe-solide",
) -> dict[str, Any]:
    organisation: dict[str, Any] = {"name": name}
    if siret is not None:
        organisation["siret"] = siret
    if rna is not None:
        organisation["rna"] = rna
    return {
        "organisation": organisation,
        "admin": {"email": email, "full_name": "Awa Nouvelle", "password": password},
    }


SIGNUP_VERIFY_URL = "/api/v1/organisations/signup/verify"


def signed_up(world: World, body: dict[str, Any], *, token: str | None = None) -> dict[str, Any]:
    """A sign-up carried through: asked (202), its mail read, its link opened (201); the verified answer."""
    api = world.stack.api("identity")
    asked = api.post(SIGNUP_URL, json=body)
    assert asked.status_code == 202, asked.text
    sign_up_token = world.stack.identity_mail.token(body["admin"]["email"], "sgn_")
    verified = api.post(SIGNUP_VERIFY_URL, json={"token": sign_up_token}, token=token or "")
    assert verified.status_code == 201, verified.text
    return verified.json()


ACCEPT_URL = "/api/v1/invitations/accept"
NEW_PASSWORD = "un-mot-de-passe-solide"


def invitations_url(organisation_id: str) -> str:
    return f"/api/v1/organisations/{organisation_id}/invitations"


def members_url(organisation_id: str) -> str:
    return f"/api/v1/organisations/{organisation_id}/members"


def invite(world: World, admin: str, organisation_id: str, email: str, roles: list[str]) -> tuple[dict[str, Any], str]:
    """An invitation sent by that admin; its body and the token its mail carries."""
    response = world.as_("identity", admin).post(
        invitations_url(organisation_id), json={"email": email, "roles": roles}
    )
    assert response.status_code == 201, response.text
    return response.json(), world.stack.identity_mail.token(email, "inv_")


def joined(world: World, admin: str, organisation_id: str, email: str, roles: list[str]) -> dict[str, Any]:
    """A new person invited, who accepts with a name and a password: the acceptance's answer."""
    _invitation, token = invite(world, admin, organisation_id, email, roles)
    accepted = world.stack.api("identity").post(
        ACCEPT_URL, token="", json={"token": token, "full_name": "Nouveau Membre", "password": NEW_PASSWORD}
    )
    assert accepted.status_code == 201, accepted.text
    return accepted.json()


def create_client(world: World, email: str, scopes: list[str], **extra: Any) -> dict[str, Any]:
    response = world.as_("identity", email).post(
        "/api/v1/clients", json={"name": "Logiciel partenaire", "scopes": scopes, **extra}
    )
    assert response.status_code == 201, response.text
    return response.json()


def new_uuid() -> str:
    return str(uuid.uuid4())
