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
