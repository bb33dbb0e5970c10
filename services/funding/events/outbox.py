"""Domain events, written by the transaction that changes the state (an outbox), and the feed that replays them.

No call site writes an event: what a flush changes says it. A new line of a dossier's trail is `dossier.<action>`;
a session, an agreement, a payment, a financial report or a webhook endpoint whose state moves is
`<kind>.<state>`; a payment the worker finds due is `payment.due`, a report it finds late `report.overdue`
(each once); a funder's
decision recorded in session is `decision.recorded`. At commit each event takes the next number from the one
counter row (its lock orders the numbers as the transactions commit) and is stored with the organisations that
may see it: the association concerned, and the funders concerned (those a dossier is routed to, the deciding
funder, the session's invited funders, an agreement's parties). The data carries ids, the references (the
dossier's own and its thread's), the state and amounts — never a comment or a reason.
"""

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from common.db import Database, utcnow
from services.funding.events import outbox_repository as repository
from services.funding.models.agreement import Agreement, Payment
from services.funding.models.committee import CommitteeSession, FunderDecision
from services.funding.models.dossier import DossierHistory
from services.funding.models.financial_report import FinancialReport
from services.funding.models.webhook import WebhookEndpoint

PENDING = "funding_domain_events"
# A trail line the association does not see: the funders' instruction opinions stay between them and the desk.
HIDDEN_FROM_HOLDER = frozenset({"opinion_recorded"})
SESSION_EVENTS = {"planned": "session.planned", "open": "session.opened", "closed": "session.closed"}
# The kind an event names its subject by, for the subjects that carry a dossier, a funder and an organisation.
SUBJECT_KINDS: dict[type[Any], str] = {Agreement: "agreement", Payment: "payment", FinancialReport: "report"}


@dataclass
class Draft:
    """An event seen at flush, written at commit (when who may see it is read)."""

    type: str
    subject: Any
    data: dict[str, Any] = field(default_factory=dict)
    occurred_at: datetime = field(default_factory=utcnow)


def _moved_to(instance: Any, attribute: str) -> Any:
    """The new value of `attribute` when this flush changed it, else None."""
    history = inspect(instance).attrs[attribute].history
    return history.added[0] if history.added and history.deleted else None


def _drafts_of(session: Session) -> list[Draft]:
    drafts = []
    for instance in session.new:
        if isinstance(instance, DossierHistory):
            drafts.append(Draft(f"dossier.{instance.action}", instance, {
                "action": instance.action, "from_state": instance.from_state, "to_state": instance.to_state}))
        elif isinstance(instance, FunderDecision) and instance.item_id is not None:
            # A delegated decision (no item) is told by its dossier's `dossier.decided`, as before it was kept.
            drafts.append(Draft("decision.recorded", instance))
        elif isinstance(instance, Agreement | Payment | CommitteeSession):
            drafts.append(Draft(_state_type(instance, instance.state), instance))
    for instance in session.dirty:
        if isinstance(instance, FunderDecision) and _moved_to(instance, "granted_cents") is not None:
            drafts.append(Draft("decision.recorded", instance))
        elif isinstance(instance, Agreement | Payment | CommitteeSession | FinancialReport):
            state = _moved_to(instance, "state")
            if state is not None:
                drafts.append(Draft(_state_type(instance, state), instance))
            announced = {Payment: ("due_announced_at", "payment.due"),
                         FinancialReport: ("overdue_announced_at", "report.overdue")}.get(type(instance))
            if announced and any(v is not None for v in inspect(instance).attrs[announced[0]].history.added):
                drafts.append(Draft(announced[1], instance))
            if isinstance(instance, Agreement) and inspect(instance).attrs.suspended_at.history.has_changes():
                drafts.append(Draft("agreement.suspended" if instance.suspended_at else "agreement.resumed",
                                    instance))
        elif isinstance(instance, WebhookEndpoint):
            state = _moved_to(instance, "state")
            if state is not None:
                drafts.append(Draft(f"webhook.{state}", instance))
    for instance in session.deleted:
        if isinstance(instance, CommitteeSession):
            drafts.append(Draft("session.called_off", instance))
    return drafts


def _state_type(instance: Any, state: str) -> str:
    if isinstance(instance, CommitteeSession):
        return SESSION_EVENTS.get(state, f"session.{state}")
    return f"{SUBJECT_KINDS[type(instance)]}.{state}"


def _collect(session: Session, _context: Any) -> None:
    drafts = _drafts_of(session)
    if drafts:
        session.info.setdefault(PENDING, []).extend(drafts)


def _write(session: Session) -> None:
    if not session.info.get(PENDING) and not (session.new or session.dirty or session.deleted):
        return
    session.flush()  # what is still pending is seen now
    drafts = session.info.pop(PENDING, None)
    if not drafts:
        return
    with session.no_autoflush:
        events = [_event_of(session, draft) for draft in drafts]
        last = repository.take_numbers(session, len(events))
        first = last - len(events) + 1
        rows, audience = [], []
        for sequence, (row, organisations) in enumerate(events, start=first):
            rows.append({"dossier_id": None, "reference": None, "thread_reference": None, "organisation_id": None,
                         **row, "sequence": sequence})
            audience += [{"event_sequence": sequence, "organisation_id": o} for o in sorted(organisations, key=str)]
        repository.insert_events(session, rows, audience)


def _forget(session: Session) -> None:
    session.info.pop(PENDING, None)


class FundingSession(Session):
    """Funding's sessions: the outbox listens on this class only, never on every SQLAlchemy session."""


LISTENERS = (("after_flush", _collect), ("before_commit", _write), ("after_rollback", _forget))


def install_outbox(database: Database) -> Database:
    """Makes `database`'s sessions funding's own, whose flushes write the domain events (called at start-up)."""
    for factory in (database.reader, database.writer):
        factory.configure(sync_session_class=FundingSession)
    for name, listener in LISTENERS:
        if not event.contains(FundingSession, name, listener):
            event.listen(FundingSession, name, listener)
    return database


def _event_of(session: Session, draft: Draft) -> tuple[dict[str, Any], set[uuid.UUID]]:
    subject = draft.subject
    row: dict[str, Any] = {"id": uuid.uuid4(), "type": draft.type, "occurred_at": draft.occurred_at}
    data = dict(draft.data)
    if isinstance(subject, DossierHistory):
        dossier = repository.dossier_by_id(session, subject.dossier_id)
        organisations = repository.routed_funders(session, subject.dossier_id)
        if subject.action not in HIDDEN_FROM_HOLDER and dossier is not None:
            organisations.add(dossier.organisation_id)
        row |= {"subject_kind": "dossier", "subject_id": subject.dossier_id}
        data["programme_id"] = str(dossier.programme_id) if dossier else None
        return _with_dossier(session, row, data, subject.dossier_id), organisations
    if isinstance(subject, FunderDecision):
        row |= {"subject_kind": "decision", "subject_id": subject.id}
        data |= {"funder_id": str(subject.funder_id), "granted_cents": subject.granted_cents,
                 "item_id": str(subject.item_id)}
        return _with_dossier(session, row, data, subject.dossier_id, holder=False), {subject.funder_id}
    if isinstance(subject, CommitteeSession):
        row |= {"subject_kind": "session", "subject_id": subject.id, "data": {
            "state": subject.state, "held_on": subject.held_on.isoformat() if subject.held_on else None}}
        return row, repository.invited_funders(session, subject.id)
    if isinstance(subject, WebhookEndpoint):  # its organisation's admin learns that it stopped, and why
        row |= {"subject_kind": "webhook", "subject_id": subject.id, "data": {
            "state": subject.state, "reason": subject.disabled_reason, "url": subject.url}}
        return row, {subject.organisation_id}
    row |= {"subject_kind": SUBJECT_KINDS[type(subject)], "subject_id": subject.id}
    data |= {"state": subject.state, "funder_id": str(subject.funder_id)}
    organisations = {subject.organisation_id, subject.funder_id}
    if isinstance(subject, Agreement):
        data |= {"number": subject.number, "kind": subject.kind, "amount_cents": subject.amount_cents}
        organisations |= repository.agreement_parties(session, subject.id)
    elif isinstance(subject, Payment):
        data |= {"agreement_id": str(subject.agreement_id), "year": subject.year, "sequence": subject.sequence,
                 "amount_cents": subject.amount_cents}
    else:
        data |= {"year": subject.year, "kind": subject.kind, "due_on": subject.due_on.isoformat()}
    return _with_dossier(session, row, data, subject.dossier_id), organisations


def _with_dossier(
    session: Session, row: dict[str, Any], data: dict[str, Any], dossier_id: uuid.UUID, holder: bool = True
) -> dict[str, Any]:
    dossier = repository.dossier_by_id(session, dossier_id)
    return row | {
        "dossier_id": dossier_id, "reference": dossier.reference if dossier else None,
        "thread_reference": dossier.thread_reference if dossier else None,
        "organisation_id": dossier.organisation_id if dossier and holder else None,
        "data": {"dossier_id": str(dossier_id), **data},
    }
