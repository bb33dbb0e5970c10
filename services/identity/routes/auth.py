"""Tokens: OAuth2-style grants, refresh rotation, logout."""

import json
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import TypeAdapter, ValidationError

from common.db import SessionDep
from common.problems import BadRequest, Problem, Text, problem_response, problem_responses
from services.identity import sign_in
from services.identity.deps import IssuerDep, PasswordsDep
from services.identity.models import LoginFailure
from services.identity.schemas import PasswordGrant, RefreshRequest, TokenRequest, TokenResponse

router = APIRouter(prefix="/auth", tags=["auth"])
_token_request = TypeAdapter(TokenRequest)

_GRANT_SCHEMA = {
    "oneOf": [
        {"$ref": "#/components/schemas/PasswordGrant"},
        {"$ref": "#/components/schemas/ClientCredentialsGrant"},
    ],
    "discriminator": {
        "propertyName": "grant_type",
        "mapping": {
            "password": "#/components/schemas/PasswordGrant",
            "client_credentials": "#/components/schemas/ClientCredentialsGrant",
        },
    },
}


async def _grant_payload(request: Request) -> Any:
    """OAuth2 clients send a form; API clients often send JSON: both are read the same way."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await request.body()
    if media_type == "application/x-www-form-urlencoded":
        try:
            return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False))
        except UnicodeDecodeError as exc:
            raise BadRequest(Text("Formulaire illisible.", "Unreadable form."), code="malformed_form") from exc
    if media_type == "application/json":
        try:
            return json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise BadRequest(
                Text("Le corps de la requête n'est pas un JSON valide.", "The request body is not valid JSON."),
                code="malformed_json",
            ) from exc
    raise Problem(
        Text("Envoyez un formulaire ou du JSON.", "Send a form or JSON."),
        status=415,
        code="unsupported_media_type",
        title=Text("Type de contenu non pris en charge", "Unsupported media type"),
    )


@router.post(
    "/token",
    summary="Obtenir un jeton d'accès (mot de passe ou client machine)",
    response_model=TokenResponse,
    responses=problem_responses(400, 401, 413, 415, 422, 429),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": _GRANT_SCHEMA},
                "application/x-www-form-urlencoded": {"schema": _GRANT_SCHEMA},
            },
        }
    },
)
async def issue_token(
    request: Request, session: SessionDep, passwords: PasswordsDep, issuer: IssuerDep
) -> Response | TokenResponse:
    """`grant_type=password` for people (returns a refresh token too), `client_credentials` for machines."""
    try:
        grant = _token_request.validate_python(await _grant_payload(request))
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        ) from exc
    if isinstance(grant, PasswordGrant):
        tokens, failed = await sign_in.password_grant(session, grant=grant, passwords=passwords, issuer=issuer)
        if failed:
            # Answer without raising, so that the session commits the recorded failure.
            session.add(LoginFailure(email=grant.username.lower()))
            return problem_response(
                request, sign_in.InvalidGrant(Text("E-mail ou mot de passe incorrect.", "Wrong email or password."))
            )
        return tokens
    return await sign_in.client_credentials_grant(session, grant=grant, issuer=issuer)


@router.post(
    "/refresh",
    summary="Échanger un jeton de rafraîchissement (rotation)",
    response_model=TokenResponse,
    responses=problem_responses(400, 413, 422),
)
async def refresh_token(
    request: Request, body: RefreshRequest, session: SessionDep, issuer: IssuerDep
) -> Response | TokenResponse:
    """Each refresh token works once; presenting a used one revokes every token of its family."""
    tokens, reused = await sign_in.refresh(session, token=body.refresh_token, issuer=issuer)
    if reused:
        return problem_response(
            request,
            sign_in.InvalidGrant(
                Text(
                    "Jeton déjà utilisé : toute la session est révoquée par sécurité.",
                    "Token already used: the whole session is revoked for safety.",
                ),
                code="refresh_token_reused",
            ),
        )
    return tokens


@router.post(
    "/logout",
    summary="Se déconnecter (révoque la famille du jeton de rafraîchissement)",
    status_code=204,
    responses=problem_responses(400, 413, 422),
)
async def logout(body: RefreshRequest, session: SessionDep) -> Response:
    await sign_in.logout(session, token=body.refresh_token)
    return Response(status_code=204)
