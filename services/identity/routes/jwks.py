"""Public keys, for every service that verifies our tokens."""

from fastapi import APIRouter, Response

from services.identity.deps import KeysDep
from services.identity.schemas import Jwks

router = APIRouter(tags=["keys"])


@router.get("/.well-known/jwks.json", summary="Clés publiques (JWKS)", response_model=Jwks)
async def jwks(keys: KeysDep, response: Response) -> dict:
    """Public: the public keys that verify identity's tokens, each named by its `kid`."""
    # Short cache: during a rotation the new key must be picked up quickly.
    response.headers["Cache-Control"] = "public, max-age=300"
    return keys.jwks()
