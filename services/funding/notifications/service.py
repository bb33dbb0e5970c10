"""The holders' notifications: once a committee session closes, each association gets one consolidated answer per
dossier (every funder's answer at once), stored with the session's closing, then mailed.

Delivery happens after the commit, outside any transaction, and never raises: a mail server down leaves the
notification `failed` with its error, and the desk sends it again later. Mail is at least once: two deliveries
of the same notification at the very same moment may both send; the Message-ID is the notification's, so that
mail clients can tell the copies for one message.
"""

import logging
import uuid
from datetime import date
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from common.db import Database, utcnow
from common.mail import Mailer
from common.money import euros
from common.problems import Conflict, NotFound, Text
from common.tokens import Principal
from services.funding.models.committee import ItemState, Outcome
from services.funding.models.notification import DeliveryState, Notification, NotificationKind
from services.funding.notifications import repository
from services.funding.notifications.schemas import AnsweredItem, AnsweredSession, NotificationPublic

log = logging.getLogger("funding.notifications")

NOTIFICATION_NOT_FOUND = Text("Notification introuvable.", "Notification not found.")
NO_RECIPIENT = "no recipient: the association has no address to write to"
ERROR_LIMIT = 2000
# Between the French text of a mail and its English version.
SEPARATOR = "\n\n" + "-" * 60 + "\n\n"


class NextSteps(StrEnum):
    agreements = "agreements"  # something was granted: each granting funder sends its agreement and schedule
    none = "none"  # nothing granted: the association may talk it over with the desk
    next_session = "next_session"  # deferred: the dossier goes to a later session


# Writing them, in the transaction that closes the session.
async def notify_holders(
    session: AsyncSession, *, session_id: uuid.UUID, minutes: AnsweredSession, recipients: dict[uuid.UUID, list[str]]
) -> list[uuid.UUID]:
    """One pending notification per dossier decided or deferred by the session (none for a withdrawn one),
    addressed to its association's recipients; the ids made, in the minutes' order."""
    made: list[uuid.UUID] = []
    sitting = {
        "id": str(session_id), "title": minutes.title, "held_on": minutes.held_on.isoformat(), "place": minutes.place,
    }
    threads = await repository.thread_references(session, [item.dossier_id for item in minutes.items])
    for item in minutes.items:
        if item.state not in (ItemState.decided, ItemState.deferred):
            continue
        deferred = item.state == ItemState.deferred
        notification = Notification(
            dossier_id=item.dossier_id,
            session_id=session_id,
            organisation_id=item.organisation_id,
            reference=item.reference,
            thread_reference=threads[item.dossier_id],
            kind=NotificationKind.deferral if deferred else NotificationKind.decision,
            content=_content(sitting, item),
            recipients=list(recipients.get(item.organisation_id, [])),
        )
        session.add(notification)
        made.append(notification.id)
    await session.flush()
    return made


async def notify_delegated(
    session: AsyncSession, *, item: AnsweredItem, decided_on: date, recipients: list[str]
) -> uuid.UUID:
    """The one answer on a dossier one funder decided alone (small projects), addressed to its association."""
    notification = Notification(
        dossier_id=item.dossier_id, organisation_id=item.organisation_id, reference=item.reference,
        thread_reference=(await repository.thread_references(session, [item.dossier_id]))[item.dossier_id],
        kind=NotificationKind.decision, recipients=list(recipients),
        content={**_content(None, item), "decided_on": decided_on.isoformat()},
    )
    session.add(notification)
    await session.flush()
    return notification.id


def _content(session: dict[str, Any] | None, item: AnsweredItem) -> dict[str, Any]:
    """What the notification says, as data the API gives as it is and `render` words in either language; the
    committee session that answered, or none for a delegated decision."""
    common = {
        "session": session, "project_title": item.project_title, "organisation_name": item.organisation_name,
        "asked_cents": item.asked_cents,
    }
    if item.state == ItemState.deferred:
        # Whatever was recorded before the deferral is no answer yet: the next session decides.
        return {
            **common, "outcome": None, "granted_cents": 0, "funders": [], "deferral_reason": item.deferral_reason,
            "next_steps": NextSteps.next_session.value,
        }
    funders = [
        {
            "funder_id": str(decision.funder_id), "name": decision.funder_name, "asked_cents": decision.asked_cents,
            "granted_cents": decision.granted_cents, "conditions": decision.conditions,
            "refusal_reason": decision.refusal_reason,
        }
        for decision in item.decisions
    ]
    granted = item.granted_cents
    return {
        **common, "outcome": _outcome(item).value, "granted_cents": granted, "funders": funders,
        "deferral_reason": None, "next_steps": (NextSteps.agreements if granted > 0 else NextSteps.none).value,
    }


def _outcome(item: AnsweredItem) -> Outcome:
    if item.outcome is None:
        raise ValueError(f"dossier {item.reference} is decided without an outcome")
    return Outcome(item.outcome)


# Wording them.

MONTHS_FR = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
             "novembre", "décembre")
MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
             "November", "December")
OUTCOME_WORDS = {
    Outcome.accepted: Text("Votre demande est acceptée.", "Your request is accepted."),
    Outcome.partially_accepted: Text("Votre demande est acceptée en partie.", "Your request is partly accepted."),
    Outcome.refused: Text(
        "Votre demande n'est pas retenue : aucune aide n'est accordée.",
        "Your request is not granted: no funding is awarded.",
    ),
}
GREETING = Text("Bonjour,", "Hello,")
SIGNATURE = Text("Le guichet unique du contrat de ville", "The contrat de ville one-stop desk")


def _day(held_on: date) -> Text:
    first = "1er" if held_on.day == 1 else str(held_on.day)
    return Text(
        f"{first} {MONTHS_FR[held_on.month - 1]} {held_on.year}",
        f"{held_on.day} {MONTHS_EN[held_on.month - 1]} {held_on.year}",
    )


def _funder_line(funder: dict[str, Any]) -> Text:
    name, asked, granted = funder["name"], euros(funder["asked_cents"]), euros(funder["granted_cents"])
    if funder["granted_cents"] > 0:
        line = Text(f"- {name} : {granted.fr} accordés ({asked.fr} demandés).",
                    f"- {name}: {granted.en} granted ({asked.en} asked).")
        if funder.get("conditions"):
            line = Text(f"{line.fr}\n  Conditions : {funder['conditions']}",
                        f"{line.en}\n  Conditions: {funder['conditions']}")
        return line
    line = Text(f"- {name} : pas d'aide ({asked.fr} demandés).", f"- {name}: no grant ({asked.en} asked).")
    if funder.get("refusal_reason"):
        reason = funder["refusal_reason"]
        line = Text(f"{line.fr}\n  Motif : {reason}", f"{line.en}\n  Reason: {reason}")
    return line


def _references(notification: Notification) -> list[Text]:
    """A renewal's letter (or a graduation's) names the thread's reference, which the association quotes, and the
    dossier's own beside it; a first dossier's has one reference, said in the subject."""
    thread, own = notification.thread_reference, notification.reference
    if thread == own:
        return []
    return [Text(f"Référence : {thread} (dossier {own})", f"Reference: {thread} (dossier {own})")]


def _decision(content: dict[str, Any], reference: str, day: Text) -> tuple[Text, list[Text]]:
    project = content["project_title"]
    asked, granted = euros(content["asked_cents"]), euros(content["granted_cents"])
    if content["session"] is None:  # one funder decided alone (small projects)
        funder = content["funders"][0]["name"]
        subject = Text(f"Dossier {reference} : décision de {funder} du {day.fr}",
                       f"Dossier {reference}: decision of {funder} of {day.en}")
        opening = Text(
            f"{funder} a examiné votre dossier simplifié {reference} « {project} » et a décidé le {day.fr}.",
            f"{funder} examined your simplified dossier {reference} \"{project}\" and decided on {day.en}.",
        )
    else:
        title = content["session"]["title"]
        subject = Text(f"Dossier {reference} : réponse du comité des financeurs du {day.fr}",
                       f"Dossier {reference}: answer of the funders' committee of {day.en}")
        opening = Text(
            f"Le comité des financeurs « {title} » s'est réuni le {day.fr}. Voici sa réponse, au nom de tous les "
            f"financeurs, sur votre dossier {reference} « {project} ».",
            f"The funders' committee \"{title}\" met on {day.en}. Here is its answer, on behalf of every funder, on "
            f"your dossier {reference} \"{project}\".",
        )
    paragraphs = [opening, OUTCOME_WORDS[Outcome(content["outcome"])]]
    if content["funders"]:
        lines = [_funder_line(funder) for funder in content["funders"]]
        paragraphs.append(Text(
            "La réponse de chaque financeur :\n" + "\n".join(line.fr for line in lines),
            "Each funder's answer:\n" + "\n".join(line.en for line in lines),
        ))
    paragraphs.append(Text(f"Total accordé : {granted.fr} sur {asked.fr} demandés.",
                           f"Total granted: {granted.en} of {asked.en} asked."))
    if content["next_steps"] == NextSteps.agreements:
        granting = ", ".join(funder["name"] for funder in content["funders"] if funder["granted_cents"] > 0)
        paragraphs.append(Text(
            f"Et maintenant : chaque financeur qui vous accorde une aide ({granting}) vous adressera sa convention "
            "et son échéancier de versement.",
            f"What comes next: each funder granting you funds ({granting}) will send you its agreement and its "
            "payment schedule.",
        ))
    else:
        paragraphs.append(Text(
            "Et maintenant : vous pouvez contacter le guichet unique pour échanger sur cette décision ou préparer "
            "une nouvelle demande.",
            "What comes next: you may contact the one-stop desk to talk this decision over or to prepare a new "
            "request.",
        ))
    return subject, paragraphs


def _deferral(content: dict[str, Any], reference: str, day: Text) -> tuple[Text, list[Text]]:
    title, project = content["session"]["title"], content["project_title"]
    reason = content.get("deferral_reason") or ""
    subject = Text(f"Dossier {reference} : examen reporté par le comité des financeurs du {day.fr}",
                   f"Dossier {reference}: review deferred by the funders' committee of {day.en}")
    paragraphs = [
        Text(
            f"Le comité des financeurs « {title} » s'est réuni le {day.fr} et a reporté l'examen de votre dossier "
            f"{reference} « {project} ».",
            f"The funders' committee \"{title}\" met on {day.en} and deferred the review of your dossier "
            f"{reference} \"{project}\".",
        ),
        Text(f"Motif du report : {reason}", f"Reason for the deferral: {reason}"),
        Text(
            "Et maintenant : votre dossier sera inscrit à l'ordre du jour d'une prochaine séance du comité ; le "
            "guichet unique vous tiendra informé.",
            "What comes next: your dossier will be placed on the agenda of a later session of the committee; the "
            "one-stop desk will keep you informed.",
        ),
    ]
    return subject, paragraphs


def render(notification: Notification, language: str) -> tuple[str, str]:
    """Subject and plain-text body, in French unless `language` is "en": the one consolidated answer."""
    content = notification.content
    day = _day(date.fromisoformat(content["session"]["held_on"] if content["session"] else content["decided_on"]))
    wording = _deferral if notification.kind == NotificationKind.deferral else _decision
    subject, paragraphs = wording(content, notification.thread_reference, day)
    body = [*_references(notification), GREETING, *paragraphs, SIGNATURE]
    return subject.pick(language), "\n\n".join(part.pick(language) for part in body) + "\n"


# Mailing them, after the commit.
def message_of(notification: Notification, mail_from: str) -> EmailMessage:
    """The mail: French then English in one plain-text body; its Message-ID names the notification."""
    subject, french = render(notification, "fr")
    _, english = render(notification, "en")
    domain = parseaddr(mail_from)[1].rpartition("@")[2] or "localhost"
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = ", ".join(notification.recipients)
    message["Subject"] = subject
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = f"<notification-{notification.id}@{domain}>"
    message["Content-Language"] = "fr, en"
    message.set_content(french + SEPARATOR + english)
    return message


async def deliver(database: Database, mailer: Mailer, mail_from: str, notification_ids: list[uuid.UUID]) -> None:
    """Send each notification not sent yet; record `sent`, or `failed` with the error. Never raises."""
    try:
        async with database.transaction(write=False) as session:
            waiting = await repository.unsent_notifications(session, notification_ids)
    except Exception:
        log.exception("notifications not read for delivery: %s", ", ".join(map(str, notification_ids)))
        return
    for notification in waiting:
        error = await _send(mailer, mail_from, notification)
        try:
            await _record(database, notification.id, error)
        except Exception:
            log.exception("delivery of notification %s not recorded (error: %s)", notification.id, error)


async def _send(mailer: Mailer, mail_from: str, notification: Notification) -> str | None:
    """None once the mailer took it; otherwise why not."""
    if not notification.recipients:
        log.warning("notification %s of dossier %s has no recipient", notification.id, notification.reference)
        return NO_RECIPIENT
    try:
        await mailer.send(message_of(notification, mail_from))
    except Exception as exc:
        log.warning("notification %s not sent: %s", notification.id, exc, exc_info=True)
        return f"{type(exc).__name__}: {exc}"[:ERROR_LIMIT]
    return None


async def _record(database: Database, notification_id: uuid.UUID, error: str | None) -> None:
    now = utcnow()
    if error is None:
        outcome: dict[str, Any] = {"delivery_state": DeliveryState.sent, "sent_at": now, "last_error": None}
    else:
        outcome = {"delivery_state": DeliveryState.failed, "last_error": error}
    async with database.transaction() as session:
        # Every try counts; a notification another delivery sent meanwhile stays as that one recorded it.
        await repository.record_try(session, notification_id, outcome, now=now)


async def ensure_undelivered(database: Database, *, notification_id: uuid.UUID) -> None:
    """404 when there is no such notification, 409 when it is already sent. Read on its own reader session: the
    delivery that follows writes in its own transactions, which a request's writer would lock out on SQLite."""
    async with database.transaction(write=False) as session:
        notification = await repository.notification_by_id(session, notification_id)
    if notification is None:
        raise NotFound(NOTIFICATION_NOT_FOUND)
    if notification.delivery_state == DeliveryState.sent:
        raise Conflict(
            Text("Cette notification est déjà envoyée.", "This notification is already sent."),
            code="notification_already_sent",
            extra={"sent_at": notification.sent_at.isoformat() if notification.sent_at else None},
        )


# Reading them: the association its own, the desk every one.
async def readable_notification(
    session: AsyncSession, principal: Principal, notification_id: uuid.UUID
) -> Notification:
    """The desk reads every notification; an association's people, their own; anyone else gets the 404."""
    notification = await repository.readable_notification(session, principal, notification_id)
    if notification is None:
        raise NotFound(NOTIFICATION_NOT_FOUND)
    return notification


# The list counterpart of `readable_notification`, narrowed by the filters given.
list_notifications = repository.list_notifications


async def resend(database: Database, mailer: Mailer, mail_from: str, *, notification_id: uuid.UUID) -> None:
    """The desk's new try at a notification not sent: 404 when there is none, 409 `notification_already_sent`
    when it is sent; then mailed now, each step in its own transaction (none is held while the mail goes)."""
    await ensure_undelivered(database, notification_id=notification_id)
    await deliver(database, mailer, mail_from, [notification_id])


def to_public(notification: Notification, *, principal: Principal, language: str) -> NotificationPublic:
    """Worded in the reader's language; the mail server's error is the desk's business only."""
    subject, body = render(notification, language)
    return NotificationPublic(
        id=notification.id,
        dossier_id=notification.dossier_id,
        session_id=notification.session_id,
        organisation_id=notification.organisation_id,
        reference=notification.reference,
        thread_reference=notification.thread_reference,
        kind=NotificationKind(notification.kind),
        subject=subject,
        body=body,
        content=notification.content,
        recipients=notification.recipients,
        delivery_state=DeliveryState(notification.delivery_state),
        attempts=notification.attempts,
        last_error=notification.last_error if repository.sees_every_notification(principal) else None,
        sent_at=notification.sent_at,
        created_at=notification.created_at,
        updated_at=notification.updated_at,
    )
