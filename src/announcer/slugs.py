"""Names made from titles, for a new event's file and a series' folder on the site."""

from __future__ import annotations

import re
import unicodedata


def slug_of(title: str | None) -> str:
    """A file name's worth of a title: "Über Zellen: a Primer" → "uber-zellen-a-primer"."""
    plain = unicodedata.normalize("NFKD", title or "").encode("ascii", "ignore").decode().lower()
    words = re.sub(r"[^a-z0-9]+", "-", plain).strip("-")
    return words[:60].rsplit("-", 1)[0] if len(words) > 60 else words
