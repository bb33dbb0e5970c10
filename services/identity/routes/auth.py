"""Tokens: OAuth2-style grants, refresh rotation, logout."""

import json
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, BackgroundTasks, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import TypeAdapter, ValidationError

from common.clock import ClockDep
from common.db import SessionDep
from common.problems import BadRequest, Problem, Text, problem_response, problem_responses, request_language
from services.identity import credentials, mails, sign_in
from services.identity.deps import (
    AddressDep,
    DatabaseDep,
    GateDep,
    GatedPasswordsDep,
    IssuerDep,
    MailerDep,
    PasswordsDep,
    SettingsDep,
)
from services.identity.models import LoginFailure
from services.identity.schemas import (
    PasswordGrant,
    PasswordResetConfirm,
    PasswordResetRequest,
    PasswordResetRequested,
    RefreshRequest,
    TokenRequest,
    TokenResponse,
)

RESET_REQUESTED = Text(
    "Si cette adresse a un compte, un lien pour choisir un nouveau mot de passe vient d'y être envoyé.",
    "If this address has an account, a link to choose a new password was just sent to it.",
)

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
    # The JSON body only: the same `oneOf` declared for the form too made openapi-python-client emit a module that
    # does not import (openapi-generators/openapi-python-client#1451); the form is said in the description.
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": _GRANT_SCHEMA}}}},
)
async def issue_token(
    request: Request, session: SessionDep, passwords: PasswordsDep, issuer: IssuerDep, database: DatabaseDep,
    gate: GateDep, address: AddressDep,
) -> Response | TokenResponse:
    """`grant_type=password` for people (returns a refresh token too), `client_credentials` for machines.

    OAuth2 clients may send the same fields as a form (`application/x-www-form-urlencoded`, RFC 6749)."""
    try:
        grant = _token_request.validate_python(await _grant_payload(request))
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        ) from exc
    if isinstance(grant, PasswordGrant):
        tokens = await sign_in.password_grant(
            session, database=database, grant=grant, passwords=passwords, issuer=issuer, gate=gate, ip=address
        )
        if tokens is None:
            # Answer without raising, so that the session commits the recorded failure.
            session.add(LoginFailure(email=grant.username.lower(), ip=address))
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
    tokens = await sign_in.refresh(session, token=body.refresh_token, issuer=issuer)
    if tokens is None:  # reused
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
    """Public: the refresh token is the proof. It and every token of its family are revoked; an unknown or
    already revoked one is answered the same (204), so that logging out twice is harmless."""
    await sign_in.logout(session, token=body.refresh_token)
    return Response(status_code=204)


@router.post(
    "/password-reset",
    summary="Mot de passe oublié : un lien à usage unique part à l'adresse, si elle a un compte",
    status_code=202,
    response_model=PasswordResetRequested,
    responses=problem_responses(400, 413, 422),
    openapi_extra={"security": [{}]},
)
async def request_password_reset(
    body: PasswordResetRequest, request: Request, session: SessionDep, clock: ClockDep, settings: SettingsDep,
    mailer: MailerDep, background: BackgroundTasks,
) -> PasswordResetRequested:
    """The same answer whether the address has an account or not. The link works once, for
    IDENTITY_PASSWORD_RESET_TTL_SECONDS (30 min by default); a newer one makes the older useless; one mail a minute
    at most per address."""
    issued = await credentials.request_reset(
        session, email=body.email.lower(), now=clock.now(), ttl_seconds=settings.password_reset_ttl_seconds
    )
    if issued is not None:
        reset, token = issued
        mail = mails.password_reset(to=body.email.lower(), token=token, expires_at=reset.expires_at,
                                    links_base_url=settings.links_base_url)
        background.add_task(mails.send, mailer, settings.mail_from, mail)
    return PasswordResetRequested(detail=RESET_REQUESTED.pick(request_language(request)))


@router.post(
    "/password-reset/confirm",
    summary="Choisir un nouveau mot de passe avec le jeton reçu par mail (ferme toutes les sessions)",
    status_code=204,
    responses=problem_responses(400, 404, 410, 413, 422),
    openapi_extra={"security": [{}]},
)
async def confirm_password_reset(
    body: PasswordResetConfirm, session: SessionDep, database: DatabaseDep, passwords: GatedPasswordsDep,
    clock: ClockDep,
) -> Response:
    """Every refresh token of the person dies; access tokens already issued work until they expire (10 min at
    most). 404 `token_unknown` (never issued, used, or replaced by a newer one), 410 `token_expired`."""
    await credentials.confirm_reset(
        session, database=database, token=body.token, new_password=body.new_password, passwords=passwords,
        now=clock.now(),
    )
    return Response(status_code=204)
