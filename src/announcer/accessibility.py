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
class Link:
    """One `<a>`: where it goes, and what a reader and a screen reader are told of it."""

    href: str  # "" for an anchor without one
    label: str | None  # aria-label, which a screen reader reads instead of the words
    parts: list[str] = field(default_factory=list)  # its text, as it comes
    alts: list[str] = field(default_factory=list)  # the alt texts of images inside it

    @property
    def text(self) -> str:
        """The words it shows, on one line."""
        return " ".join("".join(self.parts).split())

    @property
    def said(self) -> str:
        """What a screen reader says of it."""
        return (
            " ".join(self.label.split())
            if self.label is not None
            else " ".join([self.text, *self.alts]).strip()
        )


class Markup(HTMLParser):
    """What the pre-flight's checks look at in a document, read in one pass: the root's
    attributes, the title, the layout tables, every image's attributes, every link."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root: dict[str, str | None] | None = None
        self.title: list[str] | None = None
        self.unmarked_tables = 0
        self.images: list[dict[str, str | None]] = []
        self.links: list[Link] = []
        self._link: Link | None = None
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
            self.images.append(named)
            if self._link is not None and named.get("alt"):
                self._link.alts.append(named.get("alt") or "")
        elif tag == "a":
            self._link = Link(named.get("href") or "", named.get("aria-label"))

    def handle_data(self, data: str) -> None:
        if self._in_title and self.title is not None:
            self.title.append(data)
        if self._link is not None:
            self._link.parts.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag == "a" and self._link is not None:
            self.links.append(self._link)
            self._link = None


def read_markup(html: str) -> Markup:
    """`html` parsed once, for every check that looks at it."""
    markup = Markup()
    markup.feed(html)
    markup.close()
    return markup


def barriers(markup: Markup, language: str) -> list[Barrier]:
    """What a document written in `language` fails of the criteria; empty when it passes them all."""
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
    without_alt = [image.get("src") or "an image" for image in markup.images if image.get("alt") is None]
    found.extend(Barrier(f"{source} has no alt text") for source in without_alt[:5])
    for link in markup.links:
        if not link.href:
            continue  # an anchor, not a link
        if not link.said:
            found.append(Barrier(f"a link to {link.href} says nothing a screen reader can read", link.href))
        elif link.said.lower().strip(".:!…") in VAGUE_LINK_TEXTS:
            vague = f"a link says only {link.said!r}: out of context it tells nothing of {link.href}"
            found.append(Barrier(vague, link.href))
    return found
