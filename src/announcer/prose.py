"""Markdown in the long texts: safe HTML for the email, readable plain text for the rest."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from markdown_it import MarkdownIt
from markdown_it.token import Token
from markupsafe import Markup

_LINK_SCHEMES = re.compile(r"^(https?://|mailto:|tel:)", re.IGNORECASE)


def _email_safe_link(url: str) -> bool:
    """Only links every mail client follows: http(s), mailto and tel."""
    return bool(_LINK_SCHEMES.match(url.strip()))


def _parser(html: bool) -> MarkdownIt:
    # No images: a picture in an abstract would load from someone's server as the email opens
    # (a tracking pixel sent in our name). Speakers' photos have a field of their own.
    parser = MarkdownIt("commonmark", {"html": html}).disable("image")
    parser.validateLink = _email_safe_link  # type: ignore[method-assign]
    return parser


_SAFE = _parser(html=False)  # raw HTML is text: escaped in HTML, shown as typed
_WITH_HTML = _parser(html=True)  # only to find raw HTML and warn about it


@lru_cache(maxsize=1024)  # an abstract is written out several times: HTML, text, calendar, teaser
def to_html(source: str) -> Markup:
    """The Markdown as HTML; any raw HTML in it is escaped, never rendered."""
    return Markup(_SAFE.render(source))  # noqa: S704 (markdown-it escapes everything it does not generate)


@lru_cache(maxsize=1024)
def to_text(source: str, width: int = 72, indent: str = "") -> str:
    """The Markdown as plain text a person would write: wrapped paragraphs, `label (url)` links."""
    return _TextWriter(width, indent).write(_SAFE.parse(source))


def raw_html(source: str) -> list[tuple[int, str]]:
    """Raw HTML in the Markdown (shown as typed, not rendered): (line within the text, piece)."""
    found = []
    for token in _WITH_HTML.parse(source):
        line = token.map[0] if token.map else 0
        if token.type == "html_block":
            found.append((line, token.content.strip()))
        for child in token.children or ():
            if child.type == "html_inline":
                found.append((line, child.content))
    return found


def inline_text(children: Sequence[Token]) -> str:
    """Inline tokens as plain words; a link keeps its address in brackets after its label."""
    parts: list[str] = []
    href = ""
    label_start = 0
    for token in children:
        kind = token.type
        if kind in ("text", "html_inline"):
            parts.append(token.content)
        elif kind == "code_inline":
            parts.append(f"`{token.content}`")
        elif kind == "softbreak":
            parts.append(" ")
        elif kind == "hardbreak":
            parts.append("\n")
        elif kind == "image":
            parts.append(f"{token.content} ({token.attrs.get('src', '')})")
        elif kind == "link_open":
            href, label_start = str(token.attrs.get("href", "")), len(parts)
        elif kind == "link_close":
            label = "".join(parts[label_start:])
            address = href.removeprefix("mailto:")
            if label.strip() != address:
                parts.append(f" ({address})")
    return "".join(parts)


@dataclass
class _ListLevel:
    ordered: bool
    number: int
    tight: bool = False
    items: int = 0


class _TextWriter:
    """Walks markdown-it's block tokens and writes wrapped plain text."""

    def __init__(self, width: int, indent: str) -> None:
        self.width = width
        self.indent = indent
        self.blocks: list[str] = []
        self.quote = 0
        self.lists: list[_ListLevel] = []
        self.marker = ""
        self.heading = 0

    def write(self, tokens: Sequence[Token]) -> str:
        for token in tokens:
            self._take(token)
        return "".join(self.blocks).strip("\n")

    def _take(self, token: Token) -> None:
        kind = token.type
        if kind == "blockquote_open":
            self.quote += 1
        elif kind == "blockquote_close":
            self.quote -= 1
        elif kind in ("bullet_list_open", "ordered_list_open"):
            start = int(token.attrs.get("start", 1) or 1)
            self.lists.append(_ListLevel(kind == "ordered_list_open", start))
        elif kind in ("bullet_list_close", "ordered_list_close"):
            self.lists.pop()
        elif kind == "list_item_open":
            level = self.lists[-1]
            self.marker = f"{level.number}. " if level.ordered else "- "
            level.number += 1
        elif kind == "paragraph_open" and self.lists:
            self.lists[-1].tight = token.hidden
        elif kind == "heading_open":
            self.heading = int(token.tag[1:])
        elif kind == "inline":
            self._paragraph(inline_text(token.children or []))
        elif kind in ("code_block", "fence"):
            code = textwrap.indent(token.content.rstrip("\n"), self._prefix() + "    ")
            self._emit(code)
        elif kind == "hr":
            self._emit(self._prefix() + "* * *")

    def _prefix(self) -> str:
        nesting = "  " * max(len(self.lists) - 1, 0) if self.lists else ""
        return self.indent + "> " * self.quote + nesting

    def _paragraph(self, text: str) -> None:
        prefix = self._prefix()
        if self.heading:
            underline = "=" if self.heading == 1 else "-"
            text = text.strip()
            body = f"{prefix}{text}\n{prefix}{underline * len(text)}" if self.heading <= 2 else prefix + text
            self.heading = 0
            self._emit(body)
            return
        marker, self.marker = self.marker, ""
        hanging = prefix + " " * len(marker) if self.lists else prefix
        first = prefix + marker if marker else hanging
        lines = []
        for number, segment in enumerate(text.split("\n")):
            wrapper = textwrap.TextWrapper(
                width=self.width,
                initial_indent=first if number == 0 else hanging,
                subsequent_indent=hanging,
                break_long_words=False,
                break_on_hyphens=False,
            )
            lines.extend(wrapper.wrap(segment) or [hanging.rstrip()])
        level = self.lists[-1] if self.lists else None
        tight = bool(level and level.tight and marker and level.items)
        if level and marker:
            level.items += 1
        self._emit("\n".join(lines), tight=tight)

    def _emit(self, text: str, *, tight: bool = False) -> None:
        if self.blocks:
            self.blocks.append("\n" if tight else "\n\n")
        self.blocks.append(text)
