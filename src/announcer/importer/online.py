"""Links to join online (Zoom, Teams, Meet, Webex), repaired where a meeting id was typed with
spaces."""

from __future__ import annotations

import re

_MEETING_HOSTS = (
    r"(?:[\w-]+\.)*(?:zoom\.us|zoom\.com|teams\.microsoft\.com|teams\.live\.com|meet\.google\.com|webex\.com)"
)
# A Zoom link whose meeting id is written in groups ("zoom.us/j/123 4567 8901"): the groups are
# one number.
_ZOOM_SPACED = re.compile(r"(https?://(?:[\w-]+\.)*zoom\.(?:us|com)/j/)(\d{3,4}(?: \d{3,4}){1,3})\b")
_LINK = re.compile(rf"https?://{_MEETING_HOSTS}/[^\s<>\"')\]]*", re.IGNORECASE)
_ANY_LINK = re.compile(r"https?://[^\s<>\"')\]]+")


def meeting_link(text: str) -> str | None:
    """The first link to an online meeting in `text`, with a spaced meeting id joined up."""
    text = _ZOOM_SPACED.sub(lambda match: match[1] + match[2].replace(" ", ""), text)
    if (match := _LINK.search(text)) is None:
        return None
    return match[0].rstrip(".,;:")


def any_link(text: str) -> str | None:
    """The first web address in `text`, without the punctuation that ends its sentence."""
    match = _ANY_LINK.search(text)
    return match[0].rstrip(".,;:") if match else None
