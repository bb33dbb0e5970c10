"""The envelope a route works on, loaded (or loaded and locked) for the caller: 404 for what it may not see, 412
for a stale If-Match, 428 without one on a change."""

from typing import Annotated

from common.resources import locked_resource, resource, validated_body
from services.funding.envelopes import repository
from services.funding.envelopes.auth import EnvelopeManager, EnvelopesReader
from services.funding.envelopes.schemas import EnvelopeUpdate
from services.funding.models.envelope import Envelope

CurrentEnvelope = Annotated[
    Envelope, resource(repository.readable_envelope, path="envelope_id", caller=EnvelopesReader)
]


# A change of its total: no Idempotency-Key (a PATCH), If-Match required.
ManagedEnvelope = Annotated[
    Envelope,
    locked_resource(
        repository.locked_envelope, path="envelope_id", caller=EnvelopeManager, if_match_required=True,
        idempotent=False, before=[validated_body(EnvelopeUpdate)],
    ),
]
