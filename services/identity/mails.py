"""The mails identity sends, each carrying a single-use token: an invitation, a sign-up's address check, a password
reset. French then English in one plain-text body. They leave after the commit (a background task): a mail never
announces what a failed transaction did not keep."""

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr

from common.db import utcnow
from common.mail import Mailer
from common.problems import Text

log = logging.getLogger("identity.mail")
SEPARATOR = "\n\n" + "-" * 60 + "\n\n"
GREETING = Text("Bonjour,", "Hello,")
SIGNATURE = Text("Le guichet unique du contrat de ville", "The single-window funding desk of the contrat de ville")


@dataclass(frozen=True)
class Mail:
    to: str
    subject: Text
    paragraphs: list[Text]

    def message(self, mail_from: str) -> EmailMessage:
        def body(lang: str) -> str:
            return "\n\n".join(part.pick(lang) for part in [GREETING, *self.paragraphs, SIGNATURE]) + "\n"

        domain = parseaddr(mail_from)[1].rpartition("@")[2] or "localhost"
        message = EmailMessage()
        message["From"] = mail_from
        message["To"] = self.to
        message["Subject"] = self.subject.pick("fr")
        message["Date"] = format_datetime(utcnow())
        message["Message-ID"] = make_msgid(domain=domain)
        message["Content-Language"] = "fr, en"
        message.set_content(body("fr") + SEPARATOR + body("en"))
        return message


def _until(moment: datetime) -> Text:
    stamp = moment.strftime("%Y-%m-%d %H:%M UTC")
    return Text(f"Ce lien est valable une seule fois, jusqu'au {stamp}.", f"This link works once, until {stamp}.")


def _api(path: str, token: str) -> Text:
    # The token alone on a short line: quoted-printable folds long lines, and a folded token cannot be copied.
    return Text(
        f"Depuis un outil connecté à l'API : POST /api/v1/{path} avec le jeton\n{token}",
        f"From a tool using the API: POST /api/v1/{path} with the token\n{token}",
    )


def invitation(
    *, to: str, organisation_name: str, roles: list[str], inviter_name: str, token: str, expires_at: datetime,
    links_base_url: str,
) -> Mail:
    # The same words whether the address already has an account or not: the mail tells the invitee what to do
    # in both cases, and nothing in the desk's answers to the inviter differs either.
    link = f"{links_base_url.rstrip('/')}/invitations/accept#token={token}"
    named = ", ".join(roles)
    return Mail(to=to, subject=Text(f"Invitation à rejoindre {organisation_name}",
                                    f"Invitation to join {organisation_name}"), paragraphs=[
        Text(f"{inviter_name} vous invite à rejoindre {organisation_name} sur le guichet unique (rôles : {named}).",
             f"{inviter_name} invites you to join {organisation_name} on the single-window desk (roles: {named})."),
        Text(f"Pour accepter, ouvrez {link}. Si vous avez déjà un compte à cette adresse, connectez-vous d'abord ; "
             "sinon, choisissez votre mot de passe en acceptant.",
             f"To accept, open {link}. If you already have an account at this address, sign in first; otherwise, "
             "choose your password as you accept."),
        _api("invitations/accept", token),
        _until(expires_at),
        Text("Si vous ne connaissez pas cette organisation, ignorez ce message : rien n'est fait sans vous.",
             "If you do not know this organisation, ignore this message: nothing happens without you."),
    ])


def signup_check(
    *, to: str, organisation_name: str, token: str, expires_at: datetime, links_base_url: str, existing_account: bool
) -> Mail:
    link = f"{links_base_url.rstrip('/')}/signup/verify#token={token}"
    then = (
        Text("Cette adresse a déjà un compte : connectez-vous avec votre mot de passe habituel, puis confirmez.",
             "This address already has an account: sign in with your usual password, then confirm.")
        if existing_account else
        Text("Vous vous connecterez ensuite avec le mot de passe choisi à l'inscription.",
             "You will then sign in with the password chosen at sign-up.")
    )
    return Mail(to=to, subject=Text(f"Confirmez l'inscription de {organisation_name}",
                                    f"Confirm the sign-up of {organisation_name}"), paragraphs=[
        Text(f"Quelqu'un a inscrit {organisation_name} sur le guichet unique avec votre adresse comme administratrice.",
             f"Someone signed {organisation_name} up on the single-window desk with your address as its admin."),
        Text(f"Pour confirmer, ouvrez {link}.", f"To confirm, open {link}."),
        then,
        _api("organisations/signup/verify", token),
        _until(expires_at),
        Text("Si ce n'était pas vous, ignorez ce message : l'inscription expirera d'elle-même.",
             "If it was not you, ignore this message: the sign-up will expire by itself."),
    ])


def password_reset(*, to: str, token: str, expires_at: datetime, links_base_url: str) -> Mail:
    link = f"{links_base_url.rstrip('/')}/password-reset#token={token}"
    return Mail(to=to, subject=Text("Réinitialisation de votre mot de passe", "Resetting your password"), paragraphs=[
        Text(f"Pour choisir un nouveau mot de passe, ouvrez {link}.", f"To choose a new password, open {link}."),
        _api("auth/password-reset/confirm", token),
        _until(expires_at),
        Text("Toutes vos sessions ouvertes seront fermées. Si vous n'avez rien demandé, ignorez ce message.",
             "Every open session of yours will be closed. If you asked for nothing, ignore this message."),
    ])


async def send(
    mailer: Mailer, mail_from: str, mail: Mail, *, on_result: Callable[[bool], Awaitable[None]] | None = None
) -> None:
    """Hand the mail over; never raises (a background task has no one to answer). `on_result` hears whether it
    left."""
    try:
        await mailer.send(mail.message(mail_from))
        sent = True
    except Exception:
        # Addresses stay out of the logs.
        log.warning("mail not sent: %s", mail.subject.en, exc_info=True)
        sent = False
    if on_result is not None:
        try:
            await on_result(sent)
        except Exception:
            log.exception("outcome of a mail not recorded: %s", mail.subject.en)
