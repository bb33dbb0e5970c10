"""The notifications' dependencies: the one a caller may read, and the mailing a resend goes through."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from common.db import Database
from common.mail import Mailer
from common.resources import resource
from services.funding.models.notification import Notification
from services.funding.notifications import service
from services.funding.notifications.auth import NotificationReader

CurrentNotification = Annotated[
    Notification, resource(service.readable_notification, path="notification_id", caller=NotificationReader)
]


@dataclass(frozen=True)
class Mailing:
    """What a delivery needs: the database (each try recorded in its own transaction), the mailer, the sender."""

    database: Database
    mailer: Mailer
    mail_from: str


def _mailing(request: Request) -> Mailing:
    state = request.app.state
    return Mailing(database=state.db, mailer=state.mailer, mail_from=state.settings.mail_from)


MailingDep = Annotated[Mailing, Depends(_mailing)]
