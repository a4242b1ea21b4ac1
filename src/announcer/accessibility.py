"""What a screen reader meets in an HTML email or page: the Email Markup Consortium's automated
criteria (the ones its yearly report counts: a language and a direction, layout tables that say
so, images with alt text, links that say where they go, a title), read from the markup alone.

Contrast needs the colours as a browser resolves them: the pre-flight measures the theme's
palette, and the browser tests run axe-core.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

# Link texts that say nothing of where a link goes, as screen readers list links out of context.
VAGUE_LINK_TEXTS = frozenset(
    {
        "click here", "here", "link", "more", "read more", "this", "this link",  # en
        "här", "klicka här", "läs mer", "mer", "länk",  # sv
        "hier", "hier klicken", "klicken sie hier", "mehr", "weiterlesen",  # de
    }
)  # fmt: skip
DIRECTIONS = ("ltr", "rtl", "auto")


@dataclass(frozen=True)
class Barrier:
    """One thing a screen reader stumbles on; `href` when it is a link's words."""

    said: str
    href: str | None = None

    def __str__(self) -> str:
        return self.said


@dataclass
class _Link:
    href: str
    label: str | None  # aria-label, which a screen reader reads instead of the text
    text: list[str] = field(default_factory=list)


class _Markup(HTMLParser):
    """The parts of a document the criteria look at, in one pass."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root: dict[str, str | None] | None = None
        self.title: list[str] | None = None
        self.unmarked_tables = 0
        self.images_without_alt: list[str] = []
        self.links: list[_Link] = []
        self._link: _Link | None = None
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "html" and self.root is None:
            self.root = named
        elif tag == "title" and self.title is None:
            self.title, self._in_title = [], True
        elif tag == "table" and (named.get("role") or "").strip() not in ("presentation", "none"):
            self.unmarked_tables += 1  # a data table has headers: announcer writes none
        elif tag == "img":
            if named.get("alt") is None:
                self.images_without_alt.append(named.get("src") or "an image")
            elif self._link is not None:
                self._link.text.append(named.get("alt") or "")
        elif tag == "a" and named.get("href"):
            self._link = _Link(named.get("href") or "", named.get("aria-label"))

    def handle_data(self, data: str) -> None:
        if self._in_title and self.title is not None:
            self.title.append(data)
        if self._link is not None:
            self._link.text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag == "a" and self._link is not None:
            self.links.append(self._link)
            self._link = None


def barriers(html: str, language: str) -> list[Barrier]:
    """What in `html`, written in `language`, fails the criteria; empty when it passes them all."""
    markup = _Markup()
    markup.feed(html)
    markup.close()
    found: list[Barrier] = []
    root = markup.root or {}
    if (root.get("lang") or "").strip().lower() != language.lower():
        found.append(Barrier(f"the document says its language is {root.get('lang')!r}, not {language!r}"))
    if (root.get("dir") or "").strip() not in DIRECTIONS:
        found.append(Barrier("the document does not say which way its text runs (dir)"))
    if not "".join(markup.title or []).strip():
        found.append(Barrier("the document has no title: a screen reader announces it first"))
    if markup.unmarked_tables:
        found.append(Barrier(f'{markup.unmarked_tables} layout table(s) without role="presentation"'))
    found.extend(Barrier(f"{source} has no alt text") for source in markup.images_without_alt[:5])
    for link in markup.links:
        said = " ".join((link.label if link.label is not None else "".join(link.text)).split())
        if not said:
            found.append(Barrier(f"a link to {link.href} says nothing a screen reader can read", link.href))
        elif said.lower().strip(".:!…") in VAGUE_LINK_TEXTS:
            found.append(
                Barrier(
                    f"a link says only {said!r}: out of context it tells nothing of {link.href}", link.href
                )
            )
    return found
