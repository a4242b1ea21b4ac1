"""The email's colours, derived from the brand's accent so that every pair stays legible."""

from __future__ import annotations

from dataclasses import dataclass

WHITE = "#ffffff"
MIN_CONTRAST = 4.5  # WCAG 2.1 AA for body text


def _rgb(colour: str) -> tuple[float, float, float]:
    return int(colour[1:3], 16) / 255, int(colour[3:5], 16) / 255, int(colour[5:7], 16) / 255


def _hex(rgb: tuple[float, float, float]) -> str:
    return "#" + "".join(f"{round(min(max(channel, 0.0), 1.0) * 255):02x}" for channel in rgb)


def mix(colour: str, other: str, share: float) -> str:
    """`colour` with `share` (0 to 1) of `other` mixed in."""
    a, b = _rgb(colour), _rgb(other)
    return _hex((a[0] + (b[0] - a[0]) * share, a[1] + (b[1] - a[1]) * share, a[2] + (b[2] - a[2]) * share))


def luminance(colour: str) -> float:
    """Relative luminance (WCAG 2.1)."""

    def linear(channel: float) -> float:
        return channel / 12.92 if channel <= 0.03928 else ((channel + 0.055) / 1.055) ** 2.4

    red, green, blue = (linear(channel) for channel in _rgb(colour))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast(first: str, second: str) -> float:
    """The WCAG contrast ratio of two colours, from 1 to 21."""
    light, dark = sorted((luminance(first), luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def _until_legible(colour: str, background: str, towards: str) -> str:
    """`colour` moved towards `towards` in small steps until it reads on `background`."""
    share = 0.0
    while contrast(colour, background) < MIN_CONTRAST and share < 1:
        share += 0.05
        colour = mix(colour, towards, 0.05)
    return colour


@dataclass(frozen=True)
class Palette:
    """Light and dark colours for every role in the template."""

    accent: str
    tint: str
    page: str = "#f2f1ee"
    card: str = WHITE
    text: str = "#1d1d1f"
    muted: str = "#55555a"
    rule: str = "#e4e2dd"
    dark_page: str = "#0f0f10"
    dark_card: str = "#1c1c1e"
    dark_text: str = "#ececec"
    dark_muted: str = "#a9a9ae"
    dark_rule: str = "#333336"
    dark_accent_text: str = "#9cc3ff"
    dark_tint: str = "#26262a"
    warn: str = "#b3261e"  # what is off: a cancelled talk's label (6.6:1 on white)
    dark_warn: str = "#ff9e94"
    notice: str = "#fbf1d5"  # what changed: an update's box, warm where the facts' tint is the accent's
    dark_notice: str = "#3b321c"


def palette_for(accent: str) -> Palette:
    """The palette for a brand accent: darkened until it reads on white, the tint and the page."""
    dark_card = Palette.dark_card
    dark_link = _until_legible(mix(accent, WHITE, 0.45), dark_card, WHITE)
    tint = mix(accent, WHITE, 0.93)
    strong = accent
    for background in (WHITE, tint, Palette.page):  # white text on it; it as links on the card, tint, page
        strong = _until_legible(strong, background, "#000000")
    return Palette(
        accent=strong,
        tint=tint,
        dark_accent_text=dark_link,
        dark_tint=mix(accent, dark_card, 0.82),
    )
