"""`--help` in an organiser's words: each argument shown by its name alone (`EVENT...`,
`[EVENTS_DIR]`), as its help line says what it is. Typer's own shows a Python type beside it
(`EVENT <list[Path]>`, `SERIES <str>`) and a required argument in braces (`{EVENT}...`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from typer.core import TyperArgument, TyperGroup

if TYPE_CHECKING:  # Typer carries its own click
    from typer import _click as click


class _NamedArgument(TyperArgument):
    """An argument shown by its name: `EVENT`, `EVENT...`, `[EVENTS_DIR]`."""

    def display_type_rich(self, ctx: click.Context) -> str | None:
        return None

    def _usage_display_name(self) -> str:
        name = self.display_name_raw if self.required else f"[{self.display_name_raw}]"
        return name + ("..." if self.nargs != 1 else "")


class NamedArguments(TyperGroup):
    """The verbs, each with its arguments shown by their names (see the module)."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        for param in command.params if command else []:
            if type(param) is TyperArgument:
                param.__class__ = _NamedArgument  # the same object, only shown otherwise
        return command
