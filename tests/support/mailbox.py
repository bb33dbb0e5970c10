"""The mails a service wrote into its folder (the development outbox), read as its recipients would."""

import re
import time
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

TOKEN = re.compile(r"\b(?:inv|sgn|pwr)_[A-Za-z0-9_-]{20,}")


class Mailbox:
    def __init__(self, folder: str | Path):
        self.folder = Path(folder)

    def messages(self, to: str | None = None) -> list[EmailMessage]:
        """Oldest first (the files are named by the time they were written)."""
        found = []
        for path in sorted(self.folder.glob("*.eml")) if self.folder.exists() else []:
            message = message_from_bytes(path.read_bytes(), policy=policy.default)
            if to is None or message["To"].lower() == to.lower():
                found.append(message)
        return found

    def body(self, message: EmailMessage) -> str:
        return message.get_content()

    def token(self, to: str, prefix: str, *, wait_seconds: float = 5.0) -> str:
        """The token of the latest mail to that address carrying one of that kind (`inv_`, `sgn_`, `pwr_`).
        A live server writes its mails after answering (a background task): the mail may land a moment after."""
        deadline = time.monotonic() + wait_seconds
        while True:
            for message in reversed(self.messages(to)):
                tokens = [t for t in TOKEN.findall(self.body(message)) if t.startswith(prefix)]
                if tokens:
                    return tokens[0]
            if time.monotonic() >= deadline:
                raise AssertionError(f"no mail with a {prefix} token to {to} in {self.folder}")
            time.sleep(0.05)

    def clear(self) -> None:
        for path in self.folder.glob("*.eml") if self.folder.exists() else []:
            path.unlink()
