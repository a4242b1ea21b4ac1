"""An announcement's text to a draft event: labelled fields first, then the layout of an
unlabelled one (a series line, a title line, a speaker line, a date line, then prose)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from announcer.importer.dates import DateMention, decide_day, find_dates, find_times, weekday_numbers
from announcer.importer.draft import LONGEST_FIELD_LINE, Draft, Undecided
from announcer.importer.labels import BLOCKS, Field, labelled
from announcer.importer.online import any_link, meeting_link
from announcer.importer.people import people, person, welcomed
from announcer.importer.places import names_a_place, venue_of
from announcer.importer.publications import publications
from announcer.importer.zones import zone_named

MAX_CHARS = 60_000  # read of a text: the seed has 7,500; the rules' time grows with it
MAX_LINES = 2_000  # an announcement has a hundred; the rest is not read
_SERIES_WORDS = re.compile(
    r"\b(?:seminar|seminars|seminarium|seminarieserie|colloquium|colloquia|kolloquium|colloque|séminaire|"
    r"lecture|lectures|föreläsning|föreläsningsserie|vortragsreihe|ringvorlesung|series|journal club|"
    r"webinar|forum|symposium|conférence|kollokvium)$",
    re.IGNORECASE,
)
_MOVED = re.compile(
    r"\b(?:postponed|rescheduled|new date|moved to|uppskjut\w*|nytt datum|flytta[dt]\w*|verschoben|"
    r"neuer termin|reporté\w*|nouvelle date)\b",
    re.IGNORECASE,
)
_WELCOME = re.compile(r"^(?:welcome|välkomna|välkommen|willkommen|herzlich willkommen|bienvenue)\b", re.I)
_CALENDAR_NOISE = re.compile(
    r"\b(?:add to (?:i?cal(?:endar)?|google calendar|outlook)|lägg till i kalender\w*|"
    r"zum kalender hinzufügen|in den kalender|ajouter (?:à|au) (?:l'agenda|calendrier))\b",
    re.IGNORECASE,
)
_FILLER = re.compile(
    r"\b(?:kl|klockan|uhr|um|at|from|to|till|bis|von|de|à|le|den|the|on|am|pm|h|c\.t|s\.t|"
    r"[A-Z]{2,5}T|MEZ|MESZ|UTC|GMT|time|tid|zeit|heure|local|lokal)\b\.?",
    re.IGNORECASE,
)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


@dataclass
class Context:
    """What the text alone cannot say: today, the year to assume, the workspace's zone, and the
    series it knows (their names, and the weekday the chosen one meets on)."""

    today: date
    year: int | None
    default_zone: str
    series_names: dict[str, str] = field(default_factory=dict)  # name, lower case → id
    weekday: int | None = None


@dataclass
class _Sections:
    inline: dict[Field, list[str]] = field(default_factory=dict)
    blocks: dict[Field, list[str]] = field(default_factory=dict)
    free: list[str] = field(default_factory=list)  # unlabelled lines, blank lines kept


def normalised(text: str) -> list[str]:
    """The text's lines, at most MAX_LINES: line breaks unified, tabs and no-break spaces as
    spaces, other control characters dropped."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n\n")
    text = text.replace("\t", " ").replace("\u00a0", " ").replace("\u202f", " ")
    text = re.sub(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]", "", text)
    return [line.rstrip() for line in text.split("\n")[:MAX_LINES]]


def _sections(lines: list[str]) -> _Sections:
    found = _Sections()
    block: Field | None = None
    index = 0
    while index < len(lines):
        line = lines[index]
        label = labelled(line)
        if label is None:
            (found.blocks[block] if block else found.free).append(line)
            index += 1
            continue
        if label.field in BLOCKS:
            block = label.field
            found.blocks.setdefault(block, [])
            if label.value:
                found.blocks[block].append(label.value)
            index += 1
            continue
        block = None
        values = [label.value] if label.value else []
        index += 1
        # An empty label takes the lines under it; a speakers' label takes its continuation lines.
        while index < len(lines) and lines[index].strip() and labelled(lines[index]) is None:
            if label.value and label.field not in (Field.SPEAKER, Field.WHERE):
                break
            values.append(lines[index].strip())
            index += 1
        found.inline.setdefault(label.field, []).extend(values)
    return found


def _paragraphs(lines: list[str]) -> list[list[str]]:
    paragraphs: list[list[str]] = [[]]
    for line in lines:
        if line.strip():
            paragraphs[-1].append(line.strip())
        elif paragraphs[-1]:
            paragraphs.append([])
    return [paragraph for paragraph in paragraphs if paragraph]


def _is_prose(paragraph: list[str]) -> bool:
    text = " ".join(paragraph)
    return len(text.split()) >= 10 and text.rstrip().endswith((".", "!", "?", "…", '"', "”", ")"))


def _block_text(lines: list[str]) -> str | None:
    """A block's paragraphs as Markdown: lines of a paragraph joined, paragraphs apart."""
    paragraphs = [" ".join(paragraph) for paragraph in _paragraphs(lines)]
    return "\n\n".join(paragraphs) or None


def read_announcement(text: str, context: Context) -> Draft:
    """The draft event an announcement's text gives (of a very long text, its beginning)."""
    draft = Draft()
    if len(text) > MAX_CHARS:
        draft.warnings.append(f"only the first {MAX_CHARS:,} characters of {len(text):,} were read")
        text = text[:MAX_CHARS]
    lines = normalised(text)
    sections = _sections(lines)
    paragraphs = _paragraphs(sections.free)
    header: list[str] = []
    prose: list[list[str]] = []
    for paragraph in paragraphs:
        if _is_prose(paragraph):
            prose.append(paragraph)
        elif not prose:
            header.extend(paragraph)
    _read_when(draft, sections, header, [line for paragraph in paragraphs for line in paragraph], context)
    used = _read_place(draft, sections, header, context)
    _read_people(draft, sections, header, prose, used)
    _read_title(draft, sections, header, used, text, context)
    _read_texts(draft, sections, prose)
    _read_online(draft, sections, "\n".join(lines))
    if Field.PUBLICATIONS in sections.blocks:
        read, unread = publications(sections.blocks[Field.PUBLICATIONS])
        draft.publications = read
        if unread:
            draft.notes.append(f"{len(unread)} publication(s) could not be read: see the TODO below")
            draft.publications = read or Undecided("these entries could not be read", tuple(unread))
            if read:
                draft.warnings.append(
                    "publications: " + "; ".join(unread[:3]) + " could not be read: add them by hand"
                )
    return draft


def _date_lines(sections: _Sections, header: list[str], free: list[str]) -> list[str]:
    lines = [*sections.inline.get(Field.WHEN, []), *header, *free]
    return [line for line in lines if len(line) <= LONGEST_FIELD_LINE]


def _read_when(
    draft: Draft, sections: _Sections, header: list[str], free: list[str], context: Context
) -> None:
    moved = [
        line
        for line in [*sections.inline.get(Field.MOVED, []), *(line for line in free if _MOVED.search(line))]
        if len(line) <= LONGEST_FIELD_LINE
    ]
    candidates = _date_lines(sections, header, free)
    when_text = " ".join(sections.inline.get(Field.WHEN, []))[:LONGEST_FIELD_LINE]
    mention: DateMention | None = None
    line_of_date = ""
    for line in moved:
        found = find_dates(line, context.today, context.year)
        if found:
            mention, line_of_date = found[-1], line
            if len(found) > 1:
                draft.when.moved_from = found[0].written
            break
    if mention is not None and draft.when.moved_from is None:
        for line in candidates:
            if line in moved:
                continue
            if earlier := find_dates(line, context.today, context.year):
                draft.when.moved_from = earlier[0].written
                break
    if mention is None:
        for line in candidates:
            if found := find_dates(line, context.today, context.year):
                mention, line_of_date = found[0], line
                break
    if mention is None:
        draft.when.day = Undecided("the announcement gives no date")
        return
    draft.when.line = line_of_date
    if draft.when.moved_from:
        draft.notes.append(f"postponed: it was first announced for {draft.when.moved_from}")
    hint = context.weekday if context.weekday is not None else _weekday_hint(header, line_of_date)
    day, warnings = decide_day(mention, hint)
    draft.when.day = day
    draft.warnings += warnings
    times = [found for found in find_times(line_of_date) if not mention.start <= found.at < mention.end]
    if not times and when_text:
        times = find_times(when_text)
    if not times:
        index = header.index(line_of_date) if line_of_date in header else -1
        if 0 <= index < len(header) - 1:
            times = find_times(header[index + 1])
    if times:
        draft.when.start, draft.when.end = times[0].start, times[0].end
    else:
        draft.when.start = Undecided("the announcement gives no time")
    start = draft.when.start if not isinstance(draft.when.start, Undecided) else None
    zone, warnings = zone_named(
        f"{line_of_date} {when_text}", day if isinstance(day, date) else None, start, context.default_zone
    )
    draft.when.zone = zone
    draft.warnings += warnings


def _weekday_hint(header: list[str], line_of_date: str) -> int | None:
    """The one weekday the header names off the date line ("OnkPat Friday Seminar")."""
    names = weekday_numbers()
    said = {
        names[word.casefold()]
        for line in header
        if line != line_of_date
        for word in re.findall(r"\w+", line)
        if word.casefold() in names and len(word) > 3
    }
    return next(iter(said)) if len(said) == 1 else None


def _rest_of_date_line(line: str, context: Context) -> str:
    """What the date line says besides the date and time: the place, often."""
    for mention in find_dates(line, context.today, context.year):
        line = line.replace(mention.written, " ")
    line = _CALENDAR_NOISE.sub(" ", line)
    line = re.sub(r"(?:\d{1,2}[:.h]\d{2}|\d{1,2}\s*(?:[ap]\.?m\.?|uhr|h)\b)", " ", line, flags=re.IGNORECASE)
    line = re.sub(r"\s*(?:[-–—~»>]|\bc\.t\.|\bs\.t\.)\s*", " , ", line)
    line = _FILLER.sub(" ", line)
    parts = [part.strip(" .") for part in line.split(",")]
    return ", ".join(part for part in parts if re.search(r"\w{2,}", part))


def _read_place(draft: Draft, sections: _Sections, header: list[str], context: Context) -> set[str]:
    """The venue: a place label; else what the date line says after the time, or the line after it."""
    used: set[str] = set()
    if where := sections.inline.get(Field.WHERE):
        draft.venue = venue_of(", ".join(where))
        return used
    line_of_date = draft.when.line
    if line_of_date is None:
        return used
    used.add(line_of_date)
    if rest := _rest_of_date_line(line_of_date, context):
        draft.venue = venue_of(rest)
        return used
    if line_of_date in header:
        index = header.index(line_of_date)
        if index + 1 < len(header):
            following = header[index + 1]
            if people(following) is None and not find_dates(following, context.today, context.year):
                draft.venue = venue_of(following)
                used.add(following)
    return used


def _read_people(
    draft: Draft, sections: _Sections, header: list[str], prose: list[list[str]], used: set[str]
) -> None:
    speakers: list[dict[str, str]] = []
    if written := sections.inline.get(Field.SPEAKER):
        for value in written:
            found = people(value)
            if found is None:
                draft.speakers = Undecided(
                    "the speaker line is not a name as announcer reads one", tuple(written)
                )
                break
            speakers.extend(found)
        else:
            draft.speakers = speakers
    else:
        for index, line in enumerate(header):
            if line in used or index == 0 or "," not in line:
                continue
            if (found := people(line)) is not None and all("affiliation" in item for item in found):
                draft.speakers = found
                used.add(line)
                break
        else:
            for paragraph in prose:
                if len(sentence := " ".join(paragraph)) <= LONGEST_FIELD_LINE and (
                    found_one := welcomed(sentence)
                ):
                    draft.speakers = [found_one]
                    break
    if Field.BIO in sections.blocks and isinstance(draft.speakers, list) and draft.speakers:
        bio = _block_text(sections.blocks[Field.BIO])
        if bio:
            named = [s for s in draft.speakers if s["name"].split()[-1].casefold() in bio.casefold()]
            target = named[0] if named else draft.speakers[0] if len(draft.speakers) == 1 else None
            if target is not None:
                target["bio"] = bio
    host = sections.inline.get(Field.HOST)
    chair = sections.inline.get(Field.CHAIR)
    for values in (host, chair):
        if values:
            draft.host = _host(" ".join(values)) or Undecided(
                "not a name as announcer reads one", tuple(values)
            )
            break


def _host(value: str) -> dict[str, str] | None:
    address = _EMAIL.search(value)
    if address:
        value = (value[: address.start()] + value[address.end() :]).replace("()", "").replace("<>", "")
    found = person(value.strip(" ,"))
    if found is None:
        return None
    found.pop("title", None)  # a host has a name, an affiliation and an address
    if address:
        found["email"] = address[0]
    return found


def _read_title(
    draft: Draft, sections: _Sections, header: list[str], used: set[str], text: str, context: Context
) -> None:
    if series := sections.inline.get(Field.SERIES):
        draft.series = " ".join(series)
    if title := sections.inline.get(Field.TITLE):
        draft.title = " ".join(title).strip().strip('"“”')
        return
    remaining = [
        line
        for line in header
        if len(line) <= LONGEST_FIELD_LINE
        and line not in used
        and not find_dates(line, context.today, context.year)
        and not _CALENDAR_NOISE.search(line)
    ]
    if len(remaining) >= 2 and _names_a_series(remaining[0]):
        draft.series = draft.series or remaining.pop(0)
    if not remaining:
        draft.title = Undecided("the announcement gives no title line")
        return
    if len(remaining) > 1 and (titles := [line for line in remaining if not names_a_place(line)]):
        remaining = titles
    first = remaining[0].strip().strip('"“”«»')
    if len(remaining) > 1:
        draft.title = Undecided("more than one line could be the title", tuple(remaining[:4]))
        return
    left, colon, right = first.partition(": ")
    if colon and _names_a_series(left):
        _series_and_category(draft, left, text, context)
        draft.title = right.strip()
    else:
        draft.title = first.strip()


def _names_a_series(line: str) -> bool:
    return _SERIES_WORDS.search(line.strip()) is not None and len(line) <= 120


def _series_and_category(draft: Draft, left: str, text: str, context: Context) -> None:
    """ "Lectures and seminars OnkPat Friday Seminar": the longest end of it that the text names
    again, or a series the workspace knows, is the series; what comes before is the category."""
    words = left.split()
    rest_of_text = text.replace(left, "")
    for start in range(len(words)):
        candidate = " ".join(words[start:])
        if candidate.casefold() in context.series_names or (
            len(words) - start >= 2 and re.search(rf"\b{re.escape(candidate)}\b", rest_of_text)
        ):
            if draft.series is None:
                draft.series = candidate
            if start:
                draft.category = " ".join(words[:start])
            return
    if draft.series is None:
        draft.series = left


def _read_texts(draft: Draft, sections: _Sections, prose: list[list[str]]) -> None:
    texts = [" ".join(paragraph) for paragraph in prose]
    if Field.ABSTRACT in sections.blocks:
        draft.abstract = _block_text(sections.blocks[Field.ABSTRACT])
        intro = texts
    else:
        short = [text for text in texts if len(text) <= LONGEST_FIELD_LINE]
        intro = [text for text in short if _WELCOME.match(text) or welcomed(text)]
        rest = [text for text in texts if text not in intro]
        draft.abstract = "\n\n".join(rest) or None
    draft.intro = "\n\n".join(intro) or None
    if draft.abstract is None:
        draft.abstract = Undecided("the announcement has no abstract")
    if isinstance(draft.host, dict) and Field.CHAIR in sections.inline and Field.HOST in sections.inline:
        chair = " ".join(sections.inline[Field.CHAIR])
        draft.intro = f"{draft.intro}\n\nChair: {chair}" if draft.intro else f"Chair: {chair}"


def _read_online(draft: Draft, sections: _Sections, text: str) -> None:
    if online := sections.inline.get(Field.ONLINE):
        joined = " ".join(online)
        draft.online_url = meeting_link(joined) or any_link(joined)
    if draft.online_url is None:
        draft.online_url = meeting_link(text)
    if draft.online_url is None and draft.venue.get("name") == "Online":
        draft.online_url = Undecided("the talk is online, and the announcement gives no link")
