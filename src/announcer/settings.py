"""`announcer.toml` read into a model; secrets come from the environment only."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import tomllib
from base64 import urlsafe_b64encode
from datetime import date
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, Field, ValidationError, field_validator

from announcer import factories
from announcer.errors import Problem, SettingsError
from announcer.loading import Loc, display_path, read_text, validation_problems
from announcer.model import Address, EventDefaults, Line, Markdown, Strict, WebURL

UNSUBSCRIBE_SECRET_VARIABLE = "ANNOUNCER_UNSUBSCRIBE_SECRET"  # noqa: S105 (a name, not a secret)
SMTP_PASSWORD_VARIABLE = "ANNOUNCER_SMTP_PASSWORD"  # noqa: S105
DKIM_KEY_VARIABLE = "ANNOUNCER_DKIM_PRIVATE_KEY"


def _colour(value: str) -> str:
    if not re.fullmatch(r"#[0-9a-fA-F]{6}", value):
        raise ValueError(f"{value!r} is not a colour like #1f4e79")
    return value.lower()


def _list_id(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)+", value):
        raise ValueError(f"{value!r} is not a list id like seminars.example.org (RFC 2919)")
    return value


Colour = Annotated[str, AfterValidator(_colour)]


class Sender(Strict):
    name: Line
    email: Address
    reply_to: Address | None = None

    @property
    def domain(self) -> str:
        return self.email.rpartition("@")[2]


class MailingList(Strict):
    id: Annotated[str, AfterValidator(_list_id)]
    unsubscribe_url: WebURL | None = None
    unsubscribe_mailto: Address | None = None

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
    connections: int = Field(default=1, ge=1, le=1, description="one connection, reused")
    ca_file: Path | None = None
    timeout_seconds: float = Field(default=60, gt=0, le=600)
    retries: int = Field(default=4, ge=0, le=20)
    retry_delay_seconds: float = Field(default=5, ge=0, le=3600)


class DKIM(Strict):
    """DKIM signing: the key from `key_file` or the environment's ANNOUNCER_DKIM_PRIVATE_KEY."""

    domain: Line
    selector: Line
    key_file: Path | None = None


class Brand(Strict):
    accent: Colour = "#1f4e79"
    logo_url: WebURL | None = None
    logo_alt: Line | None = None
    footer: Markdown | None = None


def _language(value: str) -> str:
    if not re.fullmatch(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*", value):
        raise ValueError(f"{value!r} is not a language tag like en or sv")
    return value


class Defaults(EventDefaults):
    language: Annotated[str, AfterValidator(_language)] = "en"


class Settings(Strict):
    """Everything `announcer.toml` says, plus where it lives (the workspace)."""

    sender: Sender
    list_: MailingList | None = Field(default=None, alias="list")
    smtp: SMTP | None = None
    dkim: DKIM | None = None
    brand: Brand = Brand()
    defaults: Defaults = Defaults()
    workspace: Path = Field(default=Path("."), exclude=True)

    def today(self) -> date:
        """Today's date in the settings' time zone."""
        return factories.utc_now().astimezone(ZoneInfo(self.defaults.timezone)).date()

    def unsubscribe_url_for(self, address: str) -> str | None:
        """The recipient's own unsubscribe URL, `{token}` filled from the environment's secret."""
        url = self.list_.unsubscribe_url if self.list_ else None
        if url is None or "{token}" not in url:
            return url
        return url.replace("{token}", unsubscribe_token(address))


def unsubscribe_token(address: str) -> str:
    """An opaque per-address token: an HMAC under a secret, so no address appears in a URL."""
    secret = os.environ.get(UNSUBSCRIBE_SECRET_VARIABLE, "")
    if not secret:
        raise SettingsError([_missing_secret()])
    digest = hmac.new(secret.encode(), address.lower().encode(), hashlib.sha256).digest()
    return urlsafe_b64encode(digest[:18]).decode()


def secret_problems(settings: Settings) -> list[Problem]:
    """Secrets the settings call for that the environment does not hold."""
    url = settings.list_.unsubscribe_url if settings.list_ else None
    if url and "{token}" in url and not os.environ.get(UNSUBSCRIBE_SECRET_VARIABLE):
        return [_missing_secret()]
    return []


def _missing_secret() -> Problem:
    return Problem(
        "announcer.toml",
        f"set {UNSUBSCRIBE_SECRET_VARIABLE} in the environment",
        field="[list].unsubscribe_url holds {token}",
    )


def smtp_password(settings: Settings) -> str | None:
    """The SMTP password, from the environment only; required when a username is set."""
    if settings.smtp is None or settings.smtp.username is None:
        return None
    password = os.environ.get(SMTP_PASSWORD_VARIABLE)
    if not password:
        raise _settings_error("[smtp].username is set", f"set {SMTP_PASSWORD_VARIABLE} in the environment")
    return password


def dkim_key(settings: Settings) -> bytes | None:
    """The DKIM private key (PEM): from `[dkim].key_file`, else from the environment."""
    if settings.dkim is None:
        return None
    if settings.dkim.key_file is not None:
        path = settings.workspace / settings.dkim.key_file
        try:
            return path.read_bytes()
        except OSError as exc:
            raise _settings_error("[dkim].key_file", f"cannot read {path}: {exc.strerror}") from None
    key = os.environ.get(DKIM_KEY_VARIABLE)
    if not key:
        raise _settings_error("[dkim]", f"set key_file, or {DKIM_KEY_VARIABLE} in the environment")
    return key.encode()


def _settings_error(field: str, message: str) -> SettingsError:
    return SettingsError([Problem("announcer.toml", message, field=field)])


def load_settings(path: Path) -> Settings:
    """The settings in `path`; its folder is the workspace."""
    source = display_path(path)
    if not path.is_file():
        raise SettingsError(
            [
                Problem(
                    source,
                    "not found: run announcer in your workspace, or name the file with --config",
                )
            ]
        )
    text = read_text(path, SettingsError)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+)", str(exc))
        line = int(match.group(1)) if match else None
        raise SettingsError([Problem(source, f"not valid TOML: {exc}", line=line)]) from None
    data["workspace"] = path.resolve().parent
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        problems = validation_problems(exc, source, lambda loc: _toml_line(text, loc), Settings)
        raise SettingsError([_as_table(problem) for problem in problems]) from None


def _as_table(problem: Problem) -> Problem:
    """`sender.email` reads as `[sender].email` in a TOML file."""
    if problem.field and "." in problem.field:
        table, _, rest = problem.field.partition(".")
        return Problem(problem.source, problem.message, problem.line, f"[{table}].{rest}")
    if problem.field:
        return Problem(problem.source, problem.message, problem.line, f"[{problem.field}]")
    return problem


def _toml_line(text: str, loc: Loc) -> int | None:
    """The line of `[table]` or of `key =` inside it (tomllib keeps no positions)."""
    if not loc:
        return None
    table, key = str(loc[0]), (str(loc[1]) if len(loc) > 1 else None)
    in_table, table_line = False, None
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("["):
            in_table = stripped.strip("[] ") == table
            table_line = number if in_table else table_line
        elif in_table and key and re.match(rf"{re.escape(key)}\s*=", stripped):
            return number
    return table_line
