"""An event as the verbs know it: its file's slug and the series it belongs to."""

from __future__ import annotations

from dataclasses import dataclass

from announcer.model.event import Event
from announcer.model.series import Series
from announcer.model.settings import Settings


@dataclass(frozen=True)
class NamedEvent:
    """An event with its slug: the name its outbox folder, calendar UID and digest anchor use."""

    slug: str
    event: Event
    series: Series | None = None  # the series file it belongs to, if any
    series_id: str | None = None  # that file's name: series/<id>.yaml

    def branded(self, settings: Settings) -> Settings:
        """The settings its emails are made with: its series' brand over the workspace's."""
        return self.series.branded(settings) if self.series else settings
