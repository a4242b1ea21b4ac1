"""`settings` in a template: the name the templates' context had for what is now `sender`,
`mailing`, `brand`, `site` and `default_zone`, kept for a release so that a workspace's own
templates written for it still render, each telling once which name to write instead."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from types import FrameType

from announcer.model.settings import Brand, Letterhead, MailingList, Sender, Site
from announcer.paths import display_path

log = logging.getLogger(__name__)

NEW_NAMES = "sender, mailing, brand, site, default_zone"  # what the context names them now
_told: set[str] = set()  # templates told already in this run (by their file): once each


class OldDefaults:
    """`settings.defaults` as templates read it: the workspace's time zone and language."""

    TEMPLATE_NOUN = "settings.defaults"  # what an error calls it (`theme._noun`)

    def __init__(self, zone: str, language: str) -> None:
        self._zone, self._language = zone, language

    @property
    def timezone(self) -> str:
        _tell("settings.defaults.timezone", "default_zone")
        return self._zone

    @property
    def language(self) -> str:
        _tell("settings.defaults.language", "language", "the language of the message it writes")
        return self._language


class SettingsAlias:
    """Deprecated: `settings.sender`, `settings.list_`, `settings.brand`, `settings.site` and
    `settings.defaults` answer as before, and the first of them a template reads logs a warning
    naming that template, its line and the name to write. Anything else (`settings.smtp`) is a
    template error listing what there is: the templates never reach the rest of the settings."""

    TEMPLATE_NOUN = "settings (deprecated)"  # what an error calls it (`theme._noun`)

    def __init__(self, letterhead: Letterhead) -> None:
        self._letterhead = letterhead

    @property
    def sender(self) -> Sender:
        _tell("settings.sender", "sender")
        return self._letterhead.sender

    @property
    def list_(self) -> MailingList | None:
        _tell("settings.list_", "mailing")
        return self._letterhead.mailing

    @property
    def brand(self) -> Brand:
        _tell("settings.brand", "brand")
        return self._letterhead.brand

    @property
    def site(self) -> Site | None:
        _tell("settings.site", "site")
        return self._letterhead.site

    @property
    def defaults(self) -> OldDefaults:  # told by what is read of it
        return OldDefaults(self._letterhead.default_zone, self._letterhead.default_language)


def _tell(old: str, new: str, meaning: str = f"the context's names: {NEW_NAMES}") -> None:
    """The warning for the template reading `old`, the first time it does in this run."""
    frame = _template_frame(sys._getframe(1))
    if frame is None:  # read from Python, not a template: nobody to tell
        return
    filename = frame.f_code.co_filename
    if filename in _told:
        return
    _told.add(filename)
    template = frame.f_globals.get("__jinja_template__")
    line = template.get_corresponding_lineno(frame.f_lineno) if template is not None else frame.f_lineno
    where = display_path(Path(filename))
    log.warning(
        "%s:%d: `%s` is deprecated and goes in a coming release: write `%s` (%s)",
        where,
        line,
        old,
        new,
        meaning,
    )


def _template_frame(frame: FrameType | None) -> FrameType | None:
    """The frame of the template whose code reads the name (Jinja compiles each with its file's name)."""
    while frame is not None and not frame.f_code.co_filename.endswith(".j2"):
        frame = frame.f_back
    return frame
