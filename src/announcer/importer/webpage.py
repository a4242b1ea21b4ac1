"""A web page to a draft: its schema.org Event (JSON-LD, or microdata) first, and its visible
text (scripts, styles and hidden templates left out) for what that does not say."""

from __future__ import annotations

import json
import re
from datetime import datetime
from html.parser import HTMLParser
from typing import Any
from zoneinfo import ZoneInfo

from announcer.importer.draft import Draft
from announcer.importer.online import meeting_link
from announcer.importer.places import venue_of

MAX_SCRIPT_CHARS = 200_000  # of one JSON-LD block: an event's is a few KB
MAX_DEPTH = 40  # of elements open at once, as the parser counts them
_HIDDEN = {"script", "style", "noscript", "template", "head", "svg", "iframe", "object", "title"}
_BLOCK = {
    "p",
    "div",
    "br",
    "li",
    "tr",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "section",
    "article",
    "header",
    "footer",
    "dt",
    "dd",
    "table",
    "ul",
    "ol",
    "blockquote",
    "hr",
    "address",
}
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _Page(HTMLParser):
    """Collects the visible text, the JSON-LD blocks and the microdata items of one page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.json_ld: list[str] = []
        self.items: list[dict[str, Any]] = []
        self._hidden = 0
        self._in_json_ld = False
        self._open: list[str] = []
        self._scopes: list[tuple[int, dict[str, Any], str | None]] = []  # depth, item, its itemprop
        self._props: list[tuple[int, str, list[str]]] = []  # depth, name, text so far

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag in _BLOCK:
            self.text.append("\n")
        if tag == "script" and (values.get("type") or "").strip().lower() == "application/ld+json":
            self._in_json_ld = True
            self.json_ld.append("")
        if tag in _VOID:
            self._property(values, len(self._open))
            return
        if len(self._open) >= MAX_DEPTH:
            return
        self._open.append(tag)
        if tag in _HIDDEN:
            self._hidden += 1
        self._property(values, len(self._open))

    def _property(self, values: dict[str, str | None], depth: int) -> None:
        prop = (values.get("itemprop") or "").strip() or None
        if "itemscope" in values:
            item: dict[str, Any] = {"@type": (values.get("itemtype") or "").rpartition("/")[2]}
            self._scopes.append((depth, item, prop))
            return
        if prop and self._scopes:
            given = values.get("content") or values.get("datetime") or values.get("href") or values.get("src")
            if given is not None:
                self._scopes[-1][1].setdefault(prop, given)
            elif values.get("__tag__") not in _VOID:
                self._props.append((depth, prop, []))

    def handle_endtag(self, tag: str) -> None:
        if tag not in self._open:
            return
        while self._open:
            depth = len(self._open)
            closed = self._open.pop()
            self._close(depth)
            if closed in _HIDDEN:
                self._hidden -= 1
            if closed == tag:
                break
        if tag == "script":
            self._in_json_ld = False
        if tag in _BLOCK:
            self.text.append("\n")

    def _close(self, depth: int) -> None:
        while self._props and self._props[-1][0] >= depth:
            _, name, parts = self._props.pop()
            if self._scopes:
                self._scopes[-1][1].setdefault(name, " ".join("".join(parts).split()))
        while self._scopes and self._scopes[-1][0] >= depth:
            _, item, prop = self._scopes.pop()
            if self._scopes and prop:
                self._scopes[-1][1].setdefault(prop, item)
            else:
                self.items.append(item)

    def handle_data(self, data: str) -> None:
        if self._in_json_ld:
            if len(self.json_ld[-1]) < MAX_SCRIPT_CHARS:
                self.json_ld[-1] += data
            return
        if self._hidden:
            return
        self.text.append(data)
        for _, _, parts in self._props:
            parts.append(data)


def read_page(html: str, default_zone: str) -> tuple[Draft, str]:
    """The page's schema.org Event as a draft (empty if it has none) and its visible text."""
    page = _Page()
    try:
        page.feed(html)
        page.close()
    except (AssertionError, ValueError, RecursionError):  # html.parser's own complaints
        pass
    page._close(0)
    text = re.sub(r"[ \t]+", " ", "".join(page.text))
    text = re.sub(r"\n\s*\n\s*", "\n\n", text)
    text = "\n".join(line.strip() for line in text.split("\n"))
    event = next((item for item in _json_ld_events(page.json_ld)), None)
    if event is None:
        event = next((item for item in page.items if _is_event(item)), None)
    return (_draft(event, default_zone) if event else Draft()), text


def _is_event(item: Any) -> bool:
    kind = item.get("@type") if isinstance(item, dict) else None
    kinds = kind if isinstance(kind, list) else [kind]
    return any(isinstance(name, str) and name.endswith("Event") for name in kinds)


def _json_ld_events(blocks: list[str]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for block in blocks:
        try:
            data = json.loads(block)
        except (ValueError, RecursionError):
            continue
        stack = [data]
        seen = 0
        while stack and seen < 1_000:
            seen += 1
            item = stack.pop()
            if isinstance(item, list):
                stack.extend(reversed(item))
            elif isinstance(item, dict):
                if _is_event(item):
                    found.append(item)
                elif "@graph" in item:
                    stack.append(item["@graph"])
    return found


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        return " ".join(value.split()) or None
    if isinstance(value, dict):
        return _text(value.get("name"))
    if isinstance(value, list) and value:
        return _text(value[0])
    return None


def _draft(event: dict[str, Any], default_zone: str) -> Draft:
    draft = Draft()
    draft.title = _text(event.get("name"))
    _moments(draft, _text(event.get("startDate")), _text(event.get("endDate")), default_zone)
    locations = event.get("location")
    for location in locations if isinstance(locations, list) else [locations]:
        if not isinstance(location, dict):
            if isinstance(location, str) and location.strip():
                draft.venue = venue_of(location)
            continue
        if "url" in location and "VirtualLocation" in str(location.get("@type")):
            draft.online_url = _text(location.get("url"))
            continue
        place = ", ".join(
            part for part in (_text(location.get("name")), _address(location.get("address"))) if part
        )
        if place:
            draft.venue = venue_of(place)
    performers = event.get("performer") or event.get("performers") or []
    speakers = []
    for performer in performers if isinstance(performers, list) else [performers]:
        if name := _text(performer):
            speaker = {"name": name}
            if isinstance(performer, dict) and (affiliation := _text(performer.get("affiliation"))):
                speaker["affiliation"] = affiliation
            if isinstance(performer, dict) and (title := _text(performer.get("jobTitle"))):
                speaker["title"] = title
            speakers.append(speaker)
    draft.speakers = speakers
    if (
        (organizer := event.get("organizer"))
        and isinstance(organizer, dict)
        and organizer.get("@type") == "Person"
    ) and (name := _text(organizer)):
        draft.host = {"name": name}
    description = event.get("description")
    if isinstance(description, str) and description.strip():
        draft.abstract = description.strip()
    if (url := _text(event.get("url"))) and url.startswith(("http://", "https://")):
        draft.url = url
    if draft.online_url is None and isinstance(url, str):
        draft.online_url = meeting_link(url)
    moved = str(event.get("eventStatus", "")).endswith(("EventRescheduled", "EventPostponed"))
    if moved and (previous := _text(event.get("previousStartDate"))):
        draft.when.moved_from = previous
        draft.notes.append(f"rescheduled: it was first announced for {previous}")
    return draft


def _address(value: Any) -> str | None:
    if isinstance(value, dict):
        parts = (value.get(key) for key in ("streetAddress", "addressLocality"))
        return ", ".join(part for part in parts if isinstance(part, str) and part.strip()) or None
    return _text(value)


def _moments(draft: Draft, start: str | None, end: str | None, default_zone: str) -> None:
    """ISO times: with an offset, read on the workspace's clock when it keeps that offset then."""
    if start is None:
        return
    try:
        began = datetime.fromisoformat(start.replace("Z", "+00:00"))
        ended = datetime.fromisoformat(end.replace("Z", "+00:00")) if end else None
    except ValueError:
        return
    if len(start) <= 10:
        draft.when.day = began.date()
        return
    if began.tzinfo is not None:
        local = began.astimezone(ZoneInfo(default_zone))
        if local.utcoffset() == began.utcoffset():
            began = local.replace(tzinfo=None)
            ended = (
                ended.astimezone(ZoneInfo(default_zone)).replace(tzinfo=None)
                if ended and ended.tzinfo
                else ended
            )
        else:
            offset = began.utcoffset()
            draft.when.offset_minutes = int(offset.total_seconds() // 60) if offset is not None else None
            began = began.replace(tzinfo=None)
            ended = ended.replace(tzinfo=None) if ended else None
    draft.when.day, draft.when.start = began.date(), began.time().replace(second=0, microsecond=0)
    if ended is not None and ended.date() == began.date():
        draft.when.end = ended.time().replace(second=0, microsecond=0)
