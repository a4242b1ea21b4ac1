"""The theme's templates as a workspace changes them: an override that extends the packaged
template and replaces one block, the site's own folder, and the pieces the templates share."""

from __future__ import annotations

import re
import tomllib
from datetime import date, datetime
from pathlib import Path
from typing import NamedTuple

from announcer.lifecycle import CANCELLED, Edition
from announcer.load.events import load_named
from announcer.model.settings import Letterhead, Settings
from announcer.model.window import Window
from announcer.render.content import Renderer
from announcer.render.digest import render_digest
from announcer.render.theme import template_messages, theme_folder
from tests.helpers import CLI, EXAMPLE_EVENT, ROOT, composer, render_event, write

SHORT = "CAR T cells, from lymphoma to lupus, in one hour."


def _around(pattern: str, text: str) -> tuple[str, str]:
    """What comes before the first match of `pattern` (a section, up to the next one) and after it."""
    found = re.search(pattern, text, re.MULTILINE | re.DOTALL)
    assert found, pattern
    return text[: found.start()], text[found.end() :]


def test_an_override_extends_the_packaged_invitation_and_replaces_one_block(
    settings: Settings, pinned: None
) -> None:
    html, text = composer(render_event(settings), settings).personalised(None)
    write(
        Path("templates/email/invitation.mjml.j2"),
        '{% extends "theme:invitation.mjml.j2" %}\n'
        "{% block abstract %}\n"
        "          <h2>In short</h2>\n"
        f"          <p>{SHORT}</p>\n"
        "{% endblock %}\n",
    )
    write(
        Path("templates/email/invitation.txt.j2"),
        f'{{% extends "theme:invitation.txt.j2" %}}\n{{% block abstract %}}\n{SHORT}\n\n{{% endblock %}}\n',
    )
    ours_html, ours_text = composer(render_event(settings), settings).personalised(None)

    assert SHORT in ours_html
    assert SHORT in ours_text
    assert "Chimeric antigen receptor" not in ours_html + ours_text, "the packaged abstract is replaced"
    next_section = r"(?=<h2[^>]*>About the speaker</h2>)"
    assert _around(r"<h2[^>]*>Abstract</h2>.*?" + next_section, html) == _around(
        r"<h2[^>]*>In short</h2>.*?" + next_section, ours_html
    ), "everything but the block is the packaged invitation's"
    assert _around(r"^Abstract\n-+\n.*?(?=^About the speaker)", text) == _around(
        f"^{re.escape(SHORT)}\n\n", ours_text
    )


def test_a_site_page_is_overridden_from_templates_site(cli: CLI, pinned: None) -> None:
    assert cli("site", "--out", "packaged")[0] == 0
    write(
        Path("templates/site/event.html.j2"),
        '{% extends "theme:site/event.html.j2" %}\n'
        "{% block footer %}\n<footer><p>Questions? Ask the organisers.</p></footer>\n{% endblock %}\n",
    )
    write(Path("templates/site/style.html.j2"), "<style>body { color: #123456; }</style>\n")
    code, _, err = cli("site", "--out", "ours")
    assert code == 0, err

    style, footer = r"<style>.*?</style>", r"<footer>.*?</footer>"
    packaged, ours = _pages("packaged"), _pages("ours")
    assert "<style>body { color: #123456; }</style>" in ours.series, "the workspace's style, not the theme's"
    assert _without(ours.series, style) == _without(packaged.series, style)
    assert "<style>body { color: #123456; }</style>" in ours.event
    assert "<footer><p>Questions? Ask the organisers.</p></footer>" in ours.event
    assert _without(ours.event, style, footer) == _without(packaged.event, style, footer)


class _Pages(NamedTuple):
    series: str
    event: str


def _pages(site: str) -> _Pages:
    """The example series' page and its example event's, as the site in folder `site` has them."""
    return _Pages(
        Path(site, "onkpat/index.html").read_text(),
        Path(site, "onkpat/2026-03-06-car-t-cell-therapy.html").read_text(),
    )


def _without(page: str, *patterns: str) -> str:
    for pattern in patterns:
        page = re.sub(pattern, "", page, flags=re.DOTALL)
    return page


def test_a_template_that_is_not_there_is_named_with_where_it_was_looked_for(cli: CLI) -> None:
    write(Path("templates/email/invitation.mjml.j2"), '{% extends "theme:invitaton.mjml.j2" %}\n')
    code, _, err = cli("render", EXAMPLE_EVENT, "-o", "rendered")
    assert code == 1
    assert "error: template theme:invitaton.mjml.j2 not found in the theme\n" in err

    write(Path("templates/site/event.html.j2"), '{% include "site/styles.html.j2" %}\n')
    code, _, err = cli("site", "--out", "public")
    assert code == 1
    assert "error: template site/styles.html.j2 not found in templates/site/ or the theme\n" in err


def test_an_override_that_extends_its_own_name_is_told_how_to_extend_the_packaged_one(cli: CLI) -> None:
    write(
        Path("templates/email/invitation.mjml.j2"),
        '{% extends "invitation.mjml.j2" %}\n{% block abstract %}{% endblock %}\n',
    )
    code, _, err = cli("render", EXAMPLE_EVENT, "-o", "rendered")
    assert code == 1
    assert err == (
        "error: templates/email/invitation.mjml.j2:1: templates extend or include each other without end"
        ' (to extend the packaged template of the same name, write "theme:" before its name)\n'
    )


def test_the_wording_check_reads_the_site_s_templates_of_the_workspace(workspace: Path) -> None:
    write(workspace / "templates/site/index.html.j2", '{{ _("Coffee from 11:45.") }}\n')
    write(workspace / "templates/email/footer.txt.j2", '{{ _("Tea from 15:00.") }}\n')
    found = template_messages(workspace)
    assert {"Coffee from 11:45.", "Tea from 15:00."} <= found
    assert {"All talks of %(series)s", "Dear %(name)s,", "Map of %(place)s"} <= found, "and the theme's"


MARKED = """\
series: "<i>series</i>"
category: "<i>category</i>"
title: "<i>title</i> & co"
start: 2026-03-04 12:00
timezone: Europe/Berlin
language: de
venue:
  name: "<i>room</i>"
  building: "<i>building</i>"
  map_url: https://maps.example.org/?a=1&b=2
  online_url: https://meet.example.org/?a=1&b=2
speakers:
  - name: "<i>speaker</i>"
    title: "<i>credentials</i>"
    bio: "<i>bio</i>"
    url: https://example.org/?a=1&b=2
host:
  name: "<i>host</i>"
  email: host@example.org
intro: "<i>intro</i>"
abstract: "<i>abstract</i>"
url: https://example.org/?a=1&b=2
links:
  - label: "<i>link</i>"
    url: https://example.org/link
publications:
  - authors: ["<i>author</i>"]
    title: "<i>publication</i>"
    journal: "<i>journal</i>"
    year: 2025
"""


def test_every_html_template_escapes_what_the_event_says(settings: Settings, cli: CLI, pinned: None) -> None:
    """The shared pieces (macros) escape in every email and page that prints them: a text piece
    printed in HTML would not (Jinja counts a macro's output as safe where the caller escapes)."""
    path = write(Path("events/2026-03-04-marked.yaml"), MARKED)
    named = load_named(path, settings.defaults)
    renderer = Renderer(Letterhead.of(settings))
    before = {"Time": "2026-03-04T10:00:00+01:00/2026-03-04T11:00:00+01:00/Europe/Stockholm", "Place": "x"}
    uid = "marked@example.org"
    editions = [Edition(uid, 0, "f"), Edition(uid, 0, "f", rsvp=True), Edition(uid, 1, "g", before)]
    pages = {}
    for language in ("en", "de"):
        for edition in [*editions, Edition(uid, 2, CANCELLED)]:
            content = renderer.render_event(named, edition, language)
            pages[f"{edition.kind}{' rsvp' * edition.rsvp} {language}"] = content.html
        now = datetime.fromisoformat("2026-03-03T12:00:00+01:00")
        pages[f"reminder {language}"] = renderer.render_reminder(named, editions[0], "1d", now, language).html
        digest = render_digest(renderer, Window(date(2026, 3, 2), 7), [(named, editions[0])], language)
        pages[f"digest {language}"] = digest.html
    assert cli("site", "--out", "public")[0] == 0
    series = next(Path("public").rglob("2026-03-04-marked.html")).parent
    for page in series.glob("*.html"):
        pages[str(page)] = page.read_text()
    assert len(pages) == 2 * 6 + 2, "each kind in each language, the event's page and its series'"

    for name, html in pages.items():
        assert "<i>" not in html, name
        assert "&lt;i&gt;" in html, name
    assert "&lt;i&gt;title&lt;/i&gt; &amp; co" in pages["cancellation en"], "the sentence that says so too"


def test_the_wheel_carries_each_part_of_the_theme_where_it_is_looked_for() -> None:
    with (ROOT / "pyproject.toml").open("rb") as file:
        carried = tomllib.load(file)["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"]
    for part in ("email", "site"):
        assert carried[f"templates/{part}"] == f"announcer/theme/{part}"
        assert theme_folder(part) == ROOT / "templates" / part, "a source checkout finds it in place"
