"""The theme's text filters: wrapping for the plain text, author lists, short titles."""

from __future__ import annotations

import textwrap

from markupsafe import Markup

from announcer.model.event import Speaker

TEXT_WIDTH = 72


_GLUE = "\ue000"  # binds a separator to the word after it while wrapping (textwrap never splits it)


def wrap(text: str, width: int = TEXT_WIDTH, indent: str = "", hanging: str | None = None) -> str:
    """`text` wrapped at `width` without breaking words or hyphenated names; a " · " between
    items goes to the start of the next line with the item after it, never left at a line's end."""
    glued = _GLUE not in text
    if glued:
        text = text.replace(" · ", " ·" + _GLUE)
    wrapped = textwrap.fill(
        text,
        width,
        initial_indent=indent,
        subsequent_indent=indent if hanging is None else hanging,
        break_long_words=False,
        break_on_hyphens=False,
    )
    return wrapped.replace(_GLUE, " ") if glued else wrapped


def wrap_list(items: list[str], width: int = TEXT_WIDTH, indent: str = "") -> str:
    """Items joined by commas and wrapped between items, never inside one ("Mougiakakos D")."""
    lines, line = [], indent
    for number, item in enumerate(items):
        piece = item + ("," if number < len(items) - 1 else "")
        if line.strip() and len(line) + 1 + len(piece) > width:
            lines.append(line)
            line = indent
        line += (" " if line.strip() else "") + piece
    lines.append(line)
    return "\n".join(lines)


def trim(text: str, limit: int) -> str:
    """`text` cut at a word boundary to at most `limit` characters, marked with an ellipsis."""
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,.;:") + "…"


def underline(text: str, mark: str = "-") -> str:
    """A plain-text heading: the text over a line of `mark` as long as it."""
    return f"{text}\n{mark * len(text)}"


def short_title(title: str) -> str:
    """The title before its colon: "CAR T Cell Therapy"."""
    return title.split(":", 1)[0].strip()


def authors_html(authors: list[str], speakers: list[Speaker]) -> Markup:
    """An author list with the speakers' own names in bold ("Mougiakakos D")."""
    names = []
    for author in authors:
        name = Markup('<span class="nowrap">{}</span>').format(author)
        names.append(Markup("<strong>{}</strong>").format(name) if _is_speaker(author, speakers) else name)
    return Markup(", ").join(names)


def _is_speaker(author: str, speakers: list[Speaker]) -> bool:
    """Whether "Surname Initials" names one of the speakers."""
    surname, _, initials = author.rpartition(" ")
    return any(
        surname.casefold() == speaker.name.split()[-1].casefold() and initials[:1] == speaker.name[:1]
        for speaker in speakers
    )
