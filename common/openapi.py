"""What every OpenAPI document of the desk says the same way, written once where the documents are built (a
service's in `common.app`, the merged one in `gateway.openapi_merge`) rather than in each route:

- security: an operation that declares none is public, and says so (`security: []`); repeated requirements
  (a route's `openapi_extra` on top of the bearer dependency's) are said once;
- `ETag`: the response header of every operation that takes `If-Match` (the changed resource's new tag), of
  every operation that answers a versioned resource (a schema with a `version`), and of the read of a resource
  that PUT, PATCH or DELETE change under `If-Match`;
- 503: every API operation may answer it while a dependency is away (identity's keys, the database), with
  `Retry-After`;
- 409 with `Retry-After`: every operation that takes an `Idempotency-Key` answers it while an earlier call with
  the same key is still running (common.idempotency);
- examples given in a route's `responses=` keep their nulls (FastAPI drops every `None` from the document, and
  an example without its required nulls breaks its own schema).
"""

import copy
from typing import Any

from fastapi import FastAPI
from fastapi.encoders import jsonable_encoder
from fastapi.routing import APIRoute, iter_route_contexts

HTTP_METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options", "trace"})
ETAG_HEADER: dict[str, Any] = {
    "description": (
        "Version de la ressource renvoyée (`\"3\"`) : à renvoyer dans `If-Match` pour la modifier "
        "(périmé : 412, absent : 428)."
    ),
    "schema": {"type": "string"},
    "example": '"3"',
}
ETAG_REF = {"$ref": "#/components/headers/ETag"}
RETRY_AFTER_HEADER: dict[str, Any] = {
    "description": "Secondes à attendre avant de réessayer.",
    "required": True,
    "schema": {"type": "integer", "minimum": 1},
    "example": 2,
}
UNAVAILABLE_RESPONSE: dict[str, Any] = {
    "description": (
        "Une dépendance est momentanément absente (`identity_unavailable` : les clés d'identity ; "
        "`database_unavailable` : la base de données) : réessayer après `Retry-After`, avec la même requête "
        "(et la même `Idempotency-Key`)."
    ),
    "headers": {"Retry-After": {"$ref": "#/components/headers/RetryAfter"}},
    "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/ProblemDetail"}}},
}
UNAVAILABLE_REF = {"$ref": "#/components/responses/ServiceUnavailable"}


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in document.get("paths", {}).items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]


def document_security(document: dict[str, Any], *, default: list[dict[str, list[str]]] | None = None) -> None:
    """Operations without security get `default` (public: `[]`); duplicate requirements are said once."""
    for _path, _method, operation in operations(document):
        if "security" not in operation:
            operation["security"] = copy.deepcopy(default or [])
            continue
        unique: list[dict[str, list[str]]] = []
        for requirement in operation["security"]:
            if requirement not in unique:
                unique.append(requirement)
        operation["security"] = unique


def document_unavailable(document: dict[str, Any], *, prefix: str = "/api/v1/") -> None:
    """Every API operation may answer 503 (common.tokens, common.connection_loss); one declaring its own keeps it."""
    found = False
    for path, _method, operation in operations(document):
        if path.startswith(prefix):
            operation.setdefault("responses", {}).setdefault("503", dict(UNAVAILABLE_REF))
            found = True
    if found:
        components = document.setdefault("components", {})
        components.setdefault("responses", {})["ServiceUnavailable"] = copy.deepcopy(UNAVAILABLE_RESPONSE)
        components.setdefault("headers", {}).setdefault("RetryAfter", copy.deepcopy(RETRY_AFTER_HEADER))


IN_PROGRESS_NOTE = (
    "Avec `Idempotency-Key` : `idempotency_in_progress` tant qu'un appel avec la même clé est en cours, "
    "à réessayer après `Retry-After`."
)
IN_PROGRESS_RETRY_AFTER: dict[str, Any] = {
    "description": "Secondes à attendre avant de réessayer (seulement avec `idempotency_in_progress`).",
    "schema": {"type": "integer", "minimum": 1},
    "example": 4,
}


def _takes_header(operation: dict[str, Any], name: str) -> bool:
    return any(
        parameter.get("in") == "header" and parameter.get("name", "").lower() == name
        for parameter in operation.get("parameters", [])
    )


def document_idempotency(document: dict[str, Any]) -> None:
    """An operation taking `Idempotency-Key` may answer 409 `idempotency_in_progress` with `Retry-After`, beside
    its own conflicts: its 409 says so (and exists where the route declared none)."""
    for _path, _method, operation in operations(document):
        if not _takes_header(operation, "idempotency-key"):
            continue
        response = operation.setdefault("responses", {}).setdefault("409", {
            "description": "Conflit",
            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/ProblemDetail"}}},
        })
        if IN_PROGRESS_NOTE not in response.get("description", ""):
            described = response.get("description", "").rstrip(". ")
            response["description"] = f"{described}. {IN_PROGRESS_NOTE}" if described else IN_PROGRESS_NOTE
        response.setdefault("headers", {})["Retry-After"] = copy.deepcopy(IN_PROGRESS_RETRY_AFTER)


def _takes_if_match(operation: dict[str, Any]) -> bool:
    return _takes_header(operation, "if-match")


def _schema_name(response: dict[str, Any]) -> str | None:
    reference = response.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref", "")
    return reference.rsplit("/", 1)[-1] if reference else None


def document_etags(document: dict[str, Any]) -> None:
    """Declare the `ETag` response header where the services send it (see the module's docstring). A resource
    whose schema has no `version` is versioned all the same when its read is changed in place under `If-Match`
    (identity's organisations, members, profiles): its schema then counts as versioned everywhere it is answered."""
    schemas = document.get("components", {}).get("schemas", {})
    changed_in_place = {
        path for path, method, operation in operations(document)
        if method in {"put", "patch", "delete"} and _takes_if_match(operation)
    }
    versioned = {name for name, schema in schemas.items() if "version" in schema.get("properties", {})}
    versioned |= {
        name for path, method, operation in operations(document) if method == "get" and path in changed_in_place
        for status, response in operation.get("responses", {}).items()
        if status.startswith("2") and (name := _schema_name(response)) is not None
    }
    for path, method, operation in operations(document):
        guarded = _takes_if_match(operation) or (method == "get" and path in changed_in_place)
        for status, response in operation.get("responses", {}).items():
            if not status.startswith("2") or "content" not in response:
                continue
            if guarded or _schema_name(response) in versioned:
                response.setdefault("headers", {}).setdefault("ETag", dict(ETAG_REF))
    if any(
        "ETag" in response.get("headers", {})
        for _path, _method, operation in operations(document) for response in operation.get("responses", {}).values()
    ):
        document.setdefault("components", {}).setdefault("headers", {})["ETag"] = copy.deepcopy(ETAG_HEADER)


def keep_example_nulls(app: FastAPI, document: dict[str, Any]) -> None:
    """Put back the examples of the routes' `responses=` as written, nulls included."""
    # FastAPI keeps included routers whole (`app.routes` holds them): walk the routes as its OpenAPI does.
    for route in iter_route_contexts(app.routes):
        if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
            continue
        item = document.get("paths", {}).get(route.path_format, {})
        for method in route.methods or ():
            operation = item.get(method.lower())
            if operation is None:
                continue
            for status, declared in route.responses.items():
                for media_type, content in (declared.get("content") or {}).items():
                    target = operation.get("responses", {}).get(str(status), {}).get("content", {}).get(media_type)
                    if target is None:
                        continue
                    if "example" in content:
                        target["example"] = jsonable_encoder(content["example"])
                    if "examples" in content:
                        target["examples"] = jsonable_encoder(content["examples"])
