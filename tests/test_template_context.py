"""What a template reads of the settings, by the context's own names (`sender`, `mailing`,
`brand`, `site`, `default_zone`), and `settings`, the old name, kept for a release for a
workspace's own templates: read as before, each template told once, and nothing more reached."""

from __future__ import annotations

import ast
import logging
import re
from pathlib import Path

import pytest

from announcer.load.settings import load_settings
from announcer.model.settings import Letterhead, Settings
from announcer.preview.model import Target, build_items
from announcer.render.theme import theme_folder
from announcer.serve.pages import Pages
from tests.helpers import CLI, EXAMPLE_EVENT, ROOT, composer, render_event, write


def _as_written_before(template: str) -> str:
    """A packaged template as a workspace copied it before the context named the settings' parts."""
    text = (ROOT / "templates/email" / template).read_text()
    for new, old in (
        ("{% if mailing %}", "{% set mailing = settings.list_ %}\n{% if mailing %}"),
        ("sender.name", "settings.sender.name"),
        ("brand.footer", "settings.brand.footer"),
    ):
        assert new in text, (template, new)
        text = text.replace(new, old)
    return text


# Every part `settings` answered, old form and new, in one subject line.
OLD_SUBJECT = (
    "{{ settings.sender.name }} {{ settings.list_.id }} {{ settings.brand.accent }}"
    " {{ settings.defaults.timezone }} {{ settings.site.url if settings.site else 'no site' }}:"
    " {{ event.title }}\n"
)
NEW_SUBJECT = (
    "{{ sender.name }} {{ mailing.id }} {{ brand.accent }}"
    " {{ default_zone }} {{ site.url if site else 'no site' }}: {{ event.title }}\n"
)
TOLD = (
    "warning: templates/email/footer.txt.j2:3: `settings.list_` is deprecated and goes in a coming "
    "release: write `mailing` (the context's names: sender, mailing, brand, site, default_zone)"
)


def _deprecations(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if "is deprecated" in record.getMessage()]


def test_an_override_reading_settings_renders_as_before_and_is_told_once_a_send(
    cli: CLI, settings: Settings, pinned: None, caplog: pytest.LogCaptureFixture
) -> None:
    packaged = {
        language: composer(render_event(settings, language=language), settings) for language in ("en", "sv")
    }
    write(Path("templates/email/footer.txt.j2"), _as_written_before("footer.txt.j2"))

    code, out, err = cli("send", EXAMPLE_EVENT, "--to", "recipients/multilingual.csv")

    assert code == 0, out + err
    assert len(list(Path("outbox").rglob("*.eml"))) == 3, "three readers, in English, Swedish and German"
    assert err.count("is deprecated") == 1, err
    assert TOLD in err
    for language, before in packaged.items():
        ours = composer(render_event(settings, language=language), settings)
        assert ours.personalised(None)[1] == before.personalised(None)[1], language
    assert len(_deprecations(caplog)) == 1, "once a run, however many messages and languages"


def test_every_part_settings_answered_it_answers_as_the_new_names_do(
    workspace: Path, pinned: None, caplog: pytest.LogCaptureFixture
) -> None:
    with Path("announcer.toml").open("a") as toml:
        toml.write('\n[site]\nurl = "https://seminars.example.org/"\n')
    settings = load_settings(workspace / "announcer.toml")
    write(Path("templates/email/invitation.subject.j2"), NEW_SUBJECT)
    new = render_event(settings).subject
    write(Path("templates/email/invitation.subject.j2"), OLD_SUBJECT)
    old = render_event(settings).subject

    assert (
        old
        == new
        == (
            "OnkPat Friday Seminar onkpat-seminars.example.org #7a1f52 Europe/Stockholm"
            " https://seminars.example.org/: CAR T Cell Therapy: From Lymphoma to Autoimmunity"
        )
    )
    assert _deprecations(caplog) == [
        "templates/email/invitation.subject.j2:1: `settings.sender` is deprecated and goes in a coming "
        "release: write `sender` (the context's names: sender, mailing, brand, site, default_zone)"
    ]


def test_an_override_reading_settings_is_told_once_over_many_messages(
    workspace: Path, pinned: None, caplog: pytest.LogCaptureFixture
) -> None:
    write(Path("templates/email/footer.html.j2"), _as_written_before("footer.html.j2"))

    items = build_items(Target(Path("events"), Path("announcer.toml")))

    assert len(items) == 6, "five events and their digest"
    assert all("OnkPat Friday Seminar mailing list" in item.html for item in items.values())
    assert len(_deprecations(caplog)) == 1, _deprecations(caplog)


def test_an_override_reading_anything_else_of_settings_is_a_located_error(cli: CLI) -> None:
    with Path("announcer.toml").open("a") as toml:
        toml.write('\n[smtp]\nhost = "relay.internal.example.org"\n')
    write(Path("templates/email/invitation.subject.j2"), "Seminar\n{{ settings.smtp.host }}\n")

    code, out, err = cli("send", EXAMPLE_EVENT, "--to", "a@example.org")

    assert code == 1
    assert (
        "error: templates/email/invitation.subject.j2:2: settings (deprecated) has no field 'smtp';"
        " its fields: brand, defaults, list_, sender, site"
    ) in err
    assert "relay.internal" not in out + err, "the templates never reach the SMTP settings"
    assert not Path("outbox").exists()


@pytest.mark.parametrize(
    "reach",
    [
        "sender.__init__.__globals__['os'].environ",
        "settings._letterhead.workspace",
        "recipient.__class__.__mro__",
        "''.__class__.__mro__[1].__subclasses__()",
    ],
)
def test_a_theme_reads_the_values_it_is_given_never_what_lies_behind_them(
    cli: CLI, monkeypatch: pytest.MonkeyPatch, reach: str
) -> None:
    """A theme copied from elsewhere runs in Jinja's sandbox: Python's insides, the process's
    environment (where the secrets are) and the alias's own parts are out of its reach."""
    monkeypatch.setenv("ANNOUNCER_SMTP_PASSWORD", "hunter2-secret")
    write(Path("templates/email/invitation.subject.j2"), f"Seminar {{{{ {reach} }}}}\n")

    code, out, err = cli("send", EXAMPLE_EVENT, "--to", "a@example.org")

    assert code == 1, out + err
    assert "error: templates/email/invitation.subject.j2:1: access to attribute" in err
    assert "is unsafe" in err
    assert "hunter2" not in out + err
    assert not Path("outbox").exists()


def test_the_packaged_templates_read_the_new_names_and_are_told_nothing(
    cli: CLI, settings: Settings, pinned: None, caplog: pytest.LogCaptureFixture
) -> None:
    for part in ("email", "site"):
        for template in theme_folder(part).glob("*.j2"):
            assert not re.search(r"\bsettings\.", template.read_text()), template
    caplog.set_level(logging.WARNING)
    build_items(Target(Path("events"), Path("announcer.toml")))
    assert cli("site", "--out", "site")[0] == 0
    Pages(Letterhead.of(settings))
    assert _deprecations(caplog) == []


def test_nothing_that_renders_is_handed_the_whole_settings() -> None:
    """`render/` takes a Letterhead: what it may show, never the SMTP, DKIM or state settings."""
    for module in (ROOT / "src/announcer/render").rglob("*.py"):
        tree = ast.parse(module.read_text())
        imported = {
            alias.asname or alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom | ast.Import)
            for alias in node.names
        }
        assert "Settings" not in imported, module
