"""The labels announcements put before a field, in English, Swedish, German and French."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum


class Field(Enum):
    """What a labelled line gives."""

    TITLE = "title"
    SERIES = "series"
    SPEAKER = "speaker"
    WHEN = "when"
    WHERE = "where"
    ONLINE = "online"
    HOST = "host"
    CHAIR = "chair"
    ABSTRACT = "abstract"
    BIO = "bio"
    PUBLICATIONS = "publications"
    MOVED = "moved"


# Each label as people write it, lower case; a trailing (s), (in) or (e) is allowed after any.
_WORDS: dict[Field, tuple[str, ...]] = {
    Field.TITLE: ("title", "talk", "topic", "titel", "rubrik", "ämne", "thema", "vortrag", "titre", "sujet"),
    Field.SERIES: ("series", "seminar series", "serie", "seminarieserie", "reihe", "série"),
    Field.SPEAKER: (
        "speaker",
        "speakers",
        "presenter",
        "lecturer",
        "talare",
        "föreläsare",
        "föredragshållare",
        "referent",
        "referentin",
        "vortragende",
        "vortragender",
        "sprecher",
        "sprecherin",
        "intervenant",
        "intervenante",
        "intervenants",
        "orateur",
        "oratrice",
        "conférencier",
        "conférencière",
    ),
    Field.WHEN: (
        "when",
        "date",
        "time",
        "date and time",
        "date & time",
        "tid",
        "datum",
        "dag",
        "när",
        "datum och tid",
        "zeit",
        "termin",
        "wann",
        "datum und zeit",
        "heure",
        "quand",
        "date et heure",
    ),
    Field.WHERE: (
        "where",
        "place",
        "location",
        "venue",
        "room",
        "plats",
        "lokal",
        "sal",
        "var",
        "ort",
        "raum",
        "hörsaal",
        "wo",
        "lieu",
        "salle",
        "où",
    ),
    Field.ONLINE: (
        "zoom",
        "teams",
        "zoom link",
        "online",
        "join online",
        "join",
        "link",
        "webinar",
        "länk",
        "zoomlänk",
        "lien",
        "lien zoom",
    ),
    Field.HOST: (
        "host",
        "hosted by",
        "host(s)",
        "värd",
        "värdar",
        "gastgeber",
        "gastgeberin",
        "einladende",
        "einladender",
        "hôte",
        "hôtes",
        "invité par",
    ),
    Field.CHAIR: (
        "chair",
        "chaired by",
        "moderator",
        "moderation",
        "ordförande",
        "moderering",
        "vorsitz",
        "modérateur",
        "modératrice",
        "président de séance",
    ),
    Field.ABSTRACT: (
        "abstract",
        "summary",
        "sammanfattning",
        "abstrakt",
        "zusammenfassung",
        "kurzfassung",
        "résumé",
    ),
    Field.BIO: (
        "bio",
        "biography",
        "biosketch",
        "about the speaker",
        "short bio",
        "om talaren",
        "biografi",
        "biographie",
        "kurzbiographie",
        "kurzbiografie",
        "zur person",
        "à propos de l'intervenant",
    ),
    Field.PUBLICATIONS: (
        "publications",
        "recent publications",
        "selected publications",
        "key publications",
        "references",
        "publikationer",
        "utvalda publikationer",
        "publikationen",
        "ausgewählte publikationen",
        "veröffentlichungen",
        "publications récentes",
        "publications choisies",
    ),
    Field.MOVED: (
        "postponed",
        "rescheduled",
        "new date",
        "nytt datum",
        "uppskjutet",
        "flyttat",
        "neuer termin",
        "verschoben",
        "nouvelle date",
        "reporté",
        "reportée",
    ),
}
BLOCKS = frozenset({Field.ABSTRACT, Field.BIO, Field.PUBLICATIONS})  # a label before paragraphs
_LOOKUP = {word: field for field, words in _WORDS.items() for word in words}
_ALTERNATIVES = "|".join(re.escape(word) for word in sorted(_LOOKUP, key=len, reverse=True))
# "Speaker: A", "Speaker:A", "Date : 6 mars" (French spacing), "**Abstract**", "Abstract" alone.
_LABELLED = re.compile(
    rf"^[\s*_#>-]*(?P<label>{_ALTERNATIVES})(?:\s*\((?:s|in|e|es)\))?[*_]*\s*[:：][*_]*[ \t]*(?P<value>.*)$",
    re.IGNORECASE,
)
_HEADING = re.compile(rf"^[\s*_#]*(?P<label>{_ALTERNATIVES})[*_]*\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Labelled:
    """One labelled line: its field, the value on the line itself, and whether it stands alone."""

    field: Field
    value: str
    heading: bool


def labelled(line: str) -> Labelled | None:
    """The label a line starts with, or None. A block's name alone ("Abstract") is a heading;
    an inline field's name alone ("Link") is a heading only when followed by a colon."""
    if len(line) > 2_000:  # a paragraph, not a label
        return None
    if match := _LABELLED.match(line):
        return Labelled(
            _LOOKUP[match["label"].casefold()], match["value"].strip(), not match["value"].strip()
        )
    if (match := _HEADING.match(line)) and (found := _LOOKUP[match["label"].casefold()]) in BLOCKS:
        return Labelled(found, "", True)
    return None
