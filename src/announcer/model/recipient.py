"""A recipient: one person (or one list address) a message goes to."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Recipient:
    """One person (or one list address) a message goes to, with any extra CSV columns."""

    email: str
    name: str | None = None
    fields: Mapping[str, str] = field(default_factory=dict)
