"""The send pipeline every sending verb runs: readers → composers → transport, journaled.

A verb loads what it sends and says which kind of message it is; from there one path serves
them all: the settings branded for the event, the SEQUENCEs (and the journal, for a real send),
each reader's message in their language, the edition settled, the delivery key, the transport
the registry builds, and the run.
"""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from announcer.audience.ledger import AudienceLedger, Standing, State, left_out, list_id_of
from announcer.audience.tokens import unsubscribe_token, verp_token
from announcer.compose.message import Composer, Outgoing
from announcer.deliver.delivery import Deliverer, Pace, Resend, Summary
from announcer.deliver.ledger import Ledger, mark_told, received
from announcer.deliver.transports import TRANSPORTS, Secrets, TransportName
from announcer.errors import JournalError, Problem, RecipientsError
from announcer.history import CalendarHistory, history
from announcer.kinds import KINDS, kind_of_key
from announcer.lifecycle import Edition, Sequences, snapshot_of
from announcer.load.recipients import Checked, open_recipients
from announcer.load.secrets import SMTP_PASSWORD_VARIABLE, dkim_key, smtp_password
from announcer.model.named import NamedEvent
from announcer.model.recipient import Recipient
from announcer.model.settings import Settings
from announcer.model.text import check_address
from announcer.paths import display_path
from announcer.reader import reader_language
from announcer.render.content import RenderedContent


@dataclass(frozen=True)
class SendOptions:
    """How to send: through which transport, how fast, and whom to send to again."""

    transport: TransportName = TransportName.DRY_RUN
    outbox: Path = Path("outbox")
    resend: Resend = Resend.NOBODY
    per_minute: float | None = None
    test_to: str | None = None

    @property
    def reaches_people(self) -> bool:
        """Whether its messages reach a person (a test send too): everything but the dry run."""
        return TRANSPORTS[self.transport].reaches_people

    @property
    def journaled(self) -> bool:
        """Only a send that reaches the list is journaled: not a dry run, not a test send."""
        return self.reaches_people and self.test_to is None


# A send names the readers it leaves out, the latest changes first (what the organiser has not
# seen yet), up to this many; `announcer audience list` names them all.
NAMED_LEFT_OUT = 10


@dataclass(frozen=True)
class SendReport:
    """What a send did."""

    slug: str
    key: str
    recipients: int
    summary: Summary
    warnings: tuple[Problem, ...] = field(default_factory=tuple)
    left_out: Mapping[State, int] = field(default_factory=lambda: MappingProxyType({}))  # by standing
    left_out_named: tuple[Standing, ...] = ()  # the latest NAMED_LEFT_OUT of them, newest first
    journal: Path | None = None  # the workspace whose journal holds the send (a real send)

    def mark_told(self) -> None:
        """The doubts this report names have been shown to the user: later runs count them
        without telling them again. Called once they are printed, so a run that stops before
        (an error, a kill) leaves them to be told by the next; a mark the journal cannot take
        now is the same."""
        if self.journal is not None and self.summary.doubts:
            with suppress(JournalError):
                mark_told(self.journal, self.key, self.summary.doubts)


@dataclass(frozen=True)
class Hooks:
    """How a send talks to its user: notices, and the progress of the run."""

    announce: Callable[[str], None] = lambda text: None
    start: Callable[[int], None] = lambda total: None
    advance: Callable[[], None] = lambda: None
    # A file of a folder of events left out (a draft, a broken file), for the verb to name and
    # to say in its exit status; the work that is due goes on without it.
    skip: Callable[[Problem], None] = lambda problem: None


DRY_RUN = SendOptions()  # the safe default of every sending verb: a dry run, at full speed
SILENT = Hooks()  # no notices, no progress


@dataclass(frozen=True)
class Run:
    """One sending verb's run: its settings, the past sends it reads and, for a real send, the
    delivery ledger it records in (locked, so two sends cannot overlap) and the calendar history
    it settles its edition in."""

    settings: Settings
    options: SendOptions
    hooks: Hooks
    sequences: Sequences
    ledger: Ledger | None
    calendar: CalendarHistory | None  # written by a real send only
    secret: str | None
    left_out: Mapping[str, Standing]  # the list's addresses that sends leave out (see `audience`)
    audience: AudienceLedger | None  # a real send records there the tokens its messages carry

    def settle(self, named: NamedEvent, edition: Edition) -> None:
        """Record the edition a real send carries, and what it tells of the event."""
        if self.calendar is None:
            return
        self.calendar.settle(
            edition.uid, edition.sent, snapshot_of(named.event), edition.previous, rsvp=edition.rsvp
        )

    def received(self, uid: str) -> list[Recipient]:
        """Everyone who has (or may have) the event, as they were written to (see `Ledger.received`)."""
        return self.ledger.received(uid) if self.ledger else received(self.settings.workspace, uid)

    def composers(
        self,
        render: Callable[[str, bool], RenderedContent],
        language: str,
        *,
        settings: Settings | None = None,
        earlier: frozenset[str] = frozenset(),
    ) -> Composers:
        """Each reader's composer: `render(language, told)` made once for each that a reader needs."""
        made_with, secret = settings or self.settings, self.secret

        def make(language: str, told: bool) -> Composer:
            return Composer(render(language, told), made_with.sender, made_with.list_, secret)

        return Composers(made_with, make, language, earlier)

    def deliver(self, composers: Composers, key: str, audience: Audience) -> SendReport:
        """Stream one message per recipient (only the first, for a test send) into the transport,
        leaving out whom the audience ledger says to (see `leaves_out`)."""
        options, hooks = self.options, self.hooks
        settings, content = composers.settings, composers.content
        test_to = _test_address(options.test_to)
        kept, leaving = (audience.recipients, []) if test_to else self._kept(key, audience)
        left = Counter(standing.state for standing in leaving)
        total = 1 if test_to else audience.checked.count - left.total()
        transport = TRANSPORTS[options.transport]
        folder = f"{content.slug}-test" if test_to else content.slug
        deliverer = Deliverer(
            transport.build(settings, _secrets(settings), options.outbox, folder),
            lambda recipient: composers.compose(recipient, deliver_to=test_to),
            journal=self.ledger,
            key=key,
            pace=_pace(settings, options.per_minute),
            resend=options.resend,
            processes=1 if options.per_minute or total < 2 else transport.processes(settings, total),
        )
        hooks.start(total)
        if deliverer.processes > 1:  # every token learned here, before the fork (a forked process
            for _ in self._learning(itertools.islice(kept, total)):  # must not write through this
                pass  # one's connection), then the list streamed again: memory stays flat
            kept = audience.recipients if test_to else self._kept(key, audience)[0]
            recipients: Iterable[Recipient] = itertools.islice(kept, total)
        else:
            recipients = self._learning(itertools.islice(kept, total))
        summary = deliverer.deliver_all(recipients, announce=hooks.announce, advance=hooks.advance)
        newest = sorted(leaving, key=lambda standing: standing.at, reverse=True)[:NAMED_LEFT_OUT]
        return SendReport(
            content.slug,
            key,
            total,
            summary,
            audience.checked.warnings,
            MappingProxyType(dict(left)),
            tuple(newest),
            self.settings.workspace if self.ledger is not None else None,
        )

    def _kept(self, key: str, audience: Audience) -> tuple[Iterable[Recipient], list[Standing]]:
        """The recipients a message of this key goes to, and the standings of those it leaves out."""
        if not self.left_out:
            return audience.recipients, []
        kind = kind_of_key(key)
        to_unsubscribed = kind is not None and KINDS[kind].reaches_unsubscribed
        left_out = self.left_out

        def leaves_out(recipient: Recipient) -> bool:
            standing = left_out.get(recipient.email.lower())
            return standing is not None and not (to_unsubscribed and standing.state is State.UNSUBSCRIBED)

        leaving = [left_out[r.email.lower()] for r in audience.recipients if leaves_out(r)]
        return itertools.filterfalse(leaves_out, audience.recipients), leaving

    def _learning(self, recipients: Iterable[Recipient]) -> Iterator[Recipient]:
        """The recipients, each batch's tokens recorded before any of its messages goes, so that
        `serve` and `inbox` know whom every token that went out names, even after a kill."""
        if self.audience is None or not self.secret:
            yield from recipients
            return
        secret, audience = self.secret, self.audience
        stream = iter(recipients)
        for batch in iter(lambda: list(itertools.islice(stream, 500)), []):
            audience.learn(
                (token, reader.email)
                for reader in batch
                for token in (unsubscribe_token(reader.email, secret), verp_token(reader.email, secret))
            )
            yield from batch


@contextmanager
def run(settings: Settings, options: SendOptions, hooks: Hooks, secret: str | None) -> Iterator[Run]:
    """A run's past sends and ledger: for a real send the ledger, locked, and the calendar history
    in the same file; for dry and test runs the history read as it is, and nothing recorded.
    `secret` is read by the verb before anything else (see `load.secrets.unsubscribe_secret`),
    so a missing one stops it first."""
    list_id = list_id_of(settings)
    if options.journaled:
        with Ledger(settings.workspace) as ledger:
            calendar, audience = CalendarHistory(ledger.file), AudienceLedger(ledger.file, list_id)
            left = audience.left_out()
            yield Run(settings, options, hooks, calendar, ledger, calendar, secret, left, audience)
    else:
        left = left_out(settings.workspace, list_id)
        with history(settings.workspace) as sequences:
            yield Run(settings, options, hooks, sequences, None, None, secret, left, None)


def _pace(settings: Settings, per_minute: float | None) -> Pace:
    """How hard to try and how fast: `[smtp]`'s retries, with the rate asked for."""
    smtp = settings.smtp
    if smtp is None:
        return Pace(per_minute=per_minute)
    return Pace(smtp.retries, smtp.retry_delay_seconds, per_minute, smtp.give_up_after)


class Composers:
    """Each reader's message in the language they see (see `reader_language`) and, for an
    update, the update to those who had an earlier version and an invitation to the others.
    Each is rendered the first time a reader needs it, and once."""

    def __init__(
        self,
        settings: Settings,
        make: Callable[[str, bool], Composer],
        language: str,
        earlier: frozenset[str] = frozenset(),
    ) -> None:
        self.settings = settings
        self._make = make
        self._language = language
        self._earlier = earlier  # the addresses (lowercase) the journal says had the event
        self._made: dict[tuple[str, bool], Composer] = {}
        self._making = threading.Lock()  # several connections compose at once

    def composer(self, language: str, told: bool) -> Composer:
        """The composer of the messages in `language`, for readers told of the event before or not."""
        made = self._made.get((language, told))
        if made is not None:  # every reader but the first of each kind: no lock to take
            return made
        with self._making:
            if (language, told) not in self._made:
                self._made[language, told] = self._make(language, told)
            return self._made[language, told]

    @property
    def content(self) -> RenderedContent:
        """The content most readers get: in the default language (an update, if it is one)."""
        return self.composer(self._language, bool(self._earlier)).content

    def compose(self, recipient: Recipient, *, deliver_to: str | None = None) -> Outgoing:
        told = recipient.email.lower() in self._earlier
        language = reader_language(recipient, self._language)
        return self.composer(language, told).compose(recipient, deliver_to=deliver_to)


def told_before(sending: Run, edition: Edition) -> frozenset[str]:
    """Those who had an earlier version of an update (lowercase addresses), to be told what changed."""
    if not edition.previous:
        return frozenset()
    return frozenset(reader.email for reader in sending.received(edition.uid))


@dataclass(frozen=True)
class Audience:
    """The recipients of `--to`: read in full once, so that a bad list sends nothing, then streamed."""

    recipients: Iterable[Recipient]
    checked: Checked

    @classmethod
    def of(cls, to: str) -> Audience:
        recipients = open_recipients(to)
        return cls(recipients, recipients.check())

    @classmethod
    def from_journal(cls, sending: Run, uid: str, event_path: Path) -> Audience:
        """Everyone who has (or may have) the event, as the ledger says: each with the name,
        language and zone their message had, so that this one greets them the same way."""
        readers = sending.received(uid)
        if not readers:
            message = "nobody has received it yet (dry runs are not journaled): name whom to tell with --to"
            raise RecipientsError([Problem(display_path(event_path), message)])
        return cls(readers, Checked(len(readers), ()))


def list_of(named: NamedEvent, to: str | None, settings: Settings, where: Path) -> str | Problem:
    """Whom an event's messages go to: `to` if given, else its series' list."""
    if to:
        return to
    if named.series and named.series.to:
        written = named.series.to
        return written if "@" in written else str(settings.workspace / written)
    message = f"{named.slug}: no one to send it to: give its series a `to:` list, or name one with --to"
    return Problem(display_path(where), message)


def audiences(lists: list[str | Problem]) -> list[Audience]:
    """Each list read in full, or every problem at once: a bad list sends nothing at all."""
    problems = [item for item in lists if isinstance(item, Problem)]
    if problems:
        raise RecipientsError(problems)
    return [Audience.of(item) for item in lists if isinstance(item, str)]


def _secrets(settings: Settings) -> Secrets:
    """The environment's secrets of this workspace, read when a transport asks for them."""
    return Secrets(
        smtp_password=lambda: smtp_password(settings),
        password_variable=SMTP_PASSWORD_VARIABLE,
        dkim_key=lambda: dkim_key(settings),
    )


def _test_address(address: str | None) -> str | None:
    """`--test-to`, checked like any recipient."""
    if address is None:
        return None
    try:
        return check_address(address)
    except ValueError as exc:
        raise RecipientsError([Problem("--test-to", str(exc))]) from None
