"""Bulk exports for a funder's own systems: the dossiers routed to it, its decisions, its payments, as CSV or JSON
Lines, streamed by batches in the keyset order (constant memory, constant cost per batch at any depth)."""

import json
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from common.csv_cells import csv_line
from common.db import Database
from common.pagination import encode_cursor
from common.tokens import Principal
from services.funding.exports import repository
from services.funding.exports.repository import AnyRow, ExportStatement
from services.funding.funder_scope import funder_of
from services.funding.models.agreement import Payment
from services.funding.models.committee import FunderDecision
from services.funding.models.dossier import Dossier

BATCH = 1_000

# A column bears the name of the field the API gives the same value in (`GET /dossiers`, `/decisions`,
# `/payments`), so that a funder's system reads both alike. A few columns are the export's own, flattened from
# what the API nests: these, and what they hold.
DERIVED_COLUMNS: dict[str, dict[str, str]] = {
    "dossiers": {"title": "project_snapshot.title", "qpv_codes": "project_snapshot.qpv_codes, joined by ';'",
                 "asked_cents": "the amount_cents of the funder's line in funding_plan"},
    "decisions": {"thread_reference": "the dossier's thread reference (the one to quote), as in GET /dossiers"},
    "payments": {"reference": "the dossier's reference, as in GET /decisions and GET /agreements",
                 "thread_reference": "the dossier's thread reference (the one to quote), as in GET /agreements"},
}


@dataclass(frozen=True)
class Export:
    columns: tuple[str, ...]
    model: Any
    # The rows of one funder (None: every funder, for the desk), each a tuple whose first item is the model row.
    statement: ExportStatement
    values: Callable[[AnyRow], dict[str, Any]]


def _dossier_values(row: AnyRow) -> dict[str, Any]:
    dossier, asked = row
    project = dossier.project_snapshot or {}
    return {
        "id": dossier.id, "reference": dossier.reference, "thread_reference": dossier.thread_reference,
        "programme_id": dossier.programme_id,
        "organisation_id": dossier.organisation_id, "state": dossier.state, "title": project.get("title"),
        "qpv_codes": ";".join(project.get("qpv_codes") or []), "asked_cents": asked,
        "requested_total_cents": dossier.requested_total_cents, "outcome": dossier.outcome,
        "submitted_at": dossier.submitted_at, "decided_at": dossier.decided_at, "updated_at": dossier.updated_at,
    }


def _decision_values(row: AnyRow) -> dict[str, Any]:
    decision, reference, thread_reference, session_id, state, amendment = row
    return {
        "id": decision.id, "dossier_id": decision.dossier_id, "reference": reference,
        "thread_reference": thread_reference,
        "kind": "committee" if decision.item_id else "delegated", "session_id": session_id,
        "final": decision.item_id is None or state == "closed",
        "funder_id": decision.funder_id,
        "granted_amount_cents": amendment.granted_cents if amendment else decision.granted_cents,
        "decided_amount_cents": decision.granted_cents,
        "amended_on": amendment.amended_on if amendment else None,
        "amendment_reference": amendment.reference if amendment else None,
        "conditions": decision.conditions, "refusal_reason": decision.refusal_reason,
        "decision_reference": decision.decision_reference, "created_at": decision.created_at,
        "updated_at": decision.updated_at,
    }


def _payment_values(row: AnyRow) -> dict[str, Any]:
    payment, reference, thread_reference = row
    return {
        "id": payment.id, "dossier_id": payment.dossier_id, "reference": reference,
        "thread_reference": thread_reference, "grant_id": payment.grant_id,
        "agreement_id": payment.agreement_id, "funder_id": payment.funder_id,
        "organisation_id": payment.organisation_id, "year": payment.year, "sequence": payment.sequence,
        "amount_cents": payment.amount_cents, "condition": payment.condition, "state": payment.state,
        "due_on": payment.due_on, "pay_by": payment.pay_by, "paid_at": payment.paid_at,
        "cancelled_at": payment.cancelled_at, "updated_at": payment.updated_at,
    }


EXPORTS: dict[str, Export] = {
    "dossiers": Export(("id", "reference", "thread_reference", "programme_id", "organisation_id", "state", "title",
                        "qpv_codes", "asked_cents", "requested_total_cents", "outcome", "submitted_at", "decided_at",
                        "updated_at"), Dossier, repository.dossiers_export, _dossier_values),
    "decisions": Export(("id", "dossier_id", "reference", "thread_reference", "kind", "session_id", "final",
                         "funder_id", "granted_amount_cents", "decided_amount_cents", "amended_on",
                         "amendment_reference", "conditions", "refusal_reason", "decision_reference", "created_at",
                         "updated_at"),
                        FunderDecision, repository.decisions_export, _decision_values),
    "payments": Export(("id", "dossier_id", "reference", "thread_reference", "grant_id", "agreement_id", "funder_id",
                        "organisation_id", "year", "sequence", "amount_cents", "condition", "state", "due_on",
                        "pay_by", "paid_at", "cancelled_at", "updated_at"),
                       Payment, repository.payments_export, _payment_values),
}


def _text(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


async def lines(
    session: AsyncSession, export: Export, *, funder_id: uuid.UUID | None, updated_since: datetime | None,
    jsonl: bool,
) -> AsyncIterator[str]:
    """A CSV with its header, or one JSON object a line."""
    if not jsonl:
        yield csv_line(list(export.columns))
    cursor: str | None = None
    while True:
        fetched = await repository.export_batch(
            session, export.statement(funder_id), export.model, updated_since=updated_since, limit=BATCH,
            cursor=cursor,
        )
        for row in fetched[:BATCH]:
            values = export.values(row)
            # CSV cells keep their types, so that text is neutralised and figures are not (common.csv_cells).
            yield (json.dumps({name: _text(value) for name, value in values.items()}, ensure_ascii=False) + "\n"
                   ) if jsonl else csv_line(values[name] for name in export.columns)
        if len(fetched) <= BATCH:
            return
        last = fetched[BATCH - 1][0]
        cursor = encode_cursor(last.created_at, last.id)


def streamed_export(
    database: Database, principal: Principal, *, kind: str, funder_id: uuid.UUID | None,
    updated_since: datetime | None, jsonl: bool,
) -> AsyncIterator[bytes]:
    """The export `kind` of the funder the caller reads (a funder its own, 403 `not_your_funder` for another's;
    the desk one funder's or every one's), encoded, read on a session of its own: a streamed answer outlives
    the request's session."""
    funder = funder_of(principal, funder_id, desk_may_take_all=True)
    return _encoded(database, EXPORTS[kind], funder_id=funder, updated_since=updated_since, jsonl=jsonl)


async def _encoded(
    database: Database, export: Export, *, funder_id: uuid.UUID | None, updated_since: datetime | None, jsonl: bool,
) -> AsyncIterator[bytes]:
    async with database.transaction(write=False) as session:
        async for line in lines(session, export, funder_id=funder_id, updated_since=updated_since, jsonl=jsonl):
            yield line.encode()
