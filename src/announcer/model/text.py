"""The kinds of text an input may hold: one line, Markdown, a web URL, an address, a file name."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email
from email_validator.rfc_constants import CASE_INSENSITIVE_MAILBOX_NAMES
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict

MAX_LINE = 500  # characters in a one-line field: a long title has about 150
MAX_MARKDOWN = 50_000  # characters in a long text: the seed's abstract has about 2,000

_LINE_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_MARKDOWN_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Bidi embeddings, overrides and isolates, and invisible characters: they can make text read
# differently from what it is (a sender, a link). Joiners (U+200C, U+200D) stay: scripts need them.
_DECEPTIVE = re.compile(r"[\u202a-\u202e\u2066-\u2069\u200b\u2060\ufeff\u061c]")
# Unicode's noncharacters (and lone surrogates): never text, and XML cannot hold U+FFFE or U+FFFF.
_NONCHARACTER = re.compile(
    "[\ufdd0-\ufdef\ud800-\udfff"
    + "".join(f"{chr(plane << 16 | 0xFFFE)}{chr(plane << 16 | 0xFFFF)}" for plane in range(17))
    + "]"
)
# What a stranger's text may not put on our terminal: controls, the deceptive characters, the marks
# that steer direction (U+200E, U+200F: an organiser's own text may need them, a stranger's not),
# noncharacters.
_UNSHOWN = re.compile(
    "|".join((_LINE_CONTROL.pattern, _DECEPTIVE.pattern, "[\u200e\u200f]", _NONCHARACTER.pattern))
)
# An RFC 2047 encoded word: decoded by mail readers, it could carry a line break into a header.
_ENCODED_WORD = re.compile(r"=\?[^?\s]*\?[bBqQ]\?[^?\s]*\?=")


def line_problem(value: str) -> str | None:
    """What makes `value` unfit for one line that may end up in a header, or None."""
    if len(value) > MAX_LINE:
        return f"is {len(value):,} characters long: one line holds at most {MAX_LINE}"
    if found := _LINE_CONTROL.search(value):
        return f"must be one line: it holds {_named(found[0])}"
    return _deception(value) or (
        "holds an encoded word (=?...?=): write the text itself; announcer encodes what it sends"
        if _ENCODED_WORD.search(value)
        else None
    )


def _named(character: str) -> str:
    """A control character as an organiser would call it."""
    if character in "\r\n\u2028\u2029\x85":
        return "a line break"
    if character == "\t":
        return "a tab"
    return f"a control character (U+{ord(character):04X})"


def _deception(value: str) -> str | None:
    if found := _DECEPTIVE.search(value):
        return (
            f"holds an invisible or direction-changing character (U+{ord(found[0]):04X}), "
            "which can make text read as something else: delete it"
        )
    if found := _NONCHARACTER.search(value):
        return (
            f"holds U+{ord(found[0]):04X}, which is not a character (a file damaged in copying?): delete it"
        )
    return None


def _scalar_to_str(value: Any) -> Any:
    """YAML reads `volume: 407` as a number; such fields are text."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


def shown_safely(value: str, limit: int = 120) -> str:
    """Text from a stranger (a reply's name) fit to print on one line: control, invisible and
    direction-changing characters shown as U+FFFD, and at most `limit` characters."""
    value = _UNSHOWN.sub("\ufffd", value.strip())
    return value if len(value) <= limit else value[: limit - 1] + "…"


EXCERPT = 60  # characters of a value an error quotes: enough to find it, never a whole file of it


def excerpt(value: str) -> str:
    """`value` as an error quotes it: on one line, at most EXCERPT characters, quoted as Python
    would (`'next Friday'`), control and invisible characters shown as U+FFFD."""
    return repr(shown_safely(value, EXCERPT))


def did_you_mean(word: str, known: Iterable[str] | Mapping[str, str], *, cutoff: float = 0.6) -> str:
    """` (did you mean 'title'?)` when `word` looks like one of `known` (case aside: `Title` is
    'title'), else nothing: the one way a misspelt key, zone or template field gets its hint.
    `known` may map what a word is compared with to what is suggested (a city to its zone);
    `cutoff` is how alike they must be (difflib's ratio)."""
    pairs = known.items() if isinstance(known, Mapping) else ((name, name) for name in known)
    by_case = {compared.casefold(): meant for compared, meant in pairs}
    close = difflib.get_close_matches(word.casefold(), by_case, n=1, cutoff=cutoff)
    return f" (did you mean {by_case[close[0]]!r}?)" if close else ""


def single_line(value: str) -> str:
    """One line of text: it may end up in a header, so no line breaks or control characters."""
    value = value.strip()
    if not value:
        raise ValueError("must not be empty")
    if problem := line_problem(value):
        raise ValueError(problem)
    return value


def _markdown(value: str) -> str:
    value = value.strip().replace("\r\n", "\n")
    if not value:
        raise ValueError("must not be empty")
    if len(value) > MAX_MARKDOWN:
        raise ValueError(f"is {len(value):,} characters long: at most {MAX_MARKDOWN:,} fit in an email")
    if found := _MARKDOWN_CONTROL.search(value):
        raise ValueError(f"holds {_named(found[0])}: delete it")
    if problem := _deception(value):
        raise ValueError(problem)
    return value


def _web_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{excerpt(value)} is not an absolute http(s) URL")
    if re.search(r"\s", value):
        raise ValueError(f"{excerpt(value)} contains white space")
    return value


def _secure_url(value: str) -> str:
    """A web address checked as `_web_url` does, and by https: it is published after the talk,
    on the site and in feeds, where a plain http link is one a network on the way may change."""
    if urlsplit(value).scheme != "https":
        raise ValueError(f"{excerpt(value)} is not an https:// address: give the https one")
    return value


# The everyday address (a dot-atom at a plain ASCII domain), a strict subset of what
# email-validator accepts, checked without it: a list of 100,000 is read twice per send.
_PLAIN_ADDRESS = re.compile(
    r"(?P<local>[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*)"
    r"@(?P<domain>(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63})"
)


def _plain_address(value: str) -> str | None:
    """`value` normalised as email-validator would (domain in lower case), if it is everyday."""
    match = _PLAIN_ADDRESS.fullmatch(value)
    if match is None or len(value) > 254 or len(match["local"]) > 64 or len(match["domain"]) > 253:
        return None
    domain = match["domain"].lower()
    if "--" in domain or domain.rpartition(".")[2] in SPECIAL_USE_DOMAIN_NAMES:
        return None  # punycode and reserved names: left to email-validator
    if match["local"].lower() in CASE_INSENSITIVE_MAILBOX_NAMES:
        return None  # RFC 2142's role names (Postmaster@): email-validator writes them in lower case
    return f"{match['local']}@{domain}"


def check_address(value: str) -> str:
    """A deliverable-looking address in its ASCII form (IDN domains as punycode)."""
    if (plain := _plain_address(value)) is not None:
        return plain
    try:
        checked = validate_email(value, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as error:
        raise ValueError(f"{excerpt(value)} is not a valid email address: {error}") from None
    return checked.ascii_email or checked.normalized


def _file_name(value: Any) -> Any:
    """A file named in the settings is shown in messages: one line, as a `Line` is."""
    return single_line(value) if isinstance(value, str) else value


Line = Annotated[str, BeforeValidator(_scalar_to_str), AfterValidator(single_line)]
FileName = Annotated[Path, BeforeValidator(_file_name)]
Markdown = Annotated[str, AfterValidator(_markdown)]
WebURL = Annotated[str, AfterValidator(single_line), AfterValidator(_web_url)]
SecureURL = Annotated[WebURL, AfterValidator(_secure_url)]
Address = Annotated[str, AfterValidator(single_line), AfterValidator(check_address)]


class Strict(BaseModel):
    """A model that refuses unknown keys and cannot change once read."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)
