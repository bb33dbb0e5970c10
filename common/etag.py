"""ETags from a row's version counter; If-Match required on every change."""

from typing import Any

from fastapi import Request

from common.problems import PreconditionFailed, PreconditionRequired, Text


def etag_of(version: int) -> str:
    return f'"{version}"'


def check_if_match(request: Request, current_version: int, *, required: bool = True) -> None:
    header = request.headers.get("if-match")
    if header is None:
        if required:
            raise PreconditionRequired(
                Text(
                    "Envoyez l'ETag lu dans l'en-tête If-Match pour modifier cette ressource.",
                    "Send the ETag you read in an If-Match header to change this resource.",
                )
            )
        return
    candidates = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    if "*" in candidates or etag_of(current_version) in candidates:
        return
    raise PreconditionFailed(
        Text(
            "La ressource a été modifiée depuis votre lecture ; relisez-la puis réessayez.",
            "The resource was changed since you read it; read it again and retry.",
        ),
        extra={"current_etag": etag_of(current_version)},
    )


def if_match_parameter(*, required: bool = True) -> dict[str, Any]:
    """`openapi_extra` declaring the If-Match header, which `check_if_match` reads from the request itself."""
    description = "ETag lu sur la ressource ; périmé : 412" + (", absent : 428." if required else ".")
    return {
        "parameters": [
            {
                "name": "If-Match",
                "in": "header",
                "required": required,
                "description": description,
                "schema": {"type": "string", "examples": ['"1"']},
            }
        ]
    }
