"""The colours derived from a brand's accent stay legible (WCAG AA, 4.5:1) whatever the accent."""

from __future__ import annotations

import pytest

from announcer.render.palette import WHITE, contrast, palette_for

ACCENTS = ["#7a1f52", "#1f4e79", "#ffdd00", "#00ff00", "#ffffff", "#000000", "#ff6600", "#0066ff", "#888888"]


@pytest.mark.parametrize("accent", ACCENTS)
def test_every_pair_the_template_uses_reads_at_4_5_to_1(accent: str) -> None:
    p = palette_for(accent)
    pairs = {
        "white on the accent (band, buttons)": (WHITE, p.accent),
        "accent links on the card": (p.accent, p.card),
        "accent links on the facts' tint": (p.accent, p.tint),
        "accent links in the footer, on the page": (p.accent, p.page),
        "links in dark mode": (p.dark_accent_text, p.dark_card),
        "text on the card": (p.text, p.card),
        "muted text on the card": (p.muted, p.card),
        "muted text on the page": (p.muted, p.page),
        "dark text": (p.dark_text, p.dark_card),
        "dark muted text": (p.dark_muted, p.dark_card),
    }
    low = {name: round(contrast(*pair), 2) for name, pair in pairs.items() if contrast(*pair) < 4.5}
    assert low == {}, f"{accent}: {low}"
