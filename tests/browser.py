"""Debian's Chromium driven by Playwright, kept off the network; and checks of a rendered email."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def _unavailable(reason: str) -> None:
    if os.environ.get("ANNOUNCER_REQUIRE_BROWSER") == "1":
        pytest.fail(f"browser tests are required here: {reason}")
    pytest.skip(reason)


def launch() -> Iterator[Browser]:
    """A headless Chromium, or a skip (a failure where ANNOUNCER_REQUIRE_BROWSER=1)."""
    executable = shutil.which("chromium")
    if os.environ.get("ANNOUNCER_SKIP_BROWSER") == "1":
        _unavailable("ANNOUNCER_SKIP_BROWSER=1 (the mutation runs, for time)")
    if executable is None:
        _unavailable("Debian's chromium is not installed (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=FLAGS)
        try:
            yield browser
        finally:
            browser.close()


def axe_script() -> str:
    if not AXE.exists():
        _unavailable("axe-core is not installed (npm ci in the repository)")
    return AXE.read_text()


_VISIBLE_TEXT = """
  const visibleText = function* () {
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const text = node.textContent.trim();
      const element = node.parentElement;
      if (!text || element.closest('[aria-hidden="true"]')) continue;
      const rect = element.getBoundingClientRect();
      if (rect.width > 0 && rect.height > 0) yield [text, element, getComputedStyle(element)];
    }
  };
"""

SMALL_TEXT = (
    "() => {"
    + _VISIBLE_TEXT
    + """
  const found = [];
  for (const [text, , style] of visibleText()) {
    const size = parseFloat(style.fontSize);
    if (size < 14) found.push(`${size}px: ${text.slice(0, 40)}`);
  }
  return found;
}"""
)

LOW_CONTRAST = (
    "() => {"
    + _VISIBLE_TEXT
    + """
  const rgb = (value) => value.match(/[\\d.]+/g).map(Number);
  const luminance = ([r, g, b]) => [r, g, b].map((c) => {
    c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  }).reduce((sum, c, i) => sum + c * [0.2126, 0.7152, 0.0722][i], 0);
  const background = (element) => {
    for (let at = element; at; at = at.parentElement) {
      const colour = rgb(getComputedStyle(at).backgroundColor);
      if (colour.length < 4 || colour[3] > 0) return colour;
    }
    return [255, 255, 255];
  };
  const found = [];
  for (const [text, element, style] of visibleText()) {
    const [a, b] = [luminance(rgb(style.color)), luminance(background(element))];
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
    if (ratio < (large ? 3 : 4.5)) found.push(`${ratio.toFixed(2)}: ${text.slice(0, 40)}`);
  }
  return found;
}"""
)


# A message sits inside its mail client's page, which has the main landmark and the regions;
# the message's own wrapper is role="article" (as the Email Markup Consortium advises), so these
# two page-level rules do not apply to an email.
EMAIL_RULES_OFF = {"landmark-one-main": {"enabled": False}, "region": {"enabled": False}}


def axe_violations(page: Page, script: str, *, email: bool = False) -> list[str]:
    """Every axe-core finding on the page, whatever its impact (of an email: but the page's landmarks)."""
    page.add_script_tag(content=script)
    rules = EMAIL_RULES_OFF if email else {}
    result = page.evaluate(
        "async (rules) => (await axe.run(document, {resultTypes: ['violations'], rules})).violations", rules
    )
    return [f"{item['impact']}: {item['id']}: {item['help']} ({len(item['nodes'])} nodes)" for item in result]
