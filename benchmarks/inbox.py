"""`announcer inbox` over a Maildir of a few thousand mixed messages, as a list's bounce and
unsubscribe mailboxes hold them after a send, beside the stdlib parsing the same files, in one run.

    .venv/bin/python -m benchmarks.inbox [--messages 3000] [--rounds 3]

The mix: bounces (Postfix's RFC 3464 reports, half to our VERP address and half naming a
recipient, one in three quoting our whole message; Exim's plain text, read by flufl.bounce),
complaints (ARF), mailed unsubscriptions, automatic replies, RSVP answers and people's own
mail, each a message of its own Message-ID.

- announcer: `read_inbox` (the verb's work: every file read, sorted, its change and its record
  committed in the journal, one transaction each) with `--move-to Handled`, on a fresh copy of
  the Maildir and of the journal each round; then again over what it left in the Maildir (the
  mail that is no one's bounce, complaint or answer), all handled before: cron's next run.
- Baselines: each file read and parsed whole by the stdlib (`BytesParser`), its Message-ID
  read and its parts walked: what any program reading the mailbox does at least; with the
  stdlib's `policy.default` (headers parsed as objects) and with `compat32` (headers as text,
  as announcer reads them).
- The whole process, once: `announcer inbox` from the shell, its start-up and all.

Rounds are taken in turn, the best of each kept, so that a noisy neighbour slows both alike.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from email import policy
from email.parser import BytesParser
from email.policy import Policy
from pathlib import Path

from announcer.audience.tokens import unsubscribe_token, verp_address
from announcer.inbox.sorter import Kind
from announcer.jobs import read_inbox
from announcer.load.settings import load_settings
from tests.inbox_mail import (
    BOUNCES,
    LEAVE,
    SECRET,
    SENDER,
    UNSUBSCRIBE_URL,
    arf,
    auto_reply,
    deliver,
    dsn,
    exim_bounce,
    mail,
    rsvp,
    sent_to,
)

ROOT = Path(__file__).resolve().parents[1]
TARGET = 500  # messages a second
# What a list's mailboxes hold after a send, in shares of the whole.
MIX = {
    "bounce to our VERP address": 0.25,
    "bounce naming its recipient": 0.15,
    "bounce in Exim's own form": 0.05,
    "complaint": 0.05,
    "unsubscription": 0.05,
    "automatic reply": 0.20,
    "RSVP answer": 0.10,
    "someone's own mail": 0.15,
}


def _invitation_body(number: int) -> str:
    """A message of ours as a bounce quotes it whole: 40 kB of HTML, as the invitation's."""
    row = f"<tr><td style='padding:4px'>Reader {number}: CAR T Cell Therapy, Friday 12:00</td></tr>\n"
    html = "<html><body><table>\n" + row * (40_000 // len(row)) + "</table></body></html>"
    return f"MIME-Version: 1.0\nContent-Type: text/html; charset=utf-8\n\n{html}\n"


def _message(kind: str, number: int, reader: str) -> bytes:
    message_id = f"<bench{number}@mx.example.net>"
    if kind == "bounce to our VERP address":
        data = dsn(verp_address(BOUNCES, reader, SECRET), reader, message_id=message_id)
        if number % 3 == 0:  # Postfix returns the whole message when it is small enough
            data = dsn(
                verp_address(BOUNCES, reader, SECRET),
                reader,
                message_id=message_id,
                original_headers=_invitation_body(number),
            ).replace(b"Content-Type: text/rfc822-headers", b"Content-Type: message/rfc822")
        return data
    if kind == "bounce naming its recipient":
        return dsn(BOUNCES, reader, message_id=message_id)
    if kind == "bounce in Exim's own form":
        return exim_bounce(BOUNCES, reader, message_id=message_id)
    if kind == "complaint":
        return arf(original_mail_from=verp_address(BOUNCES, reader, SECRET), message_id=message_id)
    if kind == "unsubscription":
        return mail(reader, LEAVE, f"unsubscribe {unsubscribe_token(reader, SECRET)}", message_id=message_id)
    if kind == "automatic reply":
        return auto_reply(reader, subject=f"Out of office: CAR T Cell Therapy ({number})")
    if kind == "RSVP answer":
        return rsvp(reader, "2026-03-06-car-t-cell-therapy@example.org")
    body = f"Dear organisers,\n\ncould the talk {number} be recorded?\n\nBest regards\n" * 20
    return mail(reader, SENDER, f"A question about talk {number}", body, message_id=message_id)


@contextmanager
def workspace(messages: int) -> Iterator[Path]:
    """The example workspace after a send to `messages` readers (the delivery ledger and the
    tokens), `[list] bounce_address` set, and `template/`: a Maildir of `messages` mixed ones."""
    with tempfile.TemporaryDirectory(prefix="announcer-inbox-bench-") as folder:
        root = Path(folder)
        settings = root / "announcer.toml"
        text = (ROOT / "announcer.toml").read_text(encoding="utf-8")
        text = text.replace('"https://lists.example.org/onkpat-seminars/unsubscribe"', f'"{UNSUBSCRIBE_URL}"')
        settings.write_text(text.replace("[list]\n", f'[list]\nbounce_address = "{BOUNCES}"\n', 1))
        readers = [f"reader{number}@example.org" for number in range(messages)]
        sent_to(root, readers)
        kinds = [kind for kind, share in MIX.items() for _ in range(round(share * messages))]
        random.Random(25).shuffle(kinds)
        deliver(root / "template", *(_message(kind, n, readers[n]) for n, kind in enumerate(kinds)))
        yield root


def _fresh(root: Path) -> Path:
    """A copy of the Maildir and of the journal as they were before any run."""
    for name in ("Maildir", ".announcer"):
        shutil.rmtree(root / name, ignore_errors=True)
    shutil.copytree(root / "template", root / "Maildir")
    shutil.copytree(root / "journal", root / ".announcer")
    return root / "Maildir"


def _announcer(root: Path) -> tuple[float, float, Counter[Kind]]:
    """Messages/s of a first run (all new, moved when handled) and of a second (all handled
    before); and what the first found of each kind."""
    maildir = _fresh(root)
    count = len(list((maildir / "new").iterdir()))
    settings = load_settings(root / "announcer.toml")
    started = time.perf_counter()
    summary = read_inbox(settings, str(maildir), "Handled", lambda handled: None)
    first = time.perf_counter() - started
    started = time.perf_counter()
    again = read_inbox(settings, str(maildir), "Handled", lambda handled: None)
    second = time.perf_counter() - started
    handled = sum(summary.counts.values())
    left = sum(count for kind, count in summary.counts.items() if not kind.handled)
    assert (handled, again.before) == (count, left), f"handled {handled} of {count}, then {again.before}"
    return count / first, again.before / second, summary.counts


def _stdlib(root: Path, kind: Policy) -> float:
    """Messages/s of the stdlib parsing each file whole, its Message-ID read, its parts walked."""
    parser = BytesParser(policy=kind)
    files = sorted((root / "template" / "new").iterdir())
    started = time.perf_counter()
    for file in files:
        message = parser.parsebytes(file.read_bytes())
        message.get("Message-ID")
        for part in message.walk():
            part.get_content_type()
    return len(files) / (time.perf_counter() - started)


def _whole_process(root: Path) -> float:
    """Seconds of `announcer inbox --mailbox Maildir --move-to Handled` from the shell."""
    _fresh(root)
    announcer = str(Path(sys.executable).with_name("announcer"))
    environment = {**os.environ, "ANNOUNCER_UNSUBSCRIBE_SECRET": SECRET}
    started = time.perf_counter()
    done = subprocess.run(
        [announcer, "inbox", "--mailbox", "Maildir", "--move-to", "Handled"],
        cwd=root,
        env=environment,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    assert done.returncode in (0, 4), done.stderr
    return seconds


def report(messages: int = 3000, rounds: int = 3) -> None:
    """Measure and print: announcer's rates beside the stdlib's, and the ratio."""
    os.environ["ANNOUNCER_UNSUBSCRIBE_SECRET"] = SECRET
    with workspace(messages) as root:
        shutil.copytree(root / ".announcer", root / "journal")
        size = sum(path.stat().st_size for path in (root / "template" / "new").iterdir())
        first = second = modern = compat = 0.0
        for _ in range(rounds):
            modern = max(modern, _stdlib(root, policy.default))
            compat = max(compat, _stdlib(root, policy.compat32))
            rate, again, counts = _announcer(root)
            first, second = max(first, rate), max(second, again)
        whole = _whole_process(root)
    handled = sum(counts.values())
    print(f"  {handled:,} messages, {size / 1e6:.1f} MB in a Maildir, best of {rounds} rounds; found:")
    print("  " + ", ".join(f"{count:,} {kind.value}" for kind, count in counts.most_common()))
    _line("stdlib, policy.default: parse each, walk its parts", modern, "(baseline)")
    _line("stdlib, compat32: the same", compat)
    _line(
        "announcer inbox, all new (sorted, recorded, moved)",
        first,
        f"{first / modern:.2f}x the first baseline, {first / compat:.2f}x the second (target {TARGET}/s)",
    )
    _line(
        "announcer inbox again, over what it left, seen before",
        second,
        f"{second / modern:.2f}x, {second / compat:.2f}x",
    )
    print(f"  {'the whole process from the shell, all new':<54}{whole:>8.2f} s  ({handled / whole:,.0f}/s)")


def _line(label: str, rate: float, note: str = "") -> None:
    print(f"  {label:<54}{rate:>8,.0f}/s  {note}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    print(f"announcer inbox benchmark, {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    report(options.messages, options.rounds)


if __name__ == "__main__":
    main()
