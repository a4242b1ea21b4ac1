"""Every error announcer raises on purpose, each starting with where it came from."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input, located as precisely as the input allows."""

    source: str
    message: str
    line: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = self.source if self.line is None else f"{self.source}:{self.line}"
        what = self.message if self.field is None else f"{self.field}: {self.message}"
        return f"{where}: {what}"


class AnnouncerError(Exception):
    """Base of every error announcer raises on purpose."""


class InputError(AnnouncerError):
    """Raised when an input file (event, recipients, settings) is wrong; nothing is sent."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))

    def __reduce__(self) -> tuple[type[InputError], tuple[tuple[Problem, ...]]]:
        """Pickled as its problems (it travels from a sending process to the parent)."""
        return type(self), (self.problems,)


class EventError(InputError):
    """Raised when an event file cannot be read or does not describe a valid event."""


class RecipientsError(InputError):
    """Raised when a recipients list is unreadable, malformed, empty or holds a bad address."""


class SettingsError(InputError):
    """Raised when `announcer.toml` or a secret it needs from the environment is wrong."""


class AnnouncementError(InputError):
    """Raised when an announcement given to `announcer import` cannot be read, or its event file
    cannot be written."""


class TemplateError(AnnouncerError):
    """Raised when a template is missing, does not compile, or fails while rendering."""


class DeliveryError(AnnouncerError):
    """Raised when a transport cannot deliver or store a message."""


class DeliveryFailure(DeliveryError):
    """Base of the outcomes of one message that did not go through; `reply` is the server's word."""

    def __init__(self, reply: str) -> None:
        self.reply = reply
        super().__init__(reply)


class TemporaryFailure(DeliveryFailure):
    """Raised for a 4xx reply, or a connection lost before the message was handed over: retry."""


class PermanentFailure(DeliveryFailure):
    """Raised for a 5xx reply: this recipient will not get the message; others may."""


class InDoubt(DeliveryFailure):
    """Raised when the connection is lost after the whole message went out, before the reply.

    The server may or may not have accepted it, so it is never re-sent without being asked.
    """


class JournalError(AnnouncerError):
    """Raised when the journal cannot be opened or written, or another send holds it."""


class PostgresError(Exception):
    """A statement PostgreSQL refused, or a connection lost (psycopg's error, in its words):
    raised by the journal's PostgreSQL connection, read as a JournalError where it is handled."""


class MailboxError(InputError):
    """Raised when the mailbox to read replies from is missing or is not a mailbox."""
