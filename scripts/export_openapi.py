"""Writes openapi/{identity,projects,funding,gateway}.json from the code: `python -m scripts.export_openapi`.

The gateway's document is the merge of the three services' documents and its own routes, exactly as
it serves it at /api/v1/openapi.json. A test fails when these files are stale.
"""

import json
import tempfile
from pathlib import Path
from typing import Any

from gateway.app import Gateway
from gateway.openapi_merge import merge
from services.funding.app import create_app as create_funding
from services.identity.app import create_app as create_identity
from services.identity.settings import IdentitySettings
from services.projects.app import create_app as create_projects

OUT = Path(__file__).resolve().parent.parent / "openapi"


def documents() -> dict[str, dict[str, Any]]:
    with tempfile.TemporaryDirectory() as folder:
        identity = create_identity(IdentitySettings(signing_key_file=str(Path(folder) / "key.pem")))
        services = {
            "identity": identity.openapi(),
            "projects": create_projects().openapi(),
            "funding": create_funding().openapi(),
        }
    services["gateway"] = merge(dict(services), Gateway().app.openapi())
    return services


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for name, document in documents().items():
        (OUT / f"{name}.json").write_text(render(document), encoding="utf-8")
        print(f"openapi/{name}.json: {len(document['paths'])} paths")


if __name__ == "__main__":
    main()
