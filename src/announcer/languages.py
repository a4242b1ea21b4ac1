"""The languages an email is written in: one gettext catalog (`locales/<language>.po`) each, and
Babel's CLDR data for dates and times. A new language is one `.po` file and no code.

A message a catalog lacks is written in English and remembered, so `check` can say which.
"""

from __future__ import annotations

import gettext
import re
from functools import cache
from io import BytesIO
from pathlib import Path

CATALOGS = Path(__file__).with_name("locales")
SOURCE = "en"  # the language the templates and code are written in
# A bare "en" writes dates the British way (6 March, a 24-hour clock), as the emails always have;
# "en-US" and any other tag with a region take that region's customs from CLDR.
_REGION_OF = {"en": "GB"}
_TAG = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*")


def available() -> tuple[str, ...]:
    """The languages there is a catalog for, English first."""
    return (SOURCE, *sorted(path.stem for path in CATALOGS.glob("*.po") if path.stem != SOURCE))


def language_tag(value: str) -> str:
    """`value` as a language tag the emails can be written in ("sv", "de-CH"); ValueError if not."""
    value = value.strip()
    if not _TAG.fullmatch(value):
        raise ValueError(f"{value!r} is not a language tag like en, sv or de-CH")
    if value.split("-")[0] not in available():
        names = ", ".join(available())
        raise ValueError(f"{value!r}: the emails can be written in {names} (a new language is one .po file)")
    return value


def locale_name(tag: str) -> str:
    """The Babel locale whose dates `tag` writes: "en" → "en_GB", "de-CH" → "de_CH"."""
    language, _, region = tag.partition("-")
    region = region or _REGION_OF.get(language, "")
    return f"{language}_{region}" if region else language


class Translations(gettext.NullTranslations):
    """One language's catalog, remembering each message it had no translation for."""

    def __init__(self, language: str) -> None:
        super().__init__()
        self.language = language
        self.missing: set[str] = set()
        self._known: set[str] = set()
        self._catalog: gettext.NullTranslations = gettext.NullTranslations()
        if language != SOURCE:
            self._load(CATALOGS / f"{language}.po")

    def _load(self, path: Path) -> None:
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        with path.open("rb") as file:
            catalog = read_po(file, locale=self.language)
        compiled = BytesIO()
        write_mo(compiled, catalog)  # fuzzy entries stay out: they are not translations yet
        compiled.seek(0)
        self._catalog = gettext.GNUTranslations(compiled)
        self._known = {
            message.id if isinstance(message.id, str) else message.id[0]
            for message in catalog
            if message.id and message.string and not message.fuzzy and all(_strings(message.string))
        }

    def gettext(self, message: str) -> str:
        self._note(message)
        return self._catalog.gettext(message)

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
        self._note(msgid1)
        return self._catalog.ngettext(msgid1, msgid2, n)

    def _note(self, message: str) -> None:
        if self.language != SOURCE and message not in self._known:
            self.missing.add(message)


def _strings(value: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


@cache
def translations(tag: str) -> Translations:
    """The catalog of a language tag's language (one per process)."""
    return Translations(tag.split("-")[0])
