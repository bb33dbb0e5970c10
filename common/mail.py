"""Sending mail: one small interface, SMTP in deployments, a folder of .eml files in development.
Used by funding (the holders' notifications) and identity (invitations, sign-up checks, password resets)."""

import logging
import os
import smtplib
import ssl
import tempfile
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

import anyio.to_thread

from common.settings import MailSettings

log = logging.getLogger("mail")


class Mailer(Protocol):
    async def send(self, message: EmailMessage) -> None:
        """Hand the message over for delivery, or raise."""
        ...


@dataclass(frozen=True)
class SmtpMailer:
    """The stdlib's smtplib, in a worker thread: its calls block."""

    host: str
    port: int = 25
    starttls: bool = False
    username: str | None = None
    password: str = field(default="", repr=False)
    timeout: float = 10.0

    async def send(self, message: EmailMessage) -> None:
        await anyio.to_thread.run_sync(self._send, message)

    def _send(self, message: EmailMessage) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self.username:
                smtp.login(self.username, self.password)
            refused = smtp.send_message(message)
        if refused:
            # The others accepted it: sending again would write to them twice. Said in the log for the operator.
            log.warning("recipients refused: %s", ", ".join(sorted(refused)))


@dataclass(frozen=True)
class FolderMailer:
    """Each message as an .eml file: what a developer opens instead of a mailbox."""

    folder: Path

    async def send(self, message: EmailMessage) -> None:
        await anyio.to_thread.run_sync(self._write, message)

    def _write(self, message: EmailMessage) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        target = self.folder / f"{stamp}-{uuid.uuid4().hex}.eml"
        # Written under a hidden temporary name then renamed: whoever lists *.eml never reads half a message.
        descriptor, temporary = tempfile.mkstemp(dir=self.folder, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(descriptor, "wb") as file:
                file.write(message.as_bytes())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return target


def mailer_from_settings(settings: MailSettings) -> Mailer:
    """SMTP when a host is set, the mail folder otherwise."""
    if settings.mail_smtp_host:
        return SmtpMailer(
            host=settings.mail_smtp_host,
            port=settings.mail_smtp_port,
            starttls=settings.mail_smtp_starttls,
            username=settings.mail_smtp_username,
            password=settings.mail_smtp_password,
            timeout=settings.mail_smtp_timeout_seconds,
        )
    return FolderMailer(Path(settings.mail_folder))
