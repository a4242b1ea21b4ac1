"""The safe default: each message written as an .eml file instead of being sent."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path

from announcer.compose.message import Outgoing
from announcer.deliver.transports.base import Transport
from announcer.errors import DeliveryError

_UNSAFE = re.compile(r"[^A-Za-z0-9@._+-]")  # in a file name


class DryRunTransport(Transport):
    """Writes `OUTBOX/<folder>/0001-<address>.eml`, … exactly as they would go on the wire.

    Messages are written into a hidden staging folder that replaces `OUTBOX/<folder>` only
    when the run completes, so the folder always holds one whole run and never half of one.
    A long run may be `split` among several processes, each writing its own messages there.
    """

    def __init__(self, outbox: Path, folder: str) -> None:
        self.target = outbox / folder
        self.staging = outbox / f".{folder}.partial-{os.getpid()}"
        self._numbered = _Share(self.staging, 0, 1)

    def open(self) -> None:
        self._remove_stale()
        try:
            self.staging.mkdir(parents=True)
        except OSError as exc:
            raise DeliveryError(f"{self.staging}: cannot create the outbox folder: {exc.strerror}") from None
        self._numbered = _Share(self.staging, 0, 1)  # the whole run, from the first message

    def send(self, message: Outgoing, committing: Callable[[], None] = lambda: None) -> str:
        return self._numbered.send(message, committing)

    def split(self, count: int) -> list[Transport]:
        return [_Share(self.staging, number, count) for number in range(count)]

    def close(self) -> None:
        retired = self.target.with_name(f".{self.target.name}.retired-{os.getpid()}")
        try:
            if self.target.exists():
                self.target.rename(retired)
            self.staging.rename(self.target)
        except OSError as exc:
            raise DeliveryError(f"{self.target}: cannot publish the outbox folder: {exc.strerror}") from None
        shutil.rmtree(retired, ignore_errors=True)

    def _remove_stale(self) -> None:
        """Staging and retired folders that a killed run of this folder left behind."""
        if not self.target.parent.is_dir():
            return
        for left in self.target.parent.glob(f".{self.target.name}.*-*"):
            kind, _, pid = left.name.rpartition("-")
            if kind.endswith((".partial", ".retired")) and pid.isdigit() and not _running(int(pid)):
                shutil.rmtree(left, ignore_errors=True)
        shutil.rmtree(self.staging, ignore_errors=True)

    def abort(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)


class _Share(Transport):
    """Every `step`th message of a dry run from the `number`th on (counted from 0), numbered in
    the list's order, written into the run's staging folder (which the run, not this share,
    publishes or removes)."""

    def __init__(self, staging: Path, number: int, step: int) -> None:
        self.staging = staging
        self.next = number + 1
        self.step = step

    def open(self) -> None:
        pass

    def send(self, message: Outgoing, committing: Callable[[], None] = lambda: None) -> str:
        committing()
        number, self.next = self.next, self.next + self.step
        recipient = _UNSAFE.sub("_", message.to)
        # A file name holds at most 255 bytes; an address may have 254 characters.
        path = self.staging / f"{number:04d}-{recipient[:200]}.eml"
        try:
            path.write_bytes(message.data)
        except OSError as exc:
            raise DeliveryError(f"{path}: cannot write: {exc.strerror}") from None
        return f"written to {path.name}"

    def close(self) -> None:
        pass


def _running(pid: int) -> bool:
    """Whether a process with this id exists (one of another user's counts)."""
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
