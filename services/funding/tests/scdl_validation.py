"""The official SCDL validator (validata-core) run on an export, offline, against the schema kept in the repository:
its errors and its structure warnings, as text a failing test prints."""

import json
import socket
import tempfile
import warnings
from pathlib import Path
from typing import Any

import validata_core  # type: ignore[import-untyped]  # no type information shipped

SCHEMA_PATH = Path(__file__).parents[1] / "exports" / "reference" / "scdl-subventions-2.1.1.schema.json"
OFFICIAL_EXAMPLE = SCHEMA_PATH.with_name("official_exemple_valide_2.1.1.csv")


def _no_network(*args: Any, **kwargs: Any) -> None:
    raise AssertionError("the SCDL validation tried to reach the network")


def scdl_problems(csv_text: str) -> list[str]:
    """Every error and structure warning validata-core finds in `csv_text` (empty: valid). The schema is given as
    a dict read from the repository, so nothing names a URL to fetch; sockets are shut meanwhile to prove it."""
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "export.csv"
        path.write_text(csv_text, encoding="utf-8", newline="")
        connect = socket.socket.connect
        socket.socket.connect = _no_network  # type: ignore[method-assign]
        try:
            with warnings.catch_warnings():
                # validata-core 0.9.7 calls frictionless' validate_resource, deprecated in its own release.
                warnings.filterwarnings("ignore", message='Function "validate_resource" is deprecated')
                report = validata_core.validate(str(path), schema)
        finally:
            socket.socket.connect = connect  # type: ignore[method-assign]
    problems = [f"{error.get('code')}: {error.get('message')}" for error in report["errors"]]
    for task in report["tasks"]:
        problems += [f"row {error.get('rowNumber')} {error.get('fieldName')} {error.get('code')}: "
                     f"{error.get('message')}" for error in task["errors"]]
        problems += [f"structure warning: {warning}" for warning in task["structure_warnings"]]
    if not report["tasks"] and not problems:
        problems.append("validata-core read no table")
    return problems
