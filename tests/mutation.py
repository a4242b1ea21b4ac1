"""Mutation testing: does the suite notice when a decision in the code is quietly broken?

    .venv/bin/python -m tests.mutation [--jobs 2] [--only NAME ...] [--list]

Each mutant is a one-line change that a user would suffer from, found by reading each module
and asking "what would go wrong for someone if this line were wrong?": a guard removed, a
comparison loosened, an escape dropped, a bound lifted. For each, a copy of the checkout gets
the change and the tests that run the changed line run against it (`pytest -x`; the browser
tests and the kill-and-rerun tests are left out for time), then, if none failed, the rest of
their files (whose subprocesses coverage does not see); the mutant is *caught* when a test
fails. Which tests run a line is measured once, by running the suite under coverage with each
test as its own context; a line that only a subprocess runs (no in-process test does) gets the
whole suite. Prints each outcome and the share caught. A snippet that no longer occurs exactly
once is an error: the list must follow the code, never silently shrink.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = "src/announcer/"
PYTEST = ["-x", "-q", "-p", "no:cacheprovider", "--no-header", "-o", "addopts="]
NO_TEST_COLLECTED = 5  # all the tests named were left out: nothing failed
NO_SUCH_TEST = (4, b"not found:")  # a test named that does not exist (4 is also a conftest failing)
LEFT_OUT = ["--deselect", "tests/test_interruptions.py"]
TIMEOUT_SECONDS = 600
# pytest with at most 4 GiB of address space: a mutant that removes a bound fails, not the machine.
LIMITED_PYTEST = (
    "import resource, sys, pytest; "
    "resource.setrlimit(resource.RLIMIT_AS, (4 * 2**30, 4 * 2**30)); "
    "sys.exit(pytest.main(sys.argv[1:]))"
)
# Each test its own coverage context, so that a line maps to the tests that run it.
COVERAGE_SETTINGS = "[run]\ndynamic_context = test_function\nsource = src/announcer\n"


# The preview's tests of its answers run `announcer preview` in a process of its own, which
# coverage does not see: its mutants name them.
PREVIEW_IN_ITS_OWN_PROCESS = ("tests/test_preview.py",)


@dataclass(frozen=True)
class Mutant:
    name: str
    path: str  # below src/announcer/
    old: str
    new: str
    tests: tuple[str, ...] = ()  # test files to run besides those that run the line in-process


MUTANTS = [
    # Security
    Mutant(
        "autoescape off",
        "render/theme.py",
        'enabled_extensions=("mjml.j2", "html.j2")',
        "enabled_extensions=()",
    ),
    Mutant(
        "recipient values not escaped in HTML",
        "compose/personalise.py",
        "html.escape(text, quote=True) if as_html else text",
        "text",
    ),
    Mutant(
        "input can fill any placeholder",
        "render/slots.py",
        "        if match.group(1) != slot_key:",
        "        if False:",
    ),
    Mutant(
        "password may go in clear",
        "deliver/transports/smtp.py",
        'if config.username and config.security == "none" and not is_loopback(config.host):',
        "if False:",
    ),
    Mutant(
        "raw HTML in Markdown rendered",
        "prose.py",
        "_SAFE = _parser(html=False)",
        "_SAFE = _parser(html=True)",
    ),
    Mutant(
        "any link scheme allowed", "prose.py", "return bool(_LINK_SCHEMES.match(url.strip()))", "return True"
    ),
    Mutant(
        "preview answers any Host",
        "preview/web.py",
        'return parsed is not None and is_loopback(parsed["name"])',
        "return True",
        tests=PREVIEW_IN_ITS_OWN_PROCESS,
    ),
    Mutant(
        "control characters allowed in one-line fields",
        "model/text.py",
        r'_LINE_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")',
        r'_LINE_CONTROL = re.compile(r"[\x00-\x08]")',
    ),
    Mutant("encoded words allowed", "model/text.py", "if _ENCODED_WORD.search(value)", "if False"),
    Mutant(
        "bidi overrides allowed",
        "model/text.py",
        "    if found := _DECEPTIVE.search(value):",
        "    if False:",
    ),
    # List mail and personalisation
    Mutant(
        "one-click for http://",
        "compose/message.py",
        'if self.personaliser.unsubscribe_url(None).startswith("https://"):',
        "if self.personaliser.unsubscribe_url(None):",
    ),
    Mutant("token not normalised", "audience/tokens.py", "address.lower().encode()", "address.encode()"),
    Mutant("no Reply-To", "compose/message.py", "if sender.reply_to:", "if False:"),
    Mutant("leading dots left", "compose/message.py", 'if "\\n." in "\\n" + encoded:', "if False:"),
    Mutant("dot escaped at full width", "compose/message.py", "maxlinelen=73", "maxlinelen=75"),
    Mutant("token secret not required", "load/secrets.py", "    if not secret:", "    if False:"),
    # Exactly once
    Mutant(
        "delivered are sent again",
        "deliver/delivery.py",
        "        if entry.outcome is Outcome.DELIVERED:\n            self.summary.skipped += 1",
        "        if False:\n            self.summary.skipped += 1",
    ),
    Mutant(
        "in doubt re-sent unasked",
        "deliver/delivery.py",
        "if entry.outcome is Outcome.IN_FLIGHT and self.resend is not Resend.IN_DOUBT:",
        "if False:",
    ),
    Mutant(
        "a reader told 503 is unsubscribed all the same",
        "serve/batches.py",
        "        self._pending = [waiting for waiting in self._pending if not waiting[1].done()]\n",
        "",
    ),
    Mutant(
        "a batch applied twice after its COMMIT's reply was lost",
        "serve/batches.py",
        "return not made and not any(future.done() for _, future in batch)",
        "return not any(future.done() for _, future in batch)",
    ),
    Mutant(
        "serve's queue of waiting changes unbounded",
        "serve/batches.py",
        "if len(self._pending) >= self.waiting:",
        "if False:",
    ),
    Mutant(
        "a doubt is told by every cron run",
        "cli.py",
        "        report.mark_told()  # told now",
        "        pass  # told now",
    ),
    Mutant(
        "a new doubt of a reader told before is never told",
        "deliver/delivery.py",
        "if (entry.recipient, entry.at) in self._told:",
        "if entry.recipient in {address for address, _at in self._told}:",
    ),
    Mutant(
        "lost after DATA is not in doubt",
        "deliver/transports/smtp.py",
        'raise InDoubt(\n                f"{self.server}: connection lost after the message',
        'raise TemporaryFailure(\n                f"{self.server}: connection lost after the message',
    ),
    Mutant(
        "no back-off", "deliver/delivery.py", "self.pace.retry_delay * 2**attempt", "self.pace.retry_delay"
    ),
    Mutant(
        "a file named in the settings may hold anything",
        "model/text.py",
        "return single_line(value) if isinstance(value, str) else value",
        "return value",
    ),
    Mutant(
        "an unreadable ca_file is a traceback",
        "deliver/transports/smtp.py",
        "except (OSError, ssl.SSLError) as exc:  # missing, unreadable",
        "except ssl.SSLCertVerificationError as exc:  # missing, unreadable",
    ),
    Mutant("no dot-stuffing", "deliver/transports/smtp.py", 'data = data.replace(b"\\n.", b"\\n..")', "pass"),
    Mutant(
        "a test send is journaled",
        "pipeline.py",
        "return self.reaches_people and self.test_to is None",
        "return self.reaches_people",
    ),
    Mutant(
        "a run leaves a delivery unwritten while it waits",
        "deliver/delivery.py",
        "            self.journal.flush()\n        self.sleep(seconds)",
        "            pass\n        self.sleep(seconds)",
    ),
    Mutant(
        "a closed journal drops the line that waits",
        "deliver/ledger.py",
        "            self.flush()\n            if self.shared:",
        "            if self.shared:",
    ),
    Mutant(
        "a durable commit drops the lines that wait",
        "deliver/ledger.py",
        "            db.executemany(_UPSERT_DELIVERY, self._waiting)\n",
        "",
    ),
    Mutant("a lane's failures dropped", "deliver/delivery.py", "self.summary.failed += lane.failed", "pass"),
    Mutant(
        "Ctrl-C does not stop",
        "deliver/delivery.py",
        "return self._stop.requested or self.summary.gave_up is not None",
        "return self.summary.gave_up is not None",
    ),
    Mutant(
        "an aborted dry run publishes",
        "deliver/transports/dryrun.py",
        "    def abort(self) -> None:\n        shutil.rmtree(self.staging, ignore_errors=True)",
        "    def abort(self) -> None:\n        self.close()",
    ),
    Mutant("--rate N/h read per second", "deliver/delivery.py", '"h": 1 / 60,', '"h": 60.0,'),
    Mutant(
        "a cut-off reply after DATA is retried",
        "deliver/transports/smtp.py",
        "        if 400 <= code < 600:\n            raise self._refused(code, reply)\n"
        "        self.drop()  # a 1xx",
        "        if True:\n            raise self._refused(code, reply)\n        self.drop()  # a 1xx",
    ),
    Mutant(
        "in flight before MAIL FROM",
        "deliver/delivery.py",
        "reply = self.transport.send(message, partial(self._in_flight, recipient, message_id))",
        "self._in_flight(recipient, message_id)\n"
        "                reply = self.transport.send(message, lambda: None)",
    ),
    Mutant("no deadline per message", "deliver/transports/smtp.py", "if deadline <= now:", "if False:"),
    Mutant(
        "a machine that went down leaves no doubt",
        "deliver/ledger.py",
        '"LEFT JOIN deliveries USING (key, recipient) WHERE boot != :boot AND NOT "',
        '"LEFT JOIN deliveries USING (key, recipient) WHERE 0 AND NOT "',
    ),
    Mutant(
        "a run never releases its reservations",
        "deliver/ledger.py",
        'db.execute("DELETE FROM reservations WHERE key = ? AND boot = ?", (key, self._boot))',
        "pass",
    ),
    Mutant(
        "Ctrl-C drops the lines under the messages in hand",
        "deliver/delivery.py",
        "                if isinstance(error, _Stopped | JournalError):  # the messages in hand "
        "finish first\n                    lanes.join()\n",
        "",
    ),
    Mutant(
        "four connections share one",
        "deliver/transports/smtp.py",
        "self._lines = [_Line(config, self._watchdog) for _ in range(connections)]",
        "self._lines = [_Line(config, self._watchdog)] * connections",
    ),
    Mutant(
        "never give up on a failing server",
        "deliver/delivery.py",
        "if self._failures_in_a_row >= self.pace.give_up_after:",
        "if False:",
    ),
    Mutant(
        "an empty journal taken as new",
        "journal_file.py",
        "if self.path.exists() and self.path.stat().st_size == 0:",
        "if False:",
    ),
    Mutant(
        "a killed run's folders kept",
        "deliver/transports/dryrun.py",
        'if kind.endswith((".partial", ".retired")) and pid.isdigit() and not _running(int(pid)):',
        "if False:",
    ),
    Mutant(
        "preview connections unbounded",
        "serve/server.py",
        "        if len(others) >= cap:",
        "        if False:",
    ),
    # Calendar lifecycle
    Mutant(
        "SEQUENCE never rises",
        "lifecycle.py",
        "return last.sequence if last.fingerprint == fingerprint else last.sequence + 1",
        "return last.sequence",
    ),
    Mutant(
        "SEQUENCE not remembered",
        "pipeline.py",
        "        if self.calendar is None:\n            return\n        self.calendar.settle(",
        "        return\n        self.calendar.settle(",
    ),
    Mutant(
        "calendar SEQUENCE always 0",
        "render/calendar.py",
        'entry.add("SEQUENCE", sequence)',
        'entry.add("SEQUENCE", 0)',
    ),
    Mutant(
        "digest calendars at SEQUENCE 0",
        "render/digest.py",
        "calendar = renderer.event_calendar(event, edition, language,",
        "calendar = renderer.event_calendar(event, replace(edition, sequence=0), language,",
    ),
    # RSVP and replies
    Mutant(
        "RSVP not kept for later sends",
        "lifecycle.py",
        "rsvp = rsvp or (last is not None and last.rsvp)",
        "rsvp = rsvp",
    ),
    Mutant(
        "RSVP calendar without the reader as attendee",
        "compose/message.py",
        "self.whole = None if calendar.attendee else",
        "self.whole = None if False else",
    ),
    Mutant(
        "digest asks for replies",
        "render/digest.py",
        "    # A digest never asks for replies; a cancelled event's calendar is not attached.\n"
        "    method = method_of(Kind.DIGEST)",
        "    # A digest never asks for replies; a cancelled event's calendar is not attached.\n"
        "    method = method_of(edition.kind, rsvp=True)",
    ),
    Mutant(
        "forged replies counted",
        "model/reply.py",
        "genuine = not self.doubt and bool(self.sender) and self.sender == self.attendee",
        "genuine = True",
    ),
    Mutant(
        "the last reply in the mailbox wins",
        "replies.py",
        "if _recency(earlier) > _recency(item):",
        "if False:",
    ),
    Mutant(
        "spreadsheet formulas let through",
        "spreadsheet.py",
        """return f"'{text}" if text[:1] in _FORMULA_STARTS else text""",
        "return text",
    ),
    Mutant(
        "status --csv writes its rows unchecked",
        "spreadsheet.py",
        "writer.writerow([cell(value) for value in row])",
        "writer.writerow(list(row))",
    ),
    Mutant("host never organises", "lifecycle.py", "if event.host and event.host.email:", "if False:"),
    Mutant(
        "skipped times accepted",
        "model/event.py",
        "if aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != wall:",
        "if False:",
    ),
    Mutant(
        "repeated times accepted",
        "model/event.py",
        "    if happens_twice(wall, zone):\n        first",
        "    if False:\n        first",
    ),
    Mutant(
        "repeated hour written by its zone",
        "render/calendar.py",
        "zone = None if repeated or",
        "zone = None if",
    ),
    Mutant(
        "end may equal start",
        "model/event.py",
        "self.ends_at.astimezone(UTC) <= self.starts_at.astimezone(UTC)",
        "self.ends_at.astimezone(UTC) < self.starts_at.astimezone(UTC)",
    ),
    Mutant(
        "window end included",
        "model/window.py",
        "return self.starts <= event.wall_start < self.ends",
        "return self.starts <= event.wall_start <= self.ends",
    ),
    Mutant(
        "reader's time always shown",
        "render/wording.py",
        "    if reader.utcoffset() == event.starts_at.utcoffset():\n        return None\n",
        "",
    ),
    Mutant(
        "calendar links without the join link",
        "render/calendar_links.py",
        '[_("Join online: %(url)s") % {"url": venue.online_url}] if venue and venue.online_url else []',
        "[]",
    ),
    # Input
    Mutant(
        "workspace from the current folder",
        "load/settings.py",
        'data["workspace"] = path.resolve().parent',
        'data["workspace"] = Path.cwd()',
    ),
    Mutant("duplicate YAML keys accepted", "load/files.py", "if key in mapping:", "if False:"),
    Mutant(
        "duplicate addresses by case", "load/recipients.py", "key = item.email.lower()", "key = item.email"
    ),
    Mutant(
        "files read as Latin-1",
        "load/files.py",
        'return raw.decode("utf-8-sig")',
        'return raw.decode("latin-1")',
    ),
    Mutant(
        "alias bombs expanded",
        "load/files.py",
        "        if self.count > MAX_VALUES:",
        "        if False:",
    ),
    Mutant("links out of the events folder followed", "load/events.py", "    if outside:", "    if False:"),
    Mutant("images from Markdown", "prose.py", '.disable("image")', ""),
    Mutant(
        "a date without a time",
        "model/event.py",
        '        raise ValueError(f"{value:%Y-%m-%d} has no time: give one',
        "        return datetime.combine(value, datetime.min.time())\n"
        '        raise ValueError(f"{value:%Y-%m-%d} has no time: give one',
    ),
    # Look
    Mutant("contrast target lowered", "render/palette.py", "MIN_CONTRAST = 4.5", "MIN_CONTRAST = 3.0"),
    Mutant(
        "digest never trimmed", "render/digest.py", "if len(digest.html.encode()) <= HTML_BUDGET:", "if True:"
    ),
    Mutant("digest always trimmed", "render/digest.py", "if appended <= HTML_BUDGET:", "if False:"),
    # The pre-flight
    Mutant("pre-flight: no clip", "preflight.py", "if size > GMAIL_CLIP:", "if False:"),
    Mutant("pre-flight: alt text not asked", "preflight.py", 'if image.get("alt") is None:', "if False:"),
    Mutant(
        "pre-flight: deceptive links pass",
        "preflight.py",
        "if deceptive := _deceptive(href, text):",
        "if False:",
    ),
    Mutant(
        "pre-flight: unsubscribe not asked of list mail",
        "preflight.py",
        "        if not unsubscribe:",
        "        if False:",
    ),
    Mutant(
        "pre-flight: DKIM alignment not checked",
        "preflight.py",
        'if domain != signer and not domain.endswith("." + signer):',
        "if False:",
    ),
    Mutant(
        "pre-flight: contrast not checked",
        "preflight.py",
        "low = [(role, ratio) for role, ratio in pairs if ratio < MIN_CONTRAST]",
        "low = []",
    ),
    # Languages
    Mutant(
        "a reader's language column ignored",
        "pipeline.py",
        "language = reader_language(recipient, self._language)",
        "language = self._language",
    ),
    Mutant(
        "the workspace's language not passed to events",
        "model/event.py",
        'data.setdefault("language", defaults.language)',
        'data.setdefault("language", "en")',
    ),
    Mutant(
        "every language rendered with the first theme",
        "render/content.py",
        'theme = self.theme(context["language"])',
        "theme = self.theme(self.letterhead.default_language)",
    ),
    Mutant(
        "a fuzzy translation counted as done",
        "languages.py",
        "if message.id and message.string and not message.fuzzy and all(_strings(message.string))",
        "if message.id and message.string and all(_strings(message.string))",
    ),
    Mutant(
        "the update's earlier time worded in English for everyone",
        "render/changes.py",
        "was, is_now = _schedule(before, language), _schedule(value, language)",
        'was, is_now = _schedule(before, "en"), _schedule(value, language)',
    ),
    Mutant(
        "Content-Language left out",
        "compose/message.py",
        'lines.append(f"Content-Language: {self.content.language}\\r\\n".encode())',
        "pass",
    ),
    # Series, reminders, the site
    Mutant(
        "a series' nested values replaced, not merged",
        "load/series.py",
        "for key, value in {**inherited, **own}.items()",
        "for key, value in own.items()",
    ),
    Mutant(
        "a venue of another name keeps the series' building",
        "load/series.py",
        'return own.get("name") in (None, inherited.get("name"))',
        "return True",
    ),
    Mutant(
        "a day before counted on the wall clock",
        "lifecycle.py",
        "start, now = named.event.starts_at.astimezone(UTC), now.astimezone(UTC)",
        "start = named.event.starts_at",
    ),
    Mutant(
        "a late run sends the farthest reminder",
        "lifecycle.py",
        "return reached[0] if reached else None",
        "return reached[-1] if reached else None",
    ),
    Mutant(
        "a cancelled event reminded",
        "jobs.py",
        "editions = [item for item in editions if item[2].kind is not Kind.CANCELLATION]",
        "pass",
    ),
    Mutant(
        "a placeholder of announcer new let through",
        "load/events.py",
        "    if unwritten:\n        raise EventError(unwritten)",
        "    if unwritten:\n        pass",
    ),
    Mutant(
        "JSON-LD not kept inside its script",
        "render/site.py",
        r'return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")',
        "return text",
    ),
    Mutant(
        "a series' brand ignored",
        "model/series.py",
        'return settings.model_copy(update={"brand": settings.brand.model_copy(update=own)})',
        "return settings",
    ),
    Mutant(
        "a template reading the deprecated `settings` told at every read",
        "render/deprecated.py",
        "    if filename in _told:\n        return",
        "    if False:\n        return",
    ),
    # Hostile input, round two: what a user would suffer from each line of the new defences
    Mutant(
        "header text holding =? written as it is (a reader decodes a Bcc out of it)",
        "compose/headers.py",
        'return text.isascii() and text.isprintable() and "=?" not in text',
        "return text.isascii() and text.isprintable()",
    ),
    Mutant(
        "a control character carried into a header's encoded word",
        "compose/headers.py",
        'return "".join("\\ufffd" if unicodedata.category(c) in ("Cc", "Cs", "Zl", "Zp") else c '
        "for c in text)",
        "return text",
    ),
    Mutant(
        "encoded words past 75 characters in a long name",
        "compose/headers.py",
        "if len(chunk) + len(encoded) > 45:",
        "if len(chunk) + len(encoded) > 60:",
    ),
    Mutant(
        "a noncharacter let into the text (the Atom feed no reader parses)",
        "model/text.py",
        "    if found := _NONCHARACTER.search(value):",
        "    if found := None:",
    ),
    Mutant(
        "the pre-flight passes a header decoded out of the text",
        "preflight.py",
        "if name.lower() not in HEADERS_WRITTEN",
        "if False",
    ),
    Mutant(
        "the series description written raw into the feed (a traceback on two paragraphs)",
        "render/calendar.py",
        'feed.add("X-WR-CALDESC", vText(description))',
        'feed.add("X-WR-CALDESC", description)',
    ),
    Mutant(
        "a role name's case kept (WWW@ and www@ two people)",
        "model/text.py",
        'if match["local"].lower() in CASE_INSENSITIVE_MAILBOX_NAMES:',
        "if False:",
    ),
    Mutant(
        "a refused MAIL FROM still carries the message",
        "deliver/transports/smtp.py",
        "                if code in (354, 421, -1):\n                    self.drop()",
        '                if code == 354:\n                    connection.send(b".\\r\\n")',
    ),
    Mutant(
        "the password's base64 shown in a server's 535",
        "deliver/transports/smtp.py",
        "forms = (*blobs, *encoded)",
        "forms = blobs",
    ),
    Mutant(
        "a full disk's cause hidden behind a failed ROLLBACK",
        "journal_file.py",
        "        if self._postgres is None and self._sqlite.in_transaction:",
        "        if self._postgres is None:",
    ),
    Mutant(
        "a stopped run's unwritten journal lines dropped silently",
        "deliver/delivery.py",
        "        lost = lost or self._unwritten()",
        "        pass",
    ),
    Mutant(
        "the preview waits for ever for a slow request's head",
        "serve/server.py",
        "            self._deadline = self.loop.call_later(self.arrive_seconds, self._expired)",
        "            pass",
    ),
    Mutant(
        "reload streams unbounded in the preview",
        "preview/web.py",
        "while len(self._open) >= self.cap:",
        "while False:",
    ),
    Mutant(
        "the preview's Host checked by prefix (DNS rebinding)",
        "preview/web.py",
        "parsed = _HOST.fullmatch(",
        "parsed = _HOST.match(",
        tests=PREVIEW_IN_ITS_OWN_PROCESS,
    ),
    Mutant(
        "an answer stamped in 2099 beats every later one",
        "load/replies.py",
        "stamp=min(_claimed_stamp(event) or envelope.dated or envelope.arrived, envelope.arrived),",
        "stamp=_claimed_stamp(event) or envelope.dated or envelope.arrived,",
    ),
    Mutant(
        "one reply counts for every attendee it names",
        "load/replies.py",
        "own = [claim for claim in claims if sender and _canonical(str(claim)) == sender]",
        "own = claims[:1]",
    ),
    Mutant(
        "a stranger's escape codes printed to the terminal",
        "model/reply.py",
        "object.__setattr__(self, name, shown_safely(getattr(self, name), limit))",
        "pass",
    ),
    Mutant(
        "a reply with two From headers trusted",
        "load/replies.py",
        "    if len(values) > 1:",
        "    if False:",
    ),
    Mutant(
        "a pipe swapped in after the check read for ever",
        "load/files.py",
        "        _regular(os.fstat(descriptor).st_mode, source, error)",
        "        pass",
        tests=("tests/test_hostile_files.py",),
    ),
    Mutant(
        "YAML builds dates itself (day 30 of February a traceback)",
        "load/files.py",
        '_PLAIN_KINDS = ("null", "bool", "int", "float", "merge")',
        '_PLAIN_KINDS = ("null", "bool", "int", "float", "merge", "timestamp")',
    ),
    Mutant(
        "settings nested thousands deep reach tomllib",
        "load/settings.py",
        "            if depth > MAX_DEPTH:",
        "            if False:",
    ),
    Mutant(
        "keys escape the count of values (an alias bomb in a key)",
        "load/files.py",
        "            key = self.build(key_node, loc)  # counted: a key may be an alias too",
        "            key = key_node.value  # counted: a key may be an alias too",
    ),
    Mutant(
        "a theme override cannot reach the packaged template it extends",
        "render/theme.py",
        "    packaged = template.startswith(PACKAGED)",
        "    packaged = False",
    ),
    Mutant(
        "the rate past what a pace can keep accepted",
        "deliver/delivery.py",
        "    if not SLOWEST_RATE <= value <= FASTEST_RATE:  # nan and inf too",
        "    if False:",
    ),
    Mutant(
        "a place the file system refuses is a traceback",
        "cli.py",
        "    except OSError as exc:  # the file system said no",
        "    except ZeroDivisionError as exc:  # the file system said no",
    ),
    Mutant(
        "an address journaled as written, looked up in lower case (sent again on every rerun)",
        "deliver/ledger.py",
        "            reader.email.lower(),\n            message_id,",
        "            reader.email,\n            message_id,",
    ),
    Mutant(
        "a batch's reservation left in the disk's cache (a power cut sends it twice)",
        "journal_file.py",
        '            self._sqlite.execute("PRAGMA synchronous=FULL")',
        "            pass",
    ),
    Mutant(
        "failures counted in a row never start again (scattered ones stop a healthy run)",
        "deliver/delivery.py",
        "                    self._failures_in_a_row = 0",
        "                    pass",
    ),
    Mutant(
        "the lanes go on after a fatal error (queued messages still go out)",
        "deliver/lanes.py",
        "            if self._error is not None:\n                continue  # a lane failed",
        "            if False:\n                continue  # a lane failed",
    ),
    Mutant(
        "a reminder keyed by SEQUENCE (sent again after every update)",
        "kinds.py",
        '            journal="reminder-{lead}",\n            per_sequence=False,',
        '            journal="reminder-{lead}",\n            per_sequence=True,',
    ),
    Mutant(
        "a cancellation counted as having the event (a second cancel tells them again)",
        "kinds.py",
        '            method="CANCEL",\n            has_event=False,',
        '            method="CANCEL",\n            has_event=True,',
    ),
    # An event's state (issue 27)
    Mutant(
        "one draft in the folder stops remind, digest and site",
        "load/events.py",
        "            skipped.extend(exc.problems)\n            continue",
        "            raise",
    ),
    Mutant(
        "a file left out of the folder's work exits 0 (cron never hears of it)",
        "cli.py",
        '(announcer check names each problem)"\n        )\n        raise typer.Exit(EXIT_LEFT_OUT)',
        '(announcer check names each problem)"\n        )\n        return',
    ),
    Mutant(
        "a cancelled event sent again without the organiser's word",
        "jobs.py",
        "    if stands is not None and not reinstate:",
        "    if False:",
    ),
    Mutant(
        "a re-run of a reinstatement sent again to everyone as an update",
        "lifecycle.py",
        "(rerun and last.kind == Kind.REINSTATEMENT.value)",
        "False",
    ),
    Mutant(
        "a reinstatement's subject without its headline",
        "kinds.py",
        '            headline=_("Back on:"),\n',
        "",
    ),
    Mutant(
        "an event that is over sent for real without --past",
        "jobs.py",
        "    if past:\n",
        "    if True:\n",
    ),
    # After the talk: the materials
    Mutant(
        "materials to the whole list after an RSVP invitation",
        "jobs.py",
        "    if yes is None and to is None and asked:",
        "    if False:",
    ),
    Mutant(
        "materials to whoever a reply names, invited or not",
        "jobs.py",
        "if reader.email.lower() in yes]",
        "]",
    ),
    Mutant(
        "materials sent again on every run",
        "jobs.py",
        "lead=materials_fingerprint(named.event))",
        "lead=materials_fingerprint(named.event) + clock.unique_token())",
    ),
    Mutant(
        "a recording added after the slides never sent",
        "lifecycle.py",
        '    addresses = "\\n".join(sorted(str(material.url) for material in event.materials))',
        '    addresses = ""',
    ),
    Mutant(
        "the slides mailed while the talk is still on",
        "jobs.py",
        '            raise EventError([Problem(where, message + ": nothing was sent")])',
        "            pass",
    ),
    Mutant(
        "a material over plain http",
        "model/text.py",
        'if urlsplit(value).scheme != "https":',
        "if False:",
    ),
    # The audience: whom sends leave out
    Mutant(
        "an unsubscribed reader mailed again",
        "pipeline.py",
        "return standing is not None and not (to_unsubscribed and standing.state is State.UNSUBSCRIBED)",
        "return False",
    ),
    Mutant(
        "a cancellation sent to an address that bounces or complained",
        "pipeline.py",
        "not (to_unsubscribed and standing.state is State.UNSUBSCRIBED)",
        "not to_unsubscribed",
    ),
    Mutant(
        "a dry run shows readers the real send will leave out",
        "pipeline.py",
        "        left = left_out(settings.workspace, list_id)",
        "        left = {}",
    ),
    Mutant(
        "the tokens a send writes are never remembered (the page cannot name the reader)",
        "pipeline.py",
        "if self.audience is None or not self.secret:",
        "if True:",
    ),
    Mutant(
        "a link in an old message brings back an address that bounces",
        "audience/ledger.py",
        "(by_reader and current.state not in _READER_MAY_UNDO)",
        "False",
    ),
    Mutant(
        "an unsubscription overwrites a complaint",
        "audience/ledger.py",
        "unless={State.COMPLAINED}",
        "unless=set()",
    ),
    Mutant(
        "one send's bounces counted many times",
        "audience/bounces.py",
        "if since is not None and now - since < ONE_A_DAY:",
        "if False:",
    ),
    Mutant(
        "a mailbox that does not exist mailed for weeks",
        "audience/bounces.py",
        "    if status in _GONE:",
        "    if False:",
    ),
    Mutant(
        "Asa@ and asa@ two readers of the ledger",
        "audience/ledger.py",
        "    key = address.strip().lower()",
        "    key = address.strip()",
    ),
    Mutant(
        "a screen reader announces every layout table's rows and cells",
        "accessibility.py",
        "            self.unmarked_tables += 1",
        "            pass",
    ),
    Mutant(
        "'Läs mer' passes as a link that says where it goes",
        "accessibility.py",
        """        elif link.said.lower().strip(".:!…") in VAGUE_LINK_TEXTS:""",
        "        elif False:",
    ),
    Mutant(
        "a message that says it is English is read out in Swedish",
        "accessibility.py",
        '    if (root.get("lang") or "").strip().lower() != language.lower():',
        '    if not root.get("lang"):',
    ),
    Mutant(
        "the email's label read out as \\u{2009}",
        "render/theme.py",
        "    html = _label_as_titled(html.replace(",
        "    html = (html.replace(",
    ),
    Mutant(
        "a page's text direction left to the browser's guess",
        "render/theme.py",
        '    env.globals["direction"] = text_direction(language)',
        '    env.globals["direction"] = "auto"',
    ),
    Mutant(
        "a List-Unsubscribe added on the way rides on the DKIM signature",
        "deliver/signing.py",
        "SIGNED_HEADERS = (*_ONCE, *_OVERSIGNED, *_OVERSIGNED)",
        "SIGNED_HEADERS = (*_ONCE, *_OVERSIGNED)",
    ),
    Mutant(
        "a mailed unsubscription names no reader",
        "compose/message.py",
        "            token = unsubscribe_token(recipient.email, self._secret) if self._secret else None",
        "            token = None",
    ),
    Mutant(
        "a colon in a send's name splits its Feedback-ID into other fields",
        "compose/headers.py",
        '_NOT_IN_A_FEEDBACK_FIELD = re.compile(r"[^A-Za-z0-9._-]+")',
        '_NOT_IN_A_FEEDBACK_FIELD = re.compile(r"[^A-Za-z0-9._:-]+")',
    ),
]


def _snapshot(into: Path) -> None:
    """The files git tracks (and new ones it does not ignore), as they are in the working tree now."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    for name in listed:
        source = ROOT / name
        if source.is_file():
            target = into / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


def _check(mutant: Mutant, snapshot: Path) -> str:
    """What is wrong with a mutant of the list ("" if nothing): a snippet that is not in the code
    once, or a change that is no Python (it would be "caught" by every import, testing nothing)."""
    text = (snapshot / SRC / mutant.path).read_text()
    count = text.count(mutant.old)
    if count != 1:
        return f"{mutant.name}: its snippet occurs {count} times in {mutant.path}, not once: update the list"
    try:
        compile(text.replace(mutant.old, mutant.new), mutant.path, "exec")
    except SyntaxError as error:
        return f"{mutant.name}: the changed {mutant.path} is no Python ({error.msg}, line {error.lineno})"
    return ""


BASELINE = Mutant("none (the code as it is)", "__init__.py", "", "")
Covering = dict[str, dict[int, set[str]]]  # module below src/announcer/ → line → tests (pytest node IDs)


def _environment(copy: Path) -> dict[str, str]:
    return {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(copy / "src"),
        "HOME": str(copy),
        "ANNOUNCER_SKIP_BROWSER": "1",
    }


def _baseline(snapshot: Path) -> tuple[bool, float, str, Covering]:
    """The suite on the unchanged code, under coverage: whether it passed, its seconds, the end of
    what it printed, and which test files run each line."""
    with tempfile.TemporaryDirectory(prefix="announcer-baseline-") as folder:
        copy = Path(folder) / "checkout"
        shutil.copytree(snapshot, copy)
        (copy / ".mutation-coverage").write_text(COVERAGE_SETTINGS)
        command = [sys.executable, "-m", "coverage", "run", "--rcfile=.mutation-coverage", "-m", "pytest"]
        started = time.monotonic()
        result = subprocess.run(
            [*command, *PYTEST, *LEFT_OUT],
            cwd=copy,
            env=_environment(copy),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=TIMEOUT_SECONDS * 3,
            check=False,
        )
        seconds = time.monotonic() - started
        printed = "\n".join((result.stdout + result.stderr).decode(errors="replace").splitlines()[-30:])
        return result.returncode == 0, seconds, printed, _covering(copy)


def _covering(copy: Path) -> Covering:
    """Which tests ran each line of each module (from the coverage data of the baseline)."""
    import coverage  # only this tool needs it

    data = coverage.CoverageData(str(copy / ".coverage"))
    data.read()
    covering: Covering = {}
    root = str(copy / SRC) + "/"  # measured paths are absolute; the list names them below src/announcer/
    for measured in data.measured_files():
        if not measured.startswith(root):
            continue
        lines = covering.setdefault(measured[len(root) :], {})
        for line, contexts in (data.contexts_by_lineno(measured) or {}).items():
            lines[line] = {node for context in contexts if (node := _node_of(context, copy))}
    return covering


def _node_of(context: str, copy: Path) -> str:
    """A test's coverage context (`tests.test_x.test_y`, or `tests.test_x.Class.test_y`) as the
    pytest node ID that runs it, every parametrisation included; "" for what is no test."""
    parts = context.split(".")
    for end in range(len(parts) - 1, 1, -1):
        module = "/".join(parts[:end]) + ".py"
        if parts[0] == "tests" and parts[end - 1].startswith("test_") and (copy / module).is_file():
            return "::".join([module, *parts[end:]])
    return ""


@dataclass(frozen=True)
class Plan:
    """What a mutant runs: the tests that run its lines, then (only if none fails) the rest of
    their files and the files it names, whose subprocesses coverage does not see; no tests at
    all: the whole suite."""

    first: tuple[str, ...]
    then: tuple[str, ...]

    @property
    def described(self) -> str:
        if not self.first:
            return "the whole suite"
        return f"{len(self.first)} tests, then {len(self.then)} test files"


def _plan(mutant: Mutant, snapshot: Path, covering: Covering) -> Plan:
    """The tests that run the lines the mutant changes, and their files."""
    text = (snapshot / SRC / mutant.path).read_text()
    first = text[: text.index(mutant.old)].count("\n") + 1
    lines = range(first, first + mutant.old.count("\n") + 1)
    nodes = set().union(*(covering.get(mutant.path, {}).get(line, set()) for line in lines))
    if not nodes:
        return Plan((), ())
    files = {node.split("::", 1)[0] for node in nodes} | set(mutant.tests)
    return Plan(tuple(sorted(nodes)), tuple(sorted(files)))


def _run(mutant: Mutant, snapshot: Path, plan: Plan) -> tuple[Mutant, bool, float, str]:
    """Run the plan's tests against one mutant in a copy of the snapshot: whether a test
    failed, the seconds it took, and the end of what pytest printed.

    A mutant that makes the suite run away (a removed bound) is stopped by a memory limit
    and a time limit; either counts as caught: the suite did not pass. The suite reads no
    terminal (stdin is empty), so a run in the background goes as one in the foreground does.
    """
    with tempfile.TemporaryDirectory(prefix="announcer-mutant-") as folder:
        copy = Path(folder) / "checkout"
        shutil.copytree(snapshot, copy)
        target = copy / SRC / mutant.path
        target.write_text(target.read_text().replace(mutant.old, mutant.new))
        started = time.monotonic()
        passes: list[tuple[str, ...]] = [plan.first, plan.then] if plan.first else [()]
        ran = False  # whether any pass ran a test (all of them left out or gone: the whole suite)
        while passes:
            tests = passes.pop(0)
            try:
                result = subprocess.run(
                    [sys.executable, "-c", LIMITED_PYTEST, *PYTEST, *LEFT_OUT, *tests],
                    cwd=copy,
                    env=_environment(copy),
                    stdin=subprocess.DEVNULL,
                    capture_output=True,
                    timeout=TIMEOUT_SECONDS,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                return mutant, True, time.monotonic() - started, f"stopped after {TIMEOUT_SECONDS} s"
            if failed := _failed(result):
                break
            ran = ran or result.returncode == 0
            if not passes and not ran and tests:
                passes.append(())
        printed = (result.stdout + result.stderr).decode(errors="replace").splitlines()
        return mutant, failed, time.monotonic() - started, "\n".join(printed[-30:])


def _failed(result: subprocess.CompletedProcess[bytes]) -> bool:
    """Whether a test failed (or the tests could not be loaded): not when none of them ran."""
    if result.returncode in (0, NO_TEST_COLLECTED):
        return False
    code, words = NO_SUCH_TEST
    return not (result.returncode == code and words in result.stdout + result.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=2, help="mutants run side by side")
    parser.add_argument("--only", nargs="*", help="names (or parts of names) of the mutants to run")
    parser.add_argument("--list", action="store_true", help="list the mutants and stop")
    arguments = parser.parse_args()
    chosen = [m for m in MUTANTS if not arguments.only or any(part in m.name for part in arguments.only)]
    if arguments.list:
        for mutant in chosen:
            print(f"{mutant.path:32} {mutant.name}")
        return 0
    with tempfile.TemporaryDirectory(prefix="announcer-snapshot-") as folder:
        snapshot = Path(folder)
        _snapshot(snapshot)  # later edits to the checkout do not leak into a running measurement
        problems = [problem for mutant in chosen if (problem := _check(mutant, snapshot))]
        if problems:
            print("\n".join(problems), file=sys.stderr)
            return 2
        passed, seconds, printed, covering = _baseline(snapshot)
        if not passed:
            print(
                f"{printed}\n\nthe suite fails on the unchanged code (above): fix that first", file=sys.stderr
            )
            return 2
        print(
            f"baseline: the suite passes on the unchanged code in {seconds:.0f} s (under coverage)",
            flush=True,
        )
        plans = {mutant: _plan(mutant, snapshot, covering) for mutant in chosen}
        caught = 0
        with ThreadPoolExecutor(max_workers=arguments.jobs) as pool:
            runs = pool.map(lambda mutant: _run(mutant, snapshot, plans[mutant]), chosen)
            for mutant, failed, seconds, _ in runs:
                caught += failed
                outcome = "caught  " if failed else "SURVIVED"
                ran = plans[mutant].described
                print(f"{outcome} {seconds:5.0f} s  {mutant.path}: {mutant.name} ({ran})", flush=True)
    print(f"mutation score: {caught} of {len(chosen)} caught ({caught / len(chosen):.0%})")
    return 0 if caught == len(chosen) else 1


if __name__ == "__main__":
    sys.exit(main())
