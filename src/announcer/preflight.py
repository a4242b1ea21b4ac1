"""Before anyone receives it: one reader's message inspected as mail clients and filters will see it.

Each check returns findings (passed, warning, error), each saying what to change where. The
message is read back from its bytes with the stdlib's parser, as a receiving client would.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from enum import StrEnum
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import rrulestr
from icalendar import Calendar, Timezone
from icalendar import Event as CalendarEvent

from announcer import prose
from announcer.accessibility import Markup, barriers, read_markup
from announcer.compose.headers import HEADERS_WRITTEN
from announcer.languages import CATALOGS, untranslated
from announcer.model.named import NamedEvent
from announcer.model.settings import Settings
from announcer.paths import display_path
from announcer.render.clients import GMAIL_CLIP
from announcer.render.palette import MIN_CONTRAST, WHITE, Palette, contrast, palette_for
from announcer.render.wording import counted

THEME_STYLES = "templates/email/layout.mjml.j2"
THEME_TEMPLATES = "the theme's templates (templates/email/)"
WRITTEN_LINKS = "the link's words in the event's texts (intro, abstract, bio) or in templates/email/"
SIZE_MARGIN = 0.9  # past this share of the clip, a warning: servers and forwards add to it
SPAM_TIMEOUT_SECONDS = 120
LINK_TIMEOUT_SECONDS = 10
SPAMASSASSIN = shutil.which("spamassassin")
# Links announcer writes itself, the same for every event: --links leaves them to their owners.
CALENDAR_SERVICES = ("calendar.google.com", "outlook.office.com", "outlook.live.com", "calendar.yahoo.com")
_LINK_SCHEMES = ("https", "http", "mailto", "tel", "webcal")
_LOOKS_LIKE_ADDRESS = re.compile(r"(?i)^(?:https?://)?(?:www\.)?((?:[a-z0-9-]+\.)+[a-z]{2,})(?:[/:?#]\S*)?$")
_LOOKS_LIKE_EMAIL = re.compile(r"(?i)^[^@\s]+@((?:[a-z0-9-]+\.)+[a-z]{2,})$")


class Level(StrEnum):
    PASSED = "passed"
    NOTE = "note"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True)
class Finding:
    """One thing the pre-flight found, and where to change it."""

    level: Level
    check: str  # size, images, links, accessibility, calendar, headers, contrast, spam
    message: str
    fix: str = ""  # the file, field or setting to change

    def __str__(self) -> str:
        return f"{self.check}: {self.message}" + (f" (change: {self.fix})" if self.fix else "")


@dataclass(frozen=True)
class Room:
    """A part of the event that takes room in the HTML, and where it is written."""

    label: str
    where: str
    size: int


@dataclass
class Inspection:
    """The findings about one message: what it is, and what was found."""

    subject: str
    findings: list[Finding] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return sum(finding.level is Level.ERROR for finding in self.findings)


def read(data: bytes) -> EmailMessage:
    """The message as a receiving client parses it."""
    message = message_from_bytes(data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def html_of(message: EmailMessage) -> str:
    part = message.get_body(("html",))
    return part.get_content() if part is not None else ""


def inspect_size(html: str, room: Iterable[Room]) -> list[Finding]:
    """The HTML against Gmail's clip, and what takes the room when it is too big."""
    size = len(html.encode())
    shown = f"the HTML is {_kb(size)} of the {_kb(GMAIL_CLIP)} Gmail shows"
    if size <= GMAIL_CLIP * SIZE_MARGIN:
        return [Finding(Level.PASSED, "size", shown)]
    biggest = sorted(room, key=lambda part: part.size, reverse=True)[:3]
    taken = "; ".join(f"{part.label} {_kb(part.size)} ({part.where})" for part in biggest)
    if size > GMAIL_CLIP:
        message = f"{shown}: Gmail clips the rest, the unsubscribe link with it. The most room: {taken}"
        return [Finding(Level.ERROR, "size", message, biggest[0].where if biggest else "")]
    message = f"{shown}: close to clipping. The most room: {taken}"
    return [Finding(Level.WARNING, "size", message, biggest[0].where if biggest else "")]


def inspect_images(found: Markup, sources: dict[str, str]) -> list[Finding]:
    """Every image: alt text, where it comes from, its bytes where they are in the message.
    `sources` names the setting or field each image's address comes from."""
    findings = []
    images = found.images
    for image in images:
        src = image.get("src") or ""
        fix = sources.get(src, "")
        shown = _short(src)
        if image.get("alt") is None:
            message = f"{shown} has no alt text: with images off, or to a screen reader, it says nothing"
            findings.append(Finding(Level.ERROR, "images", message, fix))
        scheme = urlsplit(src).scheme.lower()
        if scheme == "data":
            size = len(src.partition(",")[2]) * 3 // 4
            message = f"{shown} is embedded as data: ({_kb(size)}); Gmail and Outlook do not show such images"
            findings.append(Finding(Level.WARNING, "images", message, fix))
        elif scheme == "http":
            message = f"{shown} comes over plain http: mail clients block or warn about it; use https"
            findings.append(Finding(Level.WARNING, "images", message, fix))
        elif scheme not in ("https", "cid"):
            findings.append(Finding(Level.ERROR, "images", f"{shown} cannot be loaded by a mail client", fix))
    if not findings:
        described = (
            f"{len(images)} image(s), each with alt text, loaded over https" if images else "no images"
        )
        findings.append(Finding(Level.PASSED, "images", described))
    return findings


def inspect_accessibility(found: Markup, language: str, sources: dict[str, str]) -> list[Finding]:
    """The Email Markup Consortium's automated criteria. What the theme writes (language, title,
    tables, alt texts) is an error, met in every copy; a link's words are a warning to whoever
    wrote them: a field of the event, or the theme's templates."""
    stumbles = barriers(found, language)
    if not stumbles:
        passed = "what a screen reader needs: language, direction, title, layout tables, alt and link texts"
        return [Finding(Level.PASSED, "accessibility", passed)]
    return [
        Finding(Level.ERROR, "accessibility", str(barrier), THEME_TEMPLATES)
        if barrier.href is None
        else Finding(Level.WARNING, "accessibility", str(barrier), sources.get(barrier.href, WRITTEN_LINKS))
        for barrier in stumbles
    ]


def inspect_links(found: Markup, sources: dict[str, str]) -> list[Finding]:
    """Every link: its scheme, its form, and no text that shows one address while going to another."""
    findings = []
    links = found.links
    for href, text in ((link.href, link.text) for link in links):
        fix = sources.get(href, "")
        if href.startswith("#"):
            continue
        parts = urlsplit(href)
        scheme = parts.scheme.lower()
        if scheme not in _LINK_SCHEMES:
            message = f"{_short(href)} ({text!r}): a mail client will not open this kind of link"
            findings.append(Finding(Level.ERROR, "links", message, fix))
            continue
        if scheme in ("http", "https", "webcal") and (not parts.hostname or "." not in parts.hostname):
            findings.append(Finding(Level.ERROR, "links", f"{_short(href)}: not a web address", fix))
            continue
        if any(character.isspace() for character in href):
            findings.append(Finding(Level.ERROR, "links", f"{_short(href)}: holds a space", fix))
            continue
        if scheme == "http":
            message = f"{_short(href)}: plain http; use https where the site has it"
            findings.append(Finding(Level.WARNING, "links", message, fix))
        if deceptive := _deceptive(href, text):
            findings.append(Finding(Level.ERROR, "links", deceptive, fix))
    if not findings:
        findings.append(
            Finding(
                Level.PASSED,
                "links",
                f"{len(links)} link(s), well formed; none shows one address and goes to another",
            )
        )
    return findings


def _deceptive(href: str, text: str) -> str | None:
    """A link whose text is an address other than the one it goes to (what phishing looks like)."""
    target = urlsplit(href)
    if target.scheme.lower() == "mailto":
        shown = _LOOKS_LIKE_EMAIL.match(text)
        if shown and text.lower() != target.path.lower():
            return f"the link text shows {text} but writes to {target.path}"
        return None
    shown = _LOOKS_LIKE_ADDRESS.match(text)
    if not shown or target.hostname is None:
        return None
    shown_host, real_host = _bare(shown.group(1)), _bare(target.hostname)
    if shown_host != real_host and not real_host.endswith("." + shown_host):
        return f"the link text shows {text} but goes to {target.hostname}"
    return None


def _bare(host: str) -> str:
    host = host.lower().rstrip(".")
    return host[4:] if host.startswith("www.") else host


def answering(found: Markup, sources: dict[str, str], asked: set[str]) -> list[Finding]:
    """`--links`: whether each web address the organiser wrote answers (GET, redirects followed);
    those in `asked` (by an earlier message of the run) are not asked again."""
    findings = []
    checked: set[str] = set()
    for href in (link.href for link in found.links):
        parts = urlsplit(href)
        if parts.scheme not in ("http", "https") or href in checked or href in asked:
            continue
        if (parts.hostname or "").lower() in CALENDAR_SERVICES:
            continue
        checked.add(href)
        asked.add(href)
        problem = _answer(href)
        if problem:
            findings.append(
                Finding(Level.WARNING, "links", f"{_short(href)} {problem}", sources.get(href, ""))
            )
    if not findings and checked:
        findings.append(Finding(Level.PASSED, "links", f"{len(checked)} web address(es) answer"))
    return findings


def _answer(url: str) -> str | None:
    request = urllib.request.Request(url, headers={"User-Agent": "announcer pre-flight"})  # noqa: S310 (http(s) only)
    try:
        with urllib.request.urlopen(request, timeout=LINK_TIMEOUT_SECONDS) as response:  # noqa: S310
            response.read(1024)
    except urllib.error.HTTPError as exc:
        return f"answers {exc.code} {exc.reason}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        return f"does not answer: {reason}"
    return None


def inspect_calendars(message: EmailMessage, fix: str) -> list[Finding]:
    """Each calendar in the message parses, names a VTIMEZONE for its zone that agrees with the
    time zone database at the event, and its time neither falls in a gap nor happens twice."""
    findings = []
    calendars = [part for part in message.walk() if part.get_content_type() == "text/calendar"]
    for part in calendars:
        name = part.get_filename() or "the inline calendar"
        payload = part.get_payload(decode=True)
        try:
            calendar = Calendar.from_ical(payload if isinstance(payload, bytes) else b"")
        except ValueError as exc:
            findings.append(Finding(Level.ERROR, "calendar", f"{name} does not parse: {exc}", fix))
            continue
        zones = {str(zone["TZID"]): zone for zone in calendar.timezones}
        for event in calendar.events:
            findings.extend(_event_time(event, zones, name, fix))
    if not calendars:
        return [Finding(Level.WARNING, "calendar", "the message carries no calendar", fix)]
    if not findings:
        findings.append(
            Finding(
                Level.PASSED,
                "calendar",
                f"{len(calendars)} calendar part(s) parse; each zone is described, each time happens once",
            )
        )
    return findings


def _event_time(event: CalendarEvent, zones: dict[str, Timezone], name: str, fix: str) -> list[Finding]:
    findings = []
    for key in ("DTSTART", "DTEND"):
        prop = event.get(key)
        value = getattr(prop, "dt", None)
        zone_name = str(prop.params.get("TZID", "")) if prop is not None else ""
        if not isinstance(value, datetime) or not zone_name:  # a date, UTC or floating: no zone to describe
            continue
        if zone_name not in zones:
            message = f"{name}: {key} names the zone {zone_name!r} but the calendar does not describe it"
            findings.append(Finding(Level.ERROR, "calendar", message, fix))
            continue
        wall = value.replace(tzinfo=None)
        try:
            database = ZoneInfo(zone_name)
        except (ZoneInfoNotFoundError, ValueError):
            continue
        first, second = wall.replace(tzinfo=database, fold=0), wall.replace(tzinfo=database, fold=1)
        if first.utcoffset() != second.utcoffset():  # which instant it is, no calendar can know
            skipped = first.astimezone(ZoneInfo("UTC")).astimezone(database).replace(tzinfo=None) != wall
            what = "the clocks skip" if skipped else "happens twice"
            findings.append(Finding(Level.ERROR, "calendar", f"{name}: {wall:%Y-%m-%d %H:%M} {what}", fix))
        elif _described_offset(zones[zone_name], wall) != first.utcoffset():
            message = (
                f"{name}: the zone it describes gives {zone_name} another offset at {wall:%Y-%m-%d %H:%M}"
            )
            findings.append(Finding(Level.ERROR, "calendar", message, fix))
    return findings


def _described_offset(zone: Timezone, wall: datetime) -> timedelta | None:
    """The offset a VTIMEZONE itself gives at a wall-clock time: that of its observance (STANDARD
    or DAYLIGHT) that began last before it, by its DTSTART and yearly RRULE."""
    latest: tuple[datetime, timedelta] | None = None
    for observance in zone.standard + zone.daylight:
        start, offset = (
            getattr(observance.get("DTSTART"), "dt", None),
            getattr(observance.get("TZOFFSETTO"), "td", None),
        )
        if not isinstance(start, datetime) or not isinstance(offset, timedelta):
            continue
        start = start.replace(tzinfo=None)
        rule = observance.get("RRULE")
        onset = rrulestr(rule.to_ical().decode(), dtstart=start).before(wall, inc=True) if rule else start
        if isinstance(onset, datetime) and onset <= wall and (latest is None or onset > latest[0]):
            latest = (onset, offset)
    return latest[1] if latest else None


def inspect_headers(message: EmailMessage, settings: Settings, *, list_mail: bool) -> list[Finding]:
    """The headers mailbox providers ask of list mail (RFC 2369, RFC 8058), Reply-To, and DKIM
    for a workspace that sends for real (Gmail's and Yahoo's bulk sender rules)."""
    findings = [
        Finding(Level.ERROR, "headers", f"the message reads back with {count} {name} headers, not one")
        for name in ("From", "To", "Subject", "Date", "Message-ID")
        if (count := len(message.get_all(name) or [])) != 1
    ]
    if stray := sorted({name for name in message if name.lower() not in HEADERS_WRITTEN}):
        findings.append(
            Finding(
                Level.ERROR,
                "headers",
                f"the message reads back with headers of no one's making: {', '.join(stray)}",
            )
        )
    if list_mail:
        if not message["List-Id"]:
            findings.append(
                Finding(Level.ERROR, "headers", "list mail without List-Id", "announcer.toml: [list] id")
            )
        unsubscribe = str(message["List-Unsubscribe"] or "")
        if not unsubscribe:
            message_text = (
                "list mail without List-Unsubscribe: readers cannot leave the list from their mail client"
            )
            findings.append(
                Finding(Level.ERROR, "headers", message_text, "announcer.toml: [list] unsubscribe_url")
            )
        elif "<https://" in unsubscribe and not message["List-Unsubscribe-Post"]:
            findings.append(
                Finding(
                    Level.ERROR, "headers", "List-Unsubscribe without its one-click List-Unsubscribe-Post"
                )
            )
        elif "<https://" not in unsubscribe:
            findings.append(
                Finding(
                    Level.WARNING,
                    "headers",
                    "unsubscribing by mail only: Gmail and Yahoo ask bulk senders for one-click (https)",
                    "announcer.toml: [list] unsubscribe_url",
                )
            )
    if not _FEEDBACK_ID.fullmatch(str(message["Feedback-ID"] or "")):
        findings.append(
            Finding(
                Level.ERROR,
                "headers",
                "no Feedback-ID of four fields (send:list:kind:sender): Gmail's feedback loop could "
                "not count spam complaints by send",
            )
        )
    reply_to = settings.sender.reply_to
    if reply_to and reply_to.lower() not in str(message["Reply-To"] or "").lower():
        findings.append(Finding(Level.ERROR, "headers", f"Reply-To does not carry {reply_to}"))
    if settings.smtp is not None:
        findings.extend(_dkim(settings))
    if not findings:
        said = ["List-Id, List-Unsubscribe and one-click unsubscribe" if list_mail else "not list mail"]
        said.append("Feedback-ID")
        if reply_to:
            said.append("Reply-To")
        if settings.smtp is not None:
            said.append(f"DKIM for {settings.sender.domain}")
        findings.append(Finding(Level.PASSED, "headers", ", ".join(said)))
    return findings


# Gmail's `campaign:customer:mailtype:senderid`, each field as `compose.headers.feedback_id` writes it.
_FEEDBACK_ID = re.compile(r"[A-Za-z0-9._-]{1,60}(?::[A-Za-z0-9._-]{1,60}){3}")


def _dkim(settings: Settings) -> list[Finding]:
    domain = settings.sender.domain.lower()
    if settings.dkim is None:
        message = (
            "real sends are not DKIM-signed: Gmail and Yahoo require it of bulk senders and file unsigned "
            "list mail as spam"
        )
        return [Finding(Level.WARNING, "headers", message, "announcer.toml: [dkim]")]
    signer = settings.dkim.domain.lower()
    if domain != signer and not domain.endswith("." + signer):
        message = f"DKIM signs for {signer} but the mail is from {domain}: not aligned, so DMARC fails"
        return [Finding(Level.ERROR, "headers", message, "announcer.toml: [dkim] domain")]
    return []


def colour_pairs(palette: Palette) -> list[tuple[str, str, str]]:
    """Every text colour the theme puts on a background, light and dark: (role, text, background)."""
    return [
        ("text", palette.text, palette.card),
        ("secondary text", palette.muted, palette.card),
        ("links", palette.accent, palette.card),
        ("links on the tinted box", palette.accent, palette.tint),
        ("footer text", palette.muted, palette.page),
        ("footer links", palette.accent, palette.page),
        ("the heading band", WHITE, palette.accent),
        ("dark: text", palette.dark_text, palette.dark_card),
        ("dark: secondary text", palette.dark_muted, palette.dark_card),
        ("dark: links", palette.dark_accent_text, palette.dark_card),
        ("dark: links on the tinted box", palette.dark_accent_text, palette.dark_tint),
        ("dark: footer text", palette.dark_muted, palette.dark_page),
        ("dark: footer links", palette.dark_accent_text, palette.dark_page),
        ("dark: the heading band", WHITE, palette.accent),
    ]


def inspect_contrast(palette: Palette, accent: str) -> list[Finding]:
    """Every pair of the palette against WCAG AA (4.5:1), light and dark."""
    pairs = [(role, contrast(text, background)) for role, text, background in colour_pairs(palette)]
    low = [(role, ratio) for role, ratio in pairs if ratio < MIN_CONTRAST]
    if low:
        return [
            Finding(
                Level.ERROR,
                "contrast",
                f"{role} read at {ratio:.2f}:1, below {MIN_CONTRAST}:1",
                "announcer.toml: [brand] accent",
            )
            for role, ratio in low
        ]
    role, ratio = min(pairs, key=lambda pair: pair[1])
    message = (
        f"with accent {accent}, all {len(pairs)} colour pairs read at {MIN_CONTRAST}:1 or more, "
        f"light and dark (lowest: {role}, {ratio:.1f}:1)"
    )
    return [Finding(Level.PASSED, "contrast", message)]


def inspect_palette(settings: Settings) -> list[Finding]:
    accent = settings.brand.accent
    return inspect_contrast(palette_for(accent), accent)


def inspect_wording(language: str, messages: set[str]) -> list[Finding]:
    """Whether the language's catalog translates every fixed word the templates and code write."""
    missing = untranslated(language, messages)
    if not missing:
        return [Finding(Level.PASSED, "wording", "every fixed word is translated")]
    shown = ", ".join(f"“{message}”" for message in missing[:5])
    more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
    message = f"{counted(len(missing), 'message')} written in English, untranslated: {shown}{more}"
    return [Finding(Level.WARNING, "wording", message, display_path(CATALOGS / f"{language}.po"))]


_SPAM_SCORE = re.compile(r"Content analysis details:\s+\((-?[\d.]+) points, (-?[\d.]+) required\)")
_SPAM_RULE = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s+([A-Z0-9_]+)\s+(.*)$")


def spam_score(data: bytes) -> list[Finding]:
    """SpamAssassin's score of the message, rule by rule (local tests only), where it is installed."""
    program = SPAMASSASSIN
    if program is None:
        return [
            Finding(
                Level.NOTE,
                "spam",
                "SpamAssassin is not installed here: no spam score (apt-get install spamassassin)",
            )
        ]
    try:
        done = subprocess.run(  # noqa: S603 (a fixed program, the message on stdin)
            [program, "-t", "-L", "-p", os.devnull],  # local rules only; no prefs file written
            input=data,
            capture_output=True,
            timeout=SPAM_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return [Finding(Level.NOTE, "spam", f"SpamAssassin did not answer: {exc}")]
    report = done.stdout.decode(errors="replace")
    found = _SPAM_SCORE.search(report)
    if not found:
        return [Finding(Level.NOTE, "spam", "SpamAssassin gave no score")]
    score, required = float(found.group(1)) or 0.0, float(found.group(2))  # "-0.0" is 0
    rules = []
    for line in report[found.end() :].splitlines():
        if (rule := _SPAM_RULE.match(line)) and float(rule.group(1)) != 0:
            rules.append(f"{rule.group(2)} {float(rule.group(1)):+g} ({rule.group(3).strip()})")
    listed = ("; rules: " + "; ".join(rules)) if rules else ""
    if any(rule.startswith("LONGWORDS ") for rule in rules) and (words := long_words(data)):
        listed += f"; LONGWORDS counts “{words}”, the event's own words (rephrased, the points go)"
    level = Level.ERROR if score >= required else Level.WARNING if score >= required / 2 else Level.PASSED
    return [Finding(level, "spam", f"SpamAssassin scores it {score:g} of {required:g}{listed}")]


# SpamAssassin's LONGWORDS (20_body_tests.cf): two of these three runs of long lowercase words. In
# the example it is the abstract's "therefore addresses multiple immunopathogenic pathways
# simultaneously" (scientific prose), not anything announcer adds, such as the calendar links.
_LONG_WORDS = (
    re.compile(r"\b(?:[a-z]{8,}[\s.]+){6}"),
    re.compile(r"\b(?:[a-z]{6,}[\s.]+){9}"),
    re.compile(r"\b(?:[a-z]{5,}[\s.]+){10}"),
)


def long_words(data: bytes) -> str | None:
    """The run of long words in the plain text that SpamAssassin's LONGWORDS counts, if any."""
    body = read(data).get_body(("plain",))
    text = str(body.get_content()) if body is not None else ""
    for pattern in _LONG_WORDS:
        if found := pattern.search(text):
            return excerpt_words(found.group(0))
    return None


def excerpt_words(run: str, limit: int = 120) -> str:
    """A run of words on one line, cut at `limit` characters."""
    words = " ".join(run.split())
    return words if len(words) <= limit else words[: limit - 1] + "…"


def inspect_message(
    data: bytes,
    settings: Settings,
    where: str,
    room: list[Room],
    sources: dict[str, str],
    *,
    asked: set[str] | None,
    spam: bool,
) -> list[Finding]:
    """Every check of one composed message; `where` is the file it was made from."""
    message = read(data)
    html = html_of(message)
    parsed = read_markup(html)
    found = [
        *inspect_size(html, [*room, Room("the theme's styles", THEME_STYLES, _styles(html))]),
        *inspect_images(parsed, sources),
        *inspect_links(parsed, sources),
        *inspect_accessibility(parsed, str(message.get("Content-Language", "")), sources),
        *inspect_calendars(message, where),
        *inspect_headers(message, settings, list_mail=settings.list_ is not None),
    ]
    if asked is not None:  # --links
        found.extend(answering(parsed, sources, asked))
    if spam:
        found.extend(spam_score(data))
    return found


def _styles(html: str) -> int:
    return sum(len(style.encode()) for style in re.findall(r"(?is)<style\b.*?</style>", html))


def event_room(named: NamedEvent, where: str) -> list[Room]:
    """The parts of an event that can grow without bound, with their size as HTML."""
    event = named.event
    room = []
    for field_name, label in (("abstract", "the abstract"), ("intro", "the introduction")):
        if text := getattr(event, field_name):
            room.append(Room(label, f"{where}: {field_name}", len(prose.to_html(text).encode())))
    for number, speaker in enumerate(event.speakers):
        if speaker.bio:
            size = len(prose.to_html(speaker.bio).encode())
            room.append(Room(f"{speaker.name}'s biosketch", f"{where}: speakers[{number}].bio", size))
    if event.publications:
        size = sum(len(publication.model_dump_json()) for publication in event.publications)
        room.append(Room(f"{len(event.publications)} publications", f"{where}: publications", size))
    return room


def event_sources(named: NamedEvent, where: str, settings: Settings) -> dict[str, str]:
    """Which setting or field each address in the message comes from."""
    event = named.event
    sources = {}
    if settings.brand.logo_url:
        sources[settings.brand.logo_url] = "announcer.toml: [brand] logo_url, logo_alt"
    for number, speaker in enumerate(event.speakers):
        for key in ("photo", "url"):
            if value := getattr(speaker, key):
                sources[value] = f"{where}: speakers[{number}].{key}"
    for number, link in enumerate(event.links):
        sources[link.url] = f"{where}: links[{number}].url"
    for number, publication in enumerate(event.publications):
        if publication.url:
            sources[publication.url] = f"{where}: publications[{number}].url"
    if event.url:
        sources[event.url] = f"{where}: url"
    if event.venue:
        for key in ("map_url", "online_url"):
            if value := getattr(event.venue, key):
                sources[value] = f"{where}: venue.{key}"
    return sources


def _kb(size: int) -> str:
    return f"{size / 1000:,.0f} KB" if size >= 1000 else f"{size} bytes"


def _short(url: str) -> str:
    return url if len(url) <= 80 else url[:60] + "…" + url[-12:]
