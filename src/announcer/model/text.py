"""The kinds of text an input may hold: one line, Markdown, a web URL, an address."""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict

CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")
_MARKDOWN_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _scalar_to_str(value: Any) -> Any:
    """YAML reads `volume: 407` as a number; such fields are text."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


def single_line(value: str) -> str:
    """One line of text: it may end up in a header, so no line breaks or control characters."""
    value = value.strip()
    if not value:
        raise ValueError("must not be empty")
    if CONTROL_CHARACTERS.search(value):
        raise ValueError("must be a single line without control characters (CR, LF, tab, ...)")
    return value


def _markdown(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be empty")
    if _MARKDOWN_CONTROL.search(value.replace("\r\n", "\n")):
        raise ValueError("must not contain control characters")
    return value.replace("\r\n", "\n")


def _web_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{value!r} is not an absolute http(s) URL")
    if re.search(r"\s", value):
        raise ValueError(f"{value!r} contains white space")
    return value


def check_address(value: str) -> str:
    """A deliverable-looking address in its ASCII form (IDN domains as punycode)."""
    try:
        checked = validate_email(value, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as error:
        raise ValueError(f"{value!r} is not a valid email address: {error}") from None
    return checked.ascii_email or checked.normalized


Line = Annotated[str, BeforeValidator(_scalar_to_str), AfterValidator(single_line)]
Markdown = Annotated[str, AfterValidator(_markdown)]
WebURL = Annotated[str, AfterValidator(single_line), AfterValidator(_web_url)]
Address = Annotated[str, AfterValidator(single_line), AfterValidator(check_address)]


class Strict(BaseModel):
    """A model that refuses unknown keys and cannot change once read."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)
