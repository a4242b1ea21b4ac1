"""The languages an email is written in: one gettext catalog (`locales/<language>.po`) each, and
Babel's CLDR data for dates and times. A new language is one `.po` file and no code.

A message a catalog lacks is written in English; `check` says which (`untranslated`).
"""

from __future__ import annotations

import gettext
import re
from collections.abc import Iterable
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING

from announcer.model.text import excerpt

if TYPE_CHECKING:  # Babel's catalog tools are imported when a catalog is read, not by every command
    from babel.messages.catalog import Catalog

CATALOGS = Path(__file__).with_name("locales")
SOURCE = "en"  # the language the templates and code are written in
# A bare "en" writes dates the British way (6 March, a 24-hour clock), as the emails always have;
# "en-US" and any other tag with a region take that region's customs from CLDR.
_REGION_OF = {"en": "GB"}
_TAG = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*")


@cache
def available() -> tuple[str, ...]:
    """The languages there is a catalog for, English first."""
    return (SOURCE, *sorted(path.stem for path in CATALOGS.glob("*.po") if path.stem != SOURCE))


def language_tag(value: str) -> str:
    """`value` as a language tag the emails can be written in ("sv", "de-CH"); ValueError if not."""
    value = value.strip()
    if not _TAG.fullmatch(value):
        raise ValueError(f"{excerpt(value)} is not a language tag like en, sv or de-CH")
    if value.split("-")[0] not in available():
        names = ", ".join(available())
        raise ValueError(
            f"{excerpt(value)}: the emails can be written in {names} (a new language is one .po file)"
        )
    if "-" in value and not _known_locale(locale_name(value)):
        raise ValueError(
            f"{excerpt(value)}: CLDR knows no such language and region (write them as de-CH, en-US)"
        )
    return value


@cache
def _known_locale(name: str) -> bool:
    from babel import Locale, UnknownLocaleError

    try:
        Locale.parse(name)
    except (UnknownLocaleError, ValueError):
        return False
    return True


def locale_name(tag: str) -> str:
    """The Babel locale whose dates `tag` writes: "en" → "en_GB", "de-CH" → "de_CH"."""
    language, _, region = tag.partition("-")
    region = region or _REGION_OF.get(language, "")
    return f"{language}_{region}" if region else language


@cache
def text_direction(tag: str) -> str:
    """Which way a language's text runs, as HTML's `dir` says it: "ltr" or "rtl"."""
    from babel import Locale

    return "rtl" if Locale.parse(locale_name(tag)).text_direction == "rtl" else "ltr"


@cache
def translations(tag: str) -> gettext.NullTranslations:
    """The catalog of a language tag's language (read once a process); English needs none."""
    language = tag.split("-")[0]
    if language == SOURCE:
        return gettext.NullTranslations()
    from babel.messages.mofile import write_mo

    compiled = BytesIO()
    write_mo(compiled, _catalog(language))  # fuzzy entries stay out: they are not translations yet
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def untranslated(tag: str, messages: Iterable[str]) -> list[str]:
    """The `messages` a language's catalog has no translation for (they are written in English)."""
    language = tag.split("-")[0]
    if language == SOURCE:
        return []
    done = {
        message.id if isinstance(message.id, str) else message.id[0]
        for message in _catalog(language)
        if message.id and message.string and not message.fuzzy and all(_strings(message.string))
    }
    return sorted(set(messages) - done)


def source_messages() -> set[str]:
    """Every message the code and the packaged templates write (the catalog template, `.pot`)."""
    return {
        message.id if isinstance(message.id, str) else message.id[0] for message in _template() if message.id
    }


@cache
def _catalog(language: str) -> Catalog:
    from babel.messages.pofile import read_po

    with (CATALOGS / f"{language}.po").open("rb") as file:
        return read_po(file, locale=language)


def _template() -> Catalog:
    from babel.messages.pofile import read_po

    with (CATALOGS / "announcer.pot").open("rb") as file:
        return read_po(file)


def _strings(value: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)
