"""The theme: the Jinja environment and its filters, MJML compiled and CSS inlined, template errors."""

from __future__ import annotations

import functools
import hashlib
import logging
import re
from collections.abc import Callable, Mapping
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal, get_args

import jinja2
from jinja2.sandbox import SandboxedEnvironment
from mjml import mjml2html
from premailer import Premailer
from pydantic import BaseModel

from announcer import prose
from announcer.errors import TemplateError
from announcer.languages import SOURCE, text_direction, translations
from announcer.model.text import did_you_mean
from announcer.paths import display_path
from announcer.render import filters, wording

Part = Literal["email", "site"]
PACKAGED = "theme:"  # `{% extends "theme:invitation.mjml.j2" %}`: the packaged template, not the override
SITE = "site/"  # the site's templates are named so: `site/event.html.j2`


def theme_folder(part: Part = "email") -> Path:
    """Where the packaged theme keeps its templates of `part`, the emails' or the site's: in the
    wheel `announcer/theme/<part>`, in a source checkout the repository's `templates/<part>`."""
    packaged = Path(str(files("announcer") / "theme" / part))
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parents[3] / "templates" / part
    if checkout.is_dir():
        return checkout
    raise TemplateError(f"the default theme is missing: neither {packaged} nor {checkout} exists")


class ThemeLoader(jinja2.BaseLoader):
    """Templates by the names templates use: `invitation.mjml.j2` is an email's (the workspace's
    `templates/email/` first, then the theme's), `site/event.html.j2` a page of the site's
    (`templates/site/`, then the theme's). `theme:` before either names the packaged one alone,
    so that an override can extend the very template it replaces and change one block of it."""

    def __init__(self, workspace: Path) -> None:
        self._loaders = {
            (packaged, part): jinja2.FileSystemLoader(
                [theme_folder(part)] if packaged else [workspace / "templates" / part, theme_folder(part)]
            )
            for packaged in (False, True)
            for part in get_args(Part)
        }

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str | None, Callable[[], bool] | None]:
        packaged, part, name = _parse(template)
        try:
            return self._loaders[packaged, part].get_source(environment, name)
        except jinja2.TemplateNotFound:
            raise jinja2.TemplateNotFound(template) from None  # its whole name, prefixes and all

    def list_templates(self) -> list[str]:
        return sorted(
            (PACKAGED if packaged else "") + (SITE if part == "site" else "") + name
            for (packaged, part), loader in self._loaders.items()
            for name in loader.list_templates()
        )


def _parse(template: str) -> tuple[bool, Part, str]:
    """A template's name as (the packaged one alone?, the emails' or the site's, its file's name)."""
    packaged = template.startswith(PACKAGED)
    name = template.removeprefix(PACKAGED)
    if name.startswith(SITE):
        return packaged, "site", name.removeprefix(SITE)
    return packaged, "email", name


def _own_template(name: str) -> bool:
    """A template by the name the workspace's override would have (not a packaged one's `theme:`)."""
    return name.endswith(".j2") and not name.startswith(PACKAGED)


def _searched(template: str) -> str:
    """Where a template of this name is looked for, in words (for "not found")."""
    packaged, part, _name = _parse(template)
    return "the theme" if packaged else f"templates/{part}/ or the theme"


MAX_LISTED = 40  # names an error lists: an event has about 30 fields and properties


class MissingName(jinja2.UndefinedError):
    """Raised when a template uses a name that does not exist: a field of a value (`event.titel`)
    or a variable (`evnt`), worded with the names that do exist, for a template's author."""

    def __init__(self, name: str, owner: object, _jinja_message: str = "") -> None:
        self.name, self.owner = name, owner  # owner: `jinja2.utils.missing` for a variable
        if owner is jinja2.utils.missing:
            super().__init__(f"the template has no variable {name!r}")
        else:
            super().__init__(f"{_noun(owner)} has no field {name!r}")

    def worded(self, variables: list[str]) -> str:
        """`event has no field 'titel' (did you mean 'title'?); its fields: ...` (`variables`:
        what the template was given, for a variable that is not there)."""
        variable = self.owner is jinja2.utils.missing
        known = variables if variable else _names_of(self.owner)
        listed = ", ".join(known[:MAX_LISTED]) + (", ..." if len(known) > MAX_LISTED else "")
        what = "the variables" if variable else "its fields"
        return f"{self}{did_you_mean(self.name, known)}; {what}: {listed or 'none'}"


class _StrictUndefined(jinja2.StrictUndefined):
    """Jinja's strict undefined, failing with the name asked for and the names there are, not
    with the Python class that lacks it ('announcer.model.event.Event object'). (Its failing
    method is bound to every operator by Jinja's own class: the exception raised is what changes.)"""

    __slots__ = ()

    def __init__(
        self,
        hint: str | None = None,
        obj: Any = jinja2.utils.missing,
        name: str | None = None,
        exc: type[jinja2.TemplateRuntimeError] = jinja2.UndefinedError,
    ) -> None:
        super().__init__(hint, obj, name, exc)
        if hint is None and isinstance(name, str) and exc is jinja2.UndefinedError:
            # Jinja calls it with its message alone: the name and its owner are bound here
            self._undefined_exception = functools.partial(MissingName, name, obj)  # type: ignore[assignment]


_BUILTIN_NOUNS = {str: "text", int: "a number", float: "a number", bool: "yes or no", list: "a list"}


def _noun(value: object) -> str:
    """What a template author calls a value: `event`, `venue`, `speaker`, `text`, `this mapping`."""
    if isinstance(value, Mapping):
        return "this mapping"
    if noun := getattr(type(value), "TEMPLATE_NOUN", None):  # a stand-in's own word (`recipient`)
        return str(noun)
    return _BUILTIN_NOUNS.get(type(value), type(value).__name__.lower())


def _names_of(value: object) -> list[str]:
    """The names a template may read of `value`: a model's fields and properties, a mapping's keys."""
    if isinstance(value, Mapping):
        return [key for key in value if isinstance(key, str)]
    if isinstance(value, BaseModel):
        kind = type(value)
        fields = [name for name, info in kind.model_fields.items() if not info.exclude]
        properties = [
            name
            for name in dir(kind)
            if not name.startswith(("_", "model_")) and isinstance(getattr(kind, name, None), property)
        ]
        return fields + properties
    if type(value).__module__ == "builtins":  # text, a number: their methods are no fields
        return []
    # not its constants either (TEMPLATE_NOUN)
    return [name for name in dir(value) if not name.startswith("_") and not name.isupper()]


def environment(workspace: Path, language: str = SOURCE) -> jinja2.Environment:
    """Templates from the workspace's `templates/email/` and `templates/site/` first, then the
    packaged theme's (see `ThemeLoader`), their words in `language` (`_("…")` and
    `{% trans %}`, gettext's new style: `_` is a global, so imported macros have it too).

    HTML and MJML templates are autoescaped; undefined values are errors, never blanks. A
    template runs in Jinja's sandbox: a theme copied from elsewhere reads the values it is
    given, never what lies behind them (`obj.__init__.__globals__`, the environment, secrets).
    """
    env = SandboxedEnvironment(
        loader=ThemeLoader(workspace),
        autoescape=jinja2.select_autoescape(enabled_extensions=("mjml.j2", "html.j2"), default=False),
        undefined=_StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        bytecode_cache=_compiled_templates(),
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    env.globals["direction"] = text_direction(language)  # dir="…" beside every lang="…"
    env.filters["markdown"] = prose.to_html
    env.filters["plain"] = prose.to_text
    env.filters["wrap"] = filters.wrap
    env.filters["wrap_list"] = filters.wrap_list
    env.filters["underline"] = filters.underline
    env.filters["authors"] = filters.authors_html
    env.filters["short_title"] = filters.short_title
    env.filters["details"] = functools.partial(wording.publication_details, language=language)
    env.filters["citation"] = functools.partial(wording.citation, language=language)
    return env


def template_messages(workspace: Path) -> set[str]:
    """Every message the workspace's templates and the theme's write (`_("…")`, `ngettext`)."""
    env = environment(workspace)
    assert env.loader is not None
    found: set[str] = set()
    # The packaged templates' messages are the catalog's already: `theme:` names add none.
    for name in env.list_templates(filter_func=_own_template):
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
            missing = exc.name if isinstance(exc.name, str) else name
            raise TemplateError(f"template {exc.name} not found in {_searched(missing)}") from None
        except MissingName as exc:
            variables = sorted(key for key in context if not key.startswith("_"))
            raise TemplateError(f"{_template_position(exc, name)}: {exc.worded(variables)}") from None
        except jinja2.TemplateError as exc:
            raise TemplateError(f"{_template_position(exc, name)}: {exc.message}") from None
        except RecursionError as exc:  # an override that extends its own name, not the packaged one
            raise TemplateError(
                f"{_template_position(exc, name)}: templates extend or include each other without end"
                f' (to extend the packaged template of the same name, write "{PACKAGED}" before its name)'
            ) from None

    def render_html(self, name: str, context: dict[str, Any]) -> str:
        """An MJML template rendered and compiled to email HTML with its CSS inlined."""
        return compile_mjml(self.render(name, context), name)


def compile_mjml(mjml: str, name: str) -> str:
    """MJML to email HTML, CSS inlined; keeps the doctype, media queries and `!important`."""
    try:
        html = mjml2html(mjml, fonts={})
    except Exception as exc:  # mjml-python raises bare errors
        raise TemplateError(f"{name}: MJML does not compile: {exc}") from None
    html = _label_as_titled(html.replace("<!doctype html>", "<!DOCTYPE html>", 1))
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


_TITLE = re.compile(r"<title>(.*?)</title>", re.DOTALL)
_EMAIL_LABEL = re.compile(r'aria-label="(?:[^"\\]|\\.)*"(?= aria-roledescription="email")')


def _label_as_titled(html: str) -> str:
    """The email's label for screen readers as its title says it: MJML writes it with every space
    but the plain one, and every combining accent, as a Rust escape (`2\\u{2009}–`), read out
    letter by letter. The title is escaped HTML text already, so it stands in the attribute."""
    title = _TITLE.search(html)
    if title is None:
        return html
    label = title.group(1).replace('"', "&#34;")
    return _EMAIL_LABEL.sub(lambda _: f'aria-label="{label}"', html, count=1)


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
    (autoescaping, the sandbox) never meets code compiled before it: the choice of both stays in
    this module (code compiled for the sandbox fails in a plain environment, and the reverse
    would run unsandboxed)."""
    compiler = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]
    try:
        return jinja2.FileSystemBytecodeCache(pattern=f"__announcer_{compiler}_%s.cache")
    except (OSError, RuntimeError):  # no private temporary folder to be had: compile each time
        return None
