"""openapi/ holds what the code serves: a stale export fails here (run `make openapi`)."""

import json
from pathlib import Path

import pytest

from scripts.export_openapi import documents, render

OUT = Path(__file__).resolve().parent.parent / "openapi"
CURRENT = documents()


@pytest.mark.parametrize("name", sorted(CURRENT))
def test_the_exported_document_is_current(name: str) -> None:
    exported = (OUT / f"{name}.json").read_text(encoding="utf-8")
    assert exported == render(CURRENT[name]), f"openapi/{name}.json is stale: run `make openapi`"


def _operations(document: dict) -> list[tuple[str, str, dict]]:
    return [(path, method, op) for path, item in document["paths"].items() for method, op in item.items()]


def test_every_operation_is_documented_for_integrators() -> None:
    merged = CURRENT["gateway"]
    operation_ids = [op["operationId"] for _, _, op in _operations(merged)]
    assert len(operation_ids) == len(set(operation_ids)), "operationIds must be unique across the desk"
    for path, method, op in _operations(merged):
        assert op.get("summary"), (method, path)
        errors = [status for status in op["responses"] if status.startswith(("4", "5"))]
        if path != "/.well-known/jwks.json":
            assert errors, f"{method} {path} declares no error response"
        for status in errors:
            response = op["responses"][status]
            if "$ref" in response:  # one shared by every operation (the 503 of a dependency away)
                response = merged["components"]["responses"][response["$ref"].rsplit("/", 1)[-1]]
            assert "application/problem+json" in response["content"], (method, path, status)


def test_the_merged_document_keeps_every_service_path() -> None:
    merged = set(CURRENT["gateway"]["paths"])
    for service in ("identity", "projects", "funding"):
        own = {p for p in CURRENT[service]["paths"] if p not in ("/healthz", "/readyz", "/metrics")}
        assert own <= merged, own - merged


def test_problem_schema_is_shared() -> None:
    schema = CURRENT["gateway"]["components"]["schemas"]["ProblemDetail"]
    assert {"type", "title", "status", "code"} <= set(schema["required"])
    assert json.dumps(schema)  # serialisable


def _resolved(document: dict, response: dict) -> dict:
    if "$ref" in response:
        return document["components"]["responses"][response["$ref"].rsplit("/", 1)[-1]]
    return response


def test_every_idempotent_operation_declares_its_409_with_retry_after() -> None:
    """common.idempotency answers 409 `idempotency_in_progress` with Retry-After to a retry while the first call
    runs: a client generated from the document must know the header."""
    for name in ("identity", "projects", "funding", "gateway"):
        document = CURRENT[name]
        idempotent = [
            (path, method, op) for path, method, op in _operations(document)
            if any(p.get("name", "").lower() == "idempotency-key" for p in op.get("parameters", []))
        ]
        assert idempotent or name == "identity", name
        for path, method, op in idempotent:
            conflict = _resolved(document, op["responses"]["409"])
            assert "Retry-After" in conflict["headers"], (name, method, path)
            assert "idempotency_in_progress" in conflict["description"], (name, method, path)


def test_every_pass_through_operation_declares_the_gateways_504() -> None:
    """The gateway answers 504 `upstream_timeout` with Retry-After for any service that says nothing in time."""
    merged = CURRENT["gateway"]
    services = {path for name in ("identity", "projects", "funding") for path in CURRENT[name]["paths"]}
    proxied = [(path, method, op) for path, method, op in _operations(merged) if path in services]
    assert len(proxied) > 100
    for path, method, op in proxied:
        timeout = _resolved(merged, op["responses"]["504"])
        assert "Retry-After" in timeout["headers"], (method, path)
        assert "application/problem+json" in timeout["content"], (method, path)
