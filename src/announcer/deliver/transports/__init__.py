"""Transports deliver finished messages: a dry run into files, or SMTP."""

from __future__ import annotations

from enum import StrEnum


class TransportName(StrEnum):
    """The transports a send can name (`--transport`)."""

    DRY_RUN = "dry-run"
    SMTP = "smtp"
