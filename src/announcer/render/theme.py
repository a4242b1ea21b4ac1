"""The theme: the Jinja environment and its filters, MJML compiled and CSS inlined, template errors."""

from __future__ import annotations

import hashlib
import logging
from importlib.resources import files
from pathlib import Path
from typing import Any

import jinja2
from mjml import mjml2html
from premailer import Premailer

from announcer import prose
from announcer.errors import TemplateError
from announcer.languages import SOURCE, translations
from announcer.load.files import display_path
from announcer.render import filters


def theme_folder() -> Path:
    """The packaged default theme (in a source checkout, the repository's `templates/email`)."""
    packaged = Path(str(files("announcer") / "theme"))
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parents[3] / "templates" / "email"
    if checkout.is_dir():
        return checkout
    raise TemplateError(f"the default theme is missing: neither {packaged} nor {checkout} exists")


def environment(workspace: Path, language: str = SOURCE) -> jinja2.Environment:
    """Templates from the workspace's `templates/email/` first, then the packaged theme, their
    words in `language` (`_("…")` and `{% trans %}`, gettext's new style).

    HTML and MJML templates are autoescaped; undefined values are errors, never blanks.
    """
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(
            [
                jinja2.FileSystemLoader(workspace / "templates" / "email"),
                jinja2.FileSystemLoader(theme_folder()),
            ]
        ),
        autoescape=jinja2.select_autoescape(enabled_extensions=("mjml.j2", "html.j2"), default=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        bytecode_cache=_compiled_templates(),
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    env.filters["markdown"] = prose.to_html
    env.filters["plain"] = prose.to_text
    env.filters["wrap"] = filters.wrap
    env.filters["wrap_list"] = filters.wrap_list
    env.filters["underline"] = filters.underline
    env.filters["authors"] = filters.authors_html
    env.filters["short_title"] = filters.short_title
    return env


def template_messages(workspace: Path) -> set[str]:
    """Every message the workspace's templates and the theme's write (`_("…")`, `ngettext`)."""
    env = environment(workspace)
    assert env.loader is not None
    found: set[str] = set()
    for name in env.list_templates(extensions=["j2"]):
        source = env.loader.get_source(env, name)[0]
        for _line, _function, message in env.extract_translations(source):  # type: ignore[attr-defined]
            found.add(message if isinstance(message, str) else message[0])
    return found


class Theme:
    """One workspace's templates in one language: rendered by name, errors located in the
    template that failed."""

    def __init__(self, workspace: Path, language: str = SOURCE) -> None:
        self.env = environment(workspace, language)

    def render(self, name: str, context: dict[str, Any]) -> str:
        """The template `name` rendered with `context`, stripped of surrounding white space."""
        try:
            return self.env.get_template(name).render(context).strip()
        except jinja2.TemplateSyntaxError as exc:
            where = display_path(Path(exc.filename)) if exc.filename else name
            raise TemplateError(f"{where}:{exc.lineno}: {exc.message}") from None
        except jinja2.TemplateNotFound as exc:
            raise TemplateError(f"template {exc.name} not found in templates/email/ or the theme") from None
        except jinja2.TemplateError as exc:
            raise TemplateError(f"{_template_position(exc, name)}: {exc.message}") from None

    def render_html(self, name: str, context: dict[str, Any]) -> str:
        """An MJML template rendered and compiled to email HTML with its CSS inlined."""
        return compile_mjml(self.render(name, context), name)


def compile_mjml(mjml: str, name: str) -> str:
    """MJML to email HTML, CSS inlined; keeps the doctype, media queries and `!important`."""
    try:
        html = mjml2html(mjml, fonts={})
    except Exception as exc:  # mjml-python raises bare errors
        raise TemplateError(f"{name}: MJML does not compile: {exc}") from None
    html = html.replace("<!doctype html>", "<!DOCTYPE html>", 1)
    inliner = Premailer(
        html,
        keep_style_tags=True,
        strip_important=False,
        allow_network=False,
        disable_validation=True,
        cssutils_logging_level=logging.CRITICAL,
        disable_basic_attributes=["width", "height"],
    )
    return str(inliner.transform(pretty_print=False))


def _template_position(error: Exception, fallback: str) -> str:
    """`file:line` of the template frame an error was raised in (Jinja rewrites tracebacks so)."""
    position = fallback
    trace = error.__traceback__
    while trace is not None:
        filename = trace.tb_frame.f_code.co_filename
        if filename.endswith(".j2"):
            position = f"{display_path(Path(filename))}:{trace.tb_lineno}"
        trace = trace.tb_next
    return position


def _compiled_templates() -> jinja2.BytecodeCache | None:
    """Templates compiled once, not by every command: Jinja's own cache, in a folder of this user's
    that it checks is theirs alone. Jinja keys it by each template's file and source; the name of
    the files adds this module's own source, so that a change to how templates are compiled here
    (autoescaping above all) never meets code compiled before it."""
    compiler = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]
    try:
        return jinja2.FileSystemBytecodeCache(pattern=f"__announcer_{compiler}_%s.cache")
    except (OSError, RuntimeError):  # no private temporary folder to be had: compile each time
        return None
