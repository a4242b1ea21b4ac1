"""The settings (`announcer.toml`) as a model; reading the file and the secrets is `load`'s job."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, Field, field_validator

from announcer import clock
from announcer.model.event import EventDefaults
from announcer.model.text import Address, FileName, Line, Markdown, Strict, WebURL, excerpt


def _colour(value: str) -> str:
    if not re.fullmatch(r"#[0-9a-fA-F]{6}", value):
        raise ValueError(f"{excerpt(value)} is not a colour like #1f4e79")
    return value.lower()


def _list_id(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)+", value):
        raise ValueError(f"{excerpt(value)} is not a list id like seminars.example.org (RFC 2919)")
    return value


Colour = Annotated[str, AfterValidator(_colour)]


class Sender(Strict):
    name: Line
    email: Address
    reply_to: Address | None = None

    @property
    def domain(self) -> str:
        return self.email.rpartition("@")[2]


# A VERP address's local part is the bounce address's, "+" and a 24-character token, within
# RFC 5321's 64 octets.
LONGEST_BOUNCE_LOCAL = 64 - 25


def _bounce_address(value: str | None) -> str | None:
    """A bounce address each reader's VERP address can be made from: `local+token@domain`."""
    if value is None:
        return None
    local = value.rpartition("@")[0]
    if "+" in local or local.startswith('"'):
        raise ValueError(
            f"{excerpt(value)}: the part before @ may not hold '+' or quotes: announcer adds "
            "+<token> to it for each reader (use e.g. bounces@lists.example.org)"
        )
    if len(local) > LONGEST_BOUNCE_LOCAL:
        raise ValueError(
            f"{excerpt(value)}: the part before @ is {len(local)} characters long; at most "
            f"{LONGEST_BOUNCE_LOCAL}, so that it and a reader's +<token> keep within 64"
        )
    return value


class MailingList(Strict):
    id: Annotated[str, AfterValidator(_list_id)]
    unsubscribe_url: WebURL | None = None
    unsubscribe_mailto: Address | None = None
    # The envelope sender (where bounces go) becomes this address with each reader's token.
    bounce_address: Annotated[Address | None, AfterValidator(_bounce_address)] = None

    @field_validator("unsubscribe_url")
    @classmethod
    def _only_token_placeholder(cls, value: str | None) -> str | None:
        if value is not None and re.search(r"\{(?!token\})", value):
            raise ValueError("the only placeholder an unsubscribe URL may hold is {token}")
        return value


class SMTP(Strict):
    """The outgoing server. TLS certificates are always verified (system store or `ca_file`)."""

    host: Line
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: Line | None = None
    ca_file: FileName | None = None
    timeout_seconds: float = Field(default=60, gt=0, le=600)
    deadline_seconds: float = Field(default=120, gt=0, le=3600)
    connections: int = Field(default=1, ge=1, le=20)  # used at once; ask your provider's limit
    give_up_after: int = Field(default=5, ge=1, le=1000)
    retries: int = Field(default=4, ge=0, le=20)
    retry_delay_seconds: float = Field(default=5, ge=0, le=3600)


class DKIM(Strict):
    """DKIM signing: the key from `key_file` or the environment's ANNOUNCER_DKIM_PRIVATE_KEY."""

    domain: Line
    selector: Line
    key_file: FileName | None = None


class Inbox(Strict):
    """What `announcer inbox` trusts: the receiving server whose Authentication-Results vouch
    for a sender (its authserv-id), and the CA of a private IMAP server's certificate."""

    authserv_id: Line | None = None
    ca_file: FileName | None = None
    timeout_seconds: float = Field(default=60, gt=0, le=600)


class Brand(Strict):
    accent: Colour = "#1f4e79"
    logo_url: WebURL | None = None
    logo_alt: Line | None = None
    footer: Markdown | None = None


_DATABASE_EXAMPLE = "postgresql://announcer@db.example.org/announcer"
_SECRET_PARAMETERS = ("password", "sslpassword")
# sslmode values that check whose certificate it is; the others let anyone on the way read and
# rewrite the state (who unsubscribed, every token) and catch the password.
VERIFIED_SSLMODES = ("verify-full", "verify-ca")
_LOCAL_HOSTS = ("", "localhost", "127.0.0.1", "::1")


def database_is_local(url: str) -> bool:
    """Whether the database is on this machine (a Unix socket or loopback), where TLS adds nothing."""
    parts = urlsplit(url)
    hosts = [value for name, value in parse_qsl(parts.query) if name == "host"] or [parts.hostname or ""]
    return all(host.startswith("/") or host.lower() in _LOCAL_HOSTS for host in hosts)


def _database_url(value: str) -> str:
    """A PostgreSQL URL without a secret (secrets come from the environment alone), with TLS that
    checks the server's certificate unless the server is this machine. A refused value is never
    shown: written in libpq's other form, it may hold a password."""
    try:
        parts = urlsplit(value)
        password = parts.password
        query = parse_qsl(parts.query)
    except ValueError:
        raise ValueError(f"is not a PostgreSQL URL like {_DATABASE_EXAMPLE}") from None
    if password is not None or any(name.strip().lower() in _SECRET_PARAMETERS for name, _ in query):
        raise ValueError(
            "the URL holds a password: remove it, and set ANNOUNCER_DATABASE_PASSWORD (or PGPASSWORD) "
            "in the environment instead"
        )
    if parts.scheme not in ("postgresql", "postgres") or not (parts.hostname or parts.path.strip("/")):
        raise ValueError(f"is not a PostgreSQL URL like {_DATABASE_EXAMPLE}")
    sslmode = dict(query).get("sslmode")
    if sslmode is not None and sslmode not in VERIFIED_SSLMODES and not database_is_local(value):
        raise ValueError(
            f"sslmode={excerpt(sslmode)} does not check the server's certificate, so anyone on the "
            "way could read and change who unsubscribed: leave sslmode out (verify-full is used)"
        )
    return value


class StateStore(Strict):
    """Where the workspace's state lives (the journal, the calendar history, the audience):
    a PostgreSQL database shared by several machines, or (left out) a SQLite file in the workspace."""

    database: Annotated[str, AfterValidator(_database_url)] | None = None


class Site(Strict):
    """Where `announcer site`'s files are published: the emails then link to the event's page
    and offer the series' calendar to subscribe to."""

    url: WebURL


class Settings(Strict):
    """Everything `announcer.toml` says, plus where it lives (the workspace)."""

    sender: Sender
    list_: MailingList | None = Field(default=None, alias="list")
    smtp: SMTP | None = None
    dkim: DKIM | None = None
    inbox: Inbox | None = None
    site: Site | None = None
    state: StateStore = StateStore()
    brand: Brand = Brand()
    defaults: EventDefaults = EventDefaults()
    workspace: Path = Field(default=Path("."), exclude=True)

    def today(self) -> date:
        """Today's date in the settings' time zone."""
        return clock.utc_now().astimezone(ZoneInfo(self.defaults.timezone)).date()

    @property
    def unsubscribe_url(self) -> str | None:
        """The list's unsubscribe URL as written, `{token}` and all."""
        return self.list_.unsubscribe_url if self.list_ else None


@dataclass(frozen=True)
class Letterhead:
    """What rendering takes from the settings, and nothing more: where the workspace's templates
    are, who sends, the list, the brand, the site, and the workspace's own time zone and language.
    Made once by a verb (`Letterhead.of`), so that the SMTP, DKIM, inbox and state settings never
    reach the templates."""

    workspace: Path  # its `templates/` override the theme's
    sender: Sender
    mailing: MailingList | None  # `[list]`
    brand: Brand
    site: Site | None
    default_zone: str  # `[defaults] timezone`: the workspace's clock, told beside an event's own
    default_language: str  # `[defaults] language`: a digest's, unless a reader's says otherwise

    @classmethod
    def of(cls, settings: Settings) -> Letterhead:
        """The letterhead of these settings (a series' brand already over them: `NamedEvent.branded`)."""
        return cls(
            settings.workspace,
            settings.sender,
            settings.list_,
            settings.brand,
            settings.site,
            settings.defaults.timezone,
            settings.defaults.language,
        )
