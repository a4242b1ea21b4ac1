"""The unsubscribe page in each language and at each step, rendered once and kept: it carries
neither the token nor the address (its forms post to the URL they came from), so every reader
of a language gets the very same bytes."""

from __future__ import annotations

import hashlib
import re
from base64 import b64encode
from dataclasses import dataclass
from enum import StrEnum

from announcer.languages import available
from announcer.model.settings import Letterhead
from announcer.render.content import Renderer

TEMPLATE = "site/unsubscribe.html.j2"
_NONE = "'none'"
_STYLE = re.compile(r"<style>(.*?)</style>", re.DOTALL)


class Step(StrEnum):
    """Where the reader stands on the page: what it says and which button it shows."""

    ASK = "ask"  # a GET: nothing changed, one button to unsubscribe
    LEFT = "left"  # unsubscribed: one button to undo
    BACK = "back"  # subscribed again: one button to unsubscribe


@dataclass(frozen=True)
class Page:
    body: bytes
    policy: str  # its Content-Security-Policy: its own inline styles, forms to itself, nothing else


class Pages:
    """The unsubscribe pages of a workspace (its `templates/site/unsubscribe.html.j2` if it has
    one), by language and step."""

    def __init__(self, letterhead: Letterhead) -> None:
        self._renderer = Renderer(letterhead)
        self._made: dict[tuple[str, Step], Page] = {}
        for language in available():  # a template error shows at the start, not at a reader's click
            for step in Step:
                self.page(language, step)

    def page(self, language: str, step: Step) -> Page:
        """The page of `step` in `language` (a tag the ledger holds: checked when it was sent)."""
        key = (language, step)
        if key not in self._made:
            context = self._renderer.context(language, step=step.value)
            html = self._renderer.theme(language).render(TEMPLATE, context)
            self._made[key] = Page(html.encode(), _policy(html))
        return self._made[key]


def _policy(html: str) -> str:
    hashes = " ".join(
        f"'sha256-{b64encode(hashlib.sha256(style.encode()).digest()).decode()}'"
        for style in _STYLE.findall(html)
    )
    return (
        f"default-src 'none'; style-src {hashes or _NONE}; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    )
