"""One OpenAPI document for the whole desk, merged from the services' documents and the gateway's own."""

import copy
import json
from typing import Any

from common.openapi import document_security, document_unavailable
from gateway.upstreams import upstream_for

OPERATIONS_PATHS = {"/healthz", "/readyz", "/metrics"}
# Relative, so that Swagger UI's "Try it out" calls the gateway that served the page, wherever it runs.
SERVER_URL = "/"
SERVER_DESCRIPTION = "La passerelle qui sert ce document (http://127.0.0.1:8000 avec `make run`)."
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
# The gateway's rate limits (gateway/ratelimit.py) answer every operation; the headers are declared once.
RATE_LIMIT_HEADERS: dict[str, Any] = {
    "RetryAfter": {
        "description": "Secondes à attendre avant de réessayer.",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
        "example": 42,
    },
    "RateLimit": {
        "description": (
            "Où en est l'appelant (draft-ietf-httpapi-ratelimit-headers) : la politique, `r` requêtes restantes, "
            "`t` secondes avant qu'une place se libère."
        ),
        "schema": {"type": "string"},
        "example": '"caller";r=0;t=42',
    },
    "RateLimitPolicy": {
        "description": (
            "La politique appliquée : `q` requêtes par fenêtre glissante de `w` secondes ; `caller` (par jeton), "
            "`anonymous` (par adresse, sans jeton), `auth` (par adresse : connexions, inscriptions, "
            "réinitialisations, invitations)."
        ),
        "schema": {"type": "string"},
        "example": '"caller";q=600;w=60',
    },
}
RATE_LIMIT_RESPONSE_HEADERS = {
    "Retry-After": {"$ref": "#/components/headers/RetryAfter"},
    "RateLimit": {"$ref": "#/components/headers/RateLimit"},
    "RateLimit-Policy": {"$ref": "#/components/headers/RateLimitPolicy"},
}


def _document_rate_limits(paths: dict[str, Any]) -> None:
    """Every operation may get the gateway's 429; a service's own 429 (identity's login throttle) keeps its
    description and gains the headers."""
    for item in paths.values():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            responses = operation.setdefault("responses", {})
            response = responses.setdefault("429", {
                "description": "Trop de requêtes (limites de la passerelle)",
                "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/ProblemDetail"}}},
            })
            response["headers"] = {**response.get("headers", {}), **RATE_LIMIT_RESPONSE_HEADERS}


# What the pass-through itself may answer for any service's operation (gateway/proxy.py), on top of the service's own.
UPSTREAM_RESPONSES: dict[str, Any] = {
    "UpstreamTimeout": {
        "description": (
            "Le service a reçu la requête sans répondre à temps (`upstream_timeout`) : une écriture a pu avoir "
            "lieu ; réessayer après `Retry-After` avec la même `Idempotency-Key`."
        ),
        "headers": {"Retry-After": {"$ref": "#/components/headers/RetryAfter"}},
        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/ProblemDetail"}}},
    },
}


def _document_pass_through(item: dict[str, Any]) -> dict[str, Any]:
    """A proxied path's operations may also get the gateway's 504 (its 503 is every operation's); a service's own
    504 keeps its description."""
    item = copy.deepcopy(item)
    for method, operation in item.items():
        if method in HTTP_METHODS:
            responses = operation.setdefault("responses", {})
            responses.setdefault("504", {"$ref": "#/components/responses/UpstreamTimeout"})
    return item


def _rename_refs(node: Any, renames: dict[str, str]) -> Any:
    if isinstance(node, dict):
        return {
            key: (
                "#/components/schemas/" + renames[value.rsplit("/", 1)[-1]]
                if key == "$ref" and isinstance(value, str) and value.rsplit("/", 1)[-1] in renames
                else _rename_refs(value, renames)
            )
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_rename_refs(item, renames) for item in node]
    return node


def merge(services: dict[str, dict[str, Any]], gateway: dict[str, Any]) -> dict[str, Any]:
    """Paths come from the service that owns them; same-named schemas that differ get the service's prefix."""
    merged: dict[str, Any] = {
        "openapi": gateway.get("openapi", "3.1.0"),
        "info": {
            "title": "Guichet unique du contrat de ville — API",
            "version": gateway.get("info", {}).get("version", "1.0.0"),
            "description": (
                "Un dossier, tous les cofinanceurs, un comité, une réponse. "
                "Toutes les routes sont servies sous /api/v1 par la passerelle. "
                "Erreurs : application/problem+json (RFC 9457), en français ou en anglais (Accept-Language: en)."
            ),
        },
        "servers": [{"url": SERVER_URL, "description": SERVER_DESCRIPTION}],
        "paths": {},
        "components": {"schemas": {}, "securitySchemes": {}},
        "tags": [],
    }
    schemas: dict[str, Any] = merged["components"]["schemas"]
    headers: dict[str, Any] = {}
    responses: dict[str, Any] = {}
    seen_tags: set[str] = set()
    gateway = copy.deepcopy(gateway)
    # The gateway's own routes (aggregated views) read the services with the caller's token: all need one.
    document_security(gateway, default=[{"HTTPBearer": []}])
    for service, document in [*services.items(), ("gateway", gateway)]:
        document = copy.deepcopy(document)
        headers.update(document.get("components", {}).get("headers", {}))
        responses.update(document.get("components", {}).get("responses", {}))
        own_schemas = document.get("components", {}).get("schemas", {})
        renames = {
            name: f"{service}_{name}"
            for name, schema in own_schemas.items()
            if name in schemas and json.dumps(schemas[name], sort_keys=True) != json.dumps(schema, sort_keys=True)
        }
        document = _rename_refs(document, renames)
        for name, schema in document.get("components", {}).get("schemas", {}).items():
            schemas.setdefault(renames.get(name, name), schema)
        merged["components"]["securitySchemes"].update(document.get("components", {}).get("securitySchemes", {}))
        for path, item in document.get("paths", {}).items():
            if path in OPERATIONS_PATHS:
                continue
            owner = upstream_for(path)
            if service == "gateway":
                merged["paths"][path] = {**merged["paths"].get(path, {}), **item}
            elif owner == service:
                merged["paths"][path] = {**merged["paths"].get(path, {}), **_document_pass_through(item)}
        for tag in document.get("tags", []):
            if tag["name"] not in seen_tags and tag["name"] != "operations":
                seen_tags.add(tag["name"])
                merged["tags"].append(tag)
    merged["paths"] = dict(sorted(merged["paths"].items()))
    _document_rate_limits(merged["paths"])
    merged["components"]["headers"] = {**headers, **copy.deepcopy(RATE_LIMIT_HEADERS)}
    responses.update(copy.deepcopy(UPSTREAM_RESPONSES))
    merged["components"]["responses"] = dict(sorted(responses.items()))
    document_unavailable(merged)  # the gateway's own routes too: it checks the token before any of them
    merged["components"]["schemas"] = dict(sorted(schemas.items()))
    return merged
