"""RFC 9457 problem details: domain errors carry their status, one handler renders them."""

import logging
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse
from starlette.routing import Match

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://funding-desk.example/problems/"

log = logging.getLogger("problems")


@dataclass(frozen=True)
class Text:
    """A human-facing message: French by default, English on request."""

    fr: str
    en: str

    def format(self, **values: Any) -> "Text":
        return Text(self.fr.format(**values), self.en.format(**values))

    def pick(self, lang: str) -> str:
        return self.en if lang == "en" else self.fr


class FieldError(BaseModel):
    field: str = Field(examples=["body.amount_cents"])
    message: str = Field(examples=["Doit être supérieur ou égal à 0."])


class ProblemDetail(BaseModel):
    """The body of every error response."""

    type: str = Field(examples=[PROBLEM_TYPE_BASE + "not_found"])
    title: str = Field(examples=["Ressource introuvable"])
    status: int = Field(examples=[404])
    detail: str | None = Field(default=None, examples=["Aucune ressource ne correspond à cet identifiant."])
    instance: str | None = Field(default=None, examples=["/api/v1/dossiers/3f1c..."])
    code: str = Field(examples=["not_found"])
    errors: list[FieldError] | None = None
    request_id: str | None = None

    model_config = {"extra": "allow"}


class Problem(Exception):
    """Base of every error a service raises on purpose."""

    status: int = 400
    code: str = "bad_request"
    title: Text = Text("Requête invalide", "Bad request")

    def __init__(
        self,
        detail: Text | None = None,
        *,
        errors: list[tuple[str, Text]] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
        status: int | None = None,
        code: str | None = None,
        title: Text | None = None,
    ):
        super().__init__(code or self.code)
        self.detail = detail
        self.errors = errors or []
        self.headers = headers or {}
        self.extra = extra or {}
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code
        if title is not None:
            self.title = title


class BadRequest(Problem):
    status, code, title = 400, "bad_request", Text("Requête invalide", "Bad request")


class Unauthorized(Problem):
    status, code, title = 401, "unauthorized", Text("Authentification requise", "Authentication required")

    def __init__(self, detail: Text | None = None, **kwargs: Any):
        kwargs.setdefault("headers", {"WWW-Authenticate": 'Bearer error="invalid_token"'})
        super().__init__(detail, **kwargs)


class Forbidden(Problem):
    status, code, title = 403, "forbidden", Text("Action non autorisée", "Forbidden")


class NotFound(Problem):
    status, code, title = 404, "not_found", Text("Ressource introuvable", "Resource not found")


class Conflict(Problem):
    status, code, title = 409, "conflict", Text("Conflit", "Conflict")


class PreconditionFailed(Problem):
    status, code, title = (
        412,
        "precondition_failed",
        Text("La ressource a changé depuis votre lecture", "The resource changed since you read it"),
    )


class PayloadTooLarge(Problem):
    status, code, title = 413, "payload_too_large", Text("Requête trop volumineuse", "Payload too large")


class UnprocessableContent(Problem):
    status, code, title = 422, "validation_failed", Text("Données invalides", "Invalid data")


class PreconditionRequired(Problem):
    status, code, title = (
        428,
        "precondition_required",
        Text("En-tête If-Match requis", "If-Match header required"),
    )


class TooManyRequests(Problem):
    status, code, title = 429, "too_many_requests", Text("Trop de tentatives", "Too many requests")


class BadGateway(Problem):
    status, code, title = 502, "upstream_unavailable", Text("Service amont indisponible", "Upstream unavailable")


class ServiceUnavailable(Problem):
    """A dependency is away for now (identity's keys, the database): the client may try again after
    `Retry-After` seconds, with the same request; nothing it sent was refused."""

    status, code, title = 503, "service_unavailable", Text("Service momentanément indisponible",
                                                           "Service temporarily unavailable")

    def __init__(self, detail: Text | None = None, *, retry_after: int, **kwargs: Any):
        kwargs["headers"] = {"Retry-After": str(max(1, retry_after)), **kwargs.get("headers", {})}
        super().__init__(detail, **kwargs)


class UpstreamUnavailable(ServiceUnavailable):
    """Another service of the desk cannot be reached (down, restarting, refusing connections): the request never
    got there, or the connection broke; the same request may be sent again after `Retry-After`."""

    code = "upstream_unavailable"
    title = Text("Service amont indisponible", "Upstream unavailable")


class GatewayTimeout(Problem):
    """Another service had the request and said nothing in time: a write may still have happened there, so a
    retry should carry the same Idempotency-Key."""

    status, code, title = 504, "upstream_timeout", Text("Service amont trop lent", "Upstream timeout")

    def __init__(self, detail: Text | None = None, *, retry_after: int, **kwargs: Any):
        kwargs["headers"] = {"Retry-After": str(max(1, retry_after)), **kwargs.get("headers", {})}
        super().__init__(detail, **kwargs)


def request_language(request: Request) -> str:
    """First language of Accept-Language that we speak; French otherwise."""
    header = request.headers.get("accept-language", "")
    for part in header.split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("en"):
            return "en"
        if tag.startswith("fr"):
            return "fr"
    return "fr"


def problem_body(
    *, status: int, code: str, title: str, detail: str | None, instance: str | None,
    request_id: str | None = None, errors: list[dict[str, str]] | None = None, extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + code,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
        "code": code,
    }
    if errors:
        body["errors"] = errors
    if request_id:
        body["request_id"] = request_id
    if extra:
        body.update(extra)
    return body


def problem_response(request: Request, problem: Problem) -> JSONResponse:
    lang = request_language(request)
    body = problem_body(
        status=problem.status,
        code=problem.code,
        title=problem.title.pick(lang),
        detail=problem.detail.pick(lang) if problem.detail else None,
        instance=request.url.path,
        request_id=request.headers.get("x-request-id"),
        errors=[{"field": f, "message": m.pick(lang)} for f, m in problem.errors],
        extra=problem.extra,
    )
    return JSONResponse(body, status_code=problem.status, headers=problem.headers, media_type=PROBLEM_MEDIA_TYPE)


# French wording for the pydantic error types a client meets most; pydantic's English otherwise.
_VALIDATION_FR = {
    "missing": "Champ obligatoire.",
    "extra_forbidden": "Champ non autorisé.",
    "int_type": "Doit être un nombre entier.",
    "int_parsing": "Doit être un nombre entier.",
    "int_from_float": "Doit être un nombre entier.",
    "string_type": "Doit être une chaîne de caractères.",
    "bool_type": "Doit être un booléen.",
    "bool_parsing": "Doit être un booléen.",
    "uuid_parsing": "Doit être un UUID.",
    "uuid_type": "Doit être un UUID.",
    "date_parsing": "Doit être une date ISO (AAAA-MM-JJ).",
    "date_from_datetime_parsing": "Doit être une date ISO (AAAA-MM-JJ).",
    "datetime_parsing": "Doit être un horodatage RFC 3339.",
    "datetime_from_date_parsing": "Doit être un horodatage RFC 3339.",
    "list_type": "Doit être une liste.",
    "dict_type": "Doit être un objet.",
    "model_type": "Doit être un objet.",
    "enum": "Valeur non reconnue.",
    "literal_error": "Valeur non reconnue.",
    "value_error": "Valeur invalide.",
    "string_pattern_mismatch": "Format invalide.",
    "json_invalid": "JSON mal formé.",
}
_LIMIT_FR = {
    "greater_than_equal": "Doit être supérieur ou égal à {ge}.",
    "greater_than": "Doit être strictement supérieur à {gt}.",
    "less_than_equal": "Doit être inférieur ou égal à {le}.",
    "less_than": "Doit être strictement inférieur à {lt}.",
    "string_too_short": "Doit contenir au moins {min_length} caractère(s).",
    "string_too_long": "Doit contenir au plus {max_length} caractère(s).",
    "too_short": "Doit contenir au moins {min_length} élément(s).",
    "too_long": "Doit contenir au plus {max_length} élément(s).",
}


def _field_name(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc)


def _validation_text(error: dict[str, Any]) -> Text:
    kind = error.get("type", "")
    english = str(error.get("msg", "Invalid value"))
    if kind in _LIMIT_FR:
        try:
            return Text(_LIMIT_FR[kind].format(**(error.get("ctx") or {})), english)
        except (KeyError, IndexError):
            pass
    if kind == "value_error":
        # Our own validators raise bilingual messages "fr | en".
        message = english.removeprefix("Value error, ")
        if " | " in message:
            fr, en = message.split(" | ", 1)
            return Text(fr, en)
    return Text(_VALIDATION_FR.get(kind, english), english)


def bilingual(fr: str, en: str) -> str:
    """A message for a pydantic ValueError that the validation handler splits back into two languages."""
    return f"{fr} | {en}"


def validation_problem(exc: RequestValidationError) -> Problem:
    # One error per field and fault: a body that a dependency reads before the lock (common.resources.
    # validated_body) is validated there and again for the route, which would list each fault twice.
    errors = list({(tuple(e.get("loc", ())), e.get("type"), e.get("msg")): e for e in exc.errors()}.values())
    if any(e.get("type") == "json_invalid" for e in errors):
        return BadRequest(
            Text("Le corps de la requête n'est pas un JSON valide.", "The request body is not valid JSON."),
            code="malformed_json",
        )
    return UnprocessableContent(
        Text("Certains champs sont invalides.", "Some fields are invalid."),
        errors=[(_field_name(tuple(e.get("loc", ()))), _validation_text(e)) for e in errors],
    )


_STATUS_CODES = {
    400: ("bad_request", BadRequest.title),
    401: ("unauthorized", Unauthorized.title),
    403: ("forbidden", Forbidden.title),
    404: ("not_found", NotFound.title),
    405: ("method_not_allowed", Text("Méthode non autorisée", "Method not allowed")),
    406: ("not_acceptable", Text("Format de réponse non disponible", "Not acceptable")),
    409: ("conflict", Conflict.title),
    413: ("payload_too_large", PayloadTooLarge.title),
    415: ("unsupported_media_type", Text("Type de contenu non pris en charge", "Unsupported media type")),
}


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> list[str]:
    """Every method the request's path answers: Starlette's 405 names only those of the first route that
    matches the path (GET of `/projects/{id}` but not its PATCH), and RFC 9110 asks for all of them. Each method
    is asked of the router's own matching (FastAPI nests the included routers, whose routes are not listed at the
    top), so the answer is what a request with that method would really reach."""
    routes = request.app.router.routes
    return sorted(
        method for method in _METHODS
        if any(route.matches({**request.scope, "method": method})[0] == Match.FULL for route in routes)
    )


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return problem_response(request, validation_problem(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code, title = _STATUS_CODES.get(exc.status_code, ("http_error", Text("Erreur", "Error")))
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(request))
        problem = Problem(None, status=exc.status_code, code=code, title=title, headers=headers)
        return problem_response(request, problem)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # A 500 is a bug: log it with its trace, never send the trace. Starlette runs this handler outermost,
        # after the request-context layer has unwound and reset its request id (the log line said null): the
        # id is taken again from the request's headers, where that layer wrote it, for the line and the answer.
        request_id = request.headers.get("x-request-id")
        log.exception(
            "unhandled error on %s %s", request.method, request.url.path,
            extra={"fields": {"request_id": request_id} if request_id else {}},
        )
        problem = Problem(
            None, status=500, code="internal_error", title=Text("Erreur interne", "Internal error"),
            headers={"X-Request-ID": request_id} if request_id else None,
        )
        return problem_response(request, problem)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI declaration of the problem responses a route may answer. A route that asks another service (its 502)
    may also find it too slow (504); 503 is every operation's (common.openapi)."""
    if 502 in statuses and 504 not in statuses:
        statuses = (*statuses, 504)
    described = {
        400: "Requête mal formée",
        401: "Jeton absent ou invalide",
        403: "Rôle insuffisant",
        404: "Introuvable (ou invisible pour vous)",
        409: "Conflit d'état",
        412: "If-Match périmé",
        413: "Requête trop volumineuse",
        422: "Données invalides",
        428: "If-Match requis",
        429: "Trop de tentatives",
        502: "Service amont en erreur (réponse inattendue)",
        503: "Dépendance momentanément indisponible (réessayer après Retry-After)",
        504: "Service amont trop lent",
    }
    declared: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        declared[status] = {
            "description": described.get(status, "Erreur"),
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/ProblemDetail"}}},
        }
        if status in (503, 504):  # ServiceUnavailable and GatewayTimeout always say when to try again
            declared[status]["headers"] = {"Retry-After": {
                "description": "Secondes à attendre avant de réessayer.", "required": True,
                "schema": {"type": "integer", "minimum": 1},
            }}
    return declared
