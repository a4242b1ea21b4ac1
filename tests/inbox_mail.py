"""Messages as real servers and mail programs send them to a list's mailbox: DSNs (Postfix's
RFC 3464 report, Exim's plain text), ARF complaints, automatic replies, mailed unsubscriptions,
RSVP answers; and a Maildir to deliver them into, as a delivering server does."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest

from announcer.audience.ledger import Audience
from announcer.audience.tokens import unsubscribe_token, verp_token
from announcer.deliver.ledger import Ledger, Outcome

LIST = "onkpat-seminars.example.org"
SECRET = "s3cret-of-the-workspace"
BOUNCES = "bounces@lists.example.org"
LEAVE = "onkpat-seminars-leave@example.org"
SENDER = "onkpat-seminars@example.org"
UNSUBSCRIBE_URL = "https://lists.example.org/onkpat-seminars/unsubscribe/{token}"
SERVER = "mx.lists.example.org"  # the receiving server, as its Authentication-Results name it
READERS = ["asa.lindqvist@example.org", "jurgen.mueller@example.org", "zoe.martin@example.net"]
_numbers = itertools.count(1)


def after_a_send(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The example workspace after a real send to READERS: the delivery ledger and the tokens,
    the unsubscribe URL with its token, `[inbox]` trusting SERVER."""
    monkeypatch.setenv("ANNOUNCER_UNSUBSCRIBE_SECRET", SECRET)
    settings = workspace / "announcer.toml"
    text = settings.read_text().replace(
        '"https://lists.example.org/onkpat-seminars/unsubscribe"', f'"{UNSUBSCRIBE_URL}"'
    )
    settings.write_text(text + f'\n[inbox]\nauthserv_id = "{SERVER}"\n')
    return sent_to(workspace, READERS)


def sent_to(workspace: Path, readers: list[str]) -> Path:
    """The workspace's state after a real send to `readers`: each one's delivery (under
    `our_message_id`) and the tokens their message carried, as a send records them."""
    with Ledger(workspace) as ledger:
        for reader in readers:
            ledger.record("invitation:uid-1:0", reader, our_message_id(reader), Outcome.DELIVERED, "250 ok")
    with Audience(workspace, LIST) as audience:
        audience.learn(
            (token, reader)
            for reader in readers
            for token in (unsubscribe_token(reader, SECRET), verp_token(reader, SECRET))
        )
    return workspace


def our_message_id(reader: str) -> str:
    """The Message-ID `after_a_send` journals for its message to `reader`."""
    return f"<{reader}>"


def _id(message_id: str | None) -> str:
    return message_id or f"<m{next(_numbers)}.{os.getpid()}@mx.example.net>"


def crlf(text: str) -> bytes:
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")


def dsn(
    to: str,
    recipient: str,
    *,
    action: str = "failed",
    status: str = "5.1.1",
    diagnostic: str | None = None,
    message_id: str | None = None,
    original_headers: str = "",
    quoted: str | None = None,
) -> bytes:
    """A DSN as Postfix writes it (RFC 3464), delivered to `to` (the envelope sender it answers),
    returning the headers of the message it is about: ours to `recipient` (its Message-ID as
    `after_a_send` journals it) unless `quoted` names another."""
    quoted = quoted if quoted is not None else our_message_id(recipient)
    if diagnostic is None:
        diagnostic = f"smtp; 550 5.1.1 <{recipient}>: Recipient address rejected: User unknown"
    return crlf(f"""Return-Path: <>
Delivered-To: {to}
Date: Mon,  2 Mar 2026 09:45:01 +0100 (CET)
From: MAILER-DAEMON@mx.example.net (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: {to}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="8A2F41C0.1772441101/mx.example.net"
Message-Id: {_id(message_id)}

This is a MIME-encapsulated message.

--8A2F41C0.1772441101/mx.example.net
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.example.net.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

--8A2F41C0.1772441101/mx.example.net
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net
X-Postfix-Queue-ID: 8A2F41C0
Arrival-Date: Mon,  2 Mar 2026 09:45:00 +0100 (CET)

Final-Recipient: rfc822; {recipient}
Original-Recipient: rfc822;{recipient}
Action: {action}
Status: {status}
Diagnostic-Code: {diagnostic}

--8A2F41C0.1772441101/mx.example.net
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

From: OnkPat Friday Seminar <{SENDER}>
To: {recipient}
Subject: CAR T Cell Therapy
Message-ID: {quoted}
{original_headers}
--8A2F41C0.1772441101/mx.example.net--
""")


def exim_bounce(to: str, recipient: str, *, message_id: str | None = None) -> bytes:
    """A bounce in Exim's own plain-text form (no RFC 3464 report), with our message's headers."""
    return crlf(f"""Return-path: <>
Envelope-to: {to}
From: Mail Delivery System <Mailer-Daemon@mail.example.com>
To: {to}
Subject: Mail delivery failed: returning message to sender
Message-Id: {_id(message_id)}
Auto-Submitted: auto-replied

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  {recipient}
    SMTP error from remote mail server after RCPT TO:<{recipient}>:
    550 5.1.1 User unknown

------ This is a copy of the message, including all the headers. ------

From: {SENDER}
To: {recipient}
Subject: CAR T Cell Therapy
Message-ID: {our_message_id(recipient)}
""")


def qmail_bounce(
    to: str, recipient: str, *, headers: str = "From: MAILER-DAEMON@mail.example.net\n"
) -> bytes:
    """A bounce in qmail's own plain-text form (no RFC 3464 report)."""
    return crlf(f"""{headers}To: {to}
Subject: failure notice
Message-ID: {_id(None)}

Hi. This is the qmail-send program at mail.example.net.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<{recipient}>:
192.0.2.7 does not like recipient.
Remote host said: 550 5.1.1 No such user
Giving up on 192.0.2.7.

--- Below this line is a copy of the message.

From: {SENDER}
To: {recipient}
Subject: CAR T Cell Therapy
Message-ID: {our_message_id(recipient)}
""")


def arf(
    *,
    original_to: str = "",
    list_unsubscribe: str = "",
    original_mail_from: str = "",
    feedback_type: str = "abuse",
    message_id: str | None = None,
) -> bytes:
    """An RFC 5965 feedback report as a provider's loop sends it."""
    mail_from = f"Original-Mail-From: <{original_mail_from}>\n" if original_mail_from else ""
    unsubscribe = f"List-Unsubscribe: {list_unsubscribe}\n" if list_unsubscribe else ""
    to = f"To: {original_to}\n" if original_to else "To: redacted@example.net\n"
    return crlf(f"""From: Feedback Loop <fbl@provider.example.net>
To: {SENDER}
Subject: FW: CAR T Cell Therapy
Date: Mon, 2 Mar 2026 10:00:00 +0000
Message-ID: {_id(message_id)}
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="part1_13d.2e68ed54"

--part1_13d.2e68ed54
Content-Type: text/plain; charset="US-ASCII"
Content-Transfer-Encoding: 7bit

This is an email abuse report for an email message received from IP 192.0.2.1.

--part1_13d.2e68ed54
Content-Type: message/feedback-report

Feedback-Type: {feedback_type}
User-Agent: SomeGenerator/1.0
Version: 1
{mail_from}Arrival-Date: Mon, 2 Mar 2026 09:45:00 +0000
Source-IP: 192.0.2.1
Reported-Domain: example.org

--part1_13d.2e68ed54
Content-Type: message/rfc822
Content-Disposition: inline

From: OnkPat Friday Seminar <{SENDER}>
{to}Subject: CAR T Cell Therapy
Date: Mon, 2 Mar 2026 09:44:00 +0000
Message-ID: {our_message_id(original_to) if original_to else "<original@example.org>"}
List-Id: <{LIST}>
{unsubscribe}MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

The seminar.

--part1_13d.2e68ed54--
""")


def auto_reply(
    sender: str, *, header: str = "Auto-Submitted: auto-replied", subject: str = "Re: CAR T"
) -> bytes:
    return crlf(f"""From: {sender}
To: {SENDER}
Subject: {subject}
Message-ID: {_id(None)}
{header}

I am away until Monday.
""")


def mail(
    sender: str,
    to: str,
    subject: str,
    body: str = "",
    *,
    headers: str = "",
    message_id: str | None = None,
) -> bytes:
    return crlf(f"""{headers}From: {sender}
To: {to}
Subject: {subject}
Message-ID: {_id(message_id)}
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

{body}
""")


def rsvp(attendee: str, uid: str, answer: str = "ACCEPTED") -> bytes:
    calendar = (
        "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//Test//EN\nMETHOD:REPLY\nBEGIN:VEVENT\n"
        f"UID:{uid}\nDTSTAMP:20260301T100000Z\nSEQUENCE:0\n"
        f"ATTENDEE;PARTSTAT={answer};CN=Reader:mailto:{attendee}\n"
        f"ORGANIZER:mailto:{SENDER}\nEND:VEVENT\nEND:VCALENDAR\n"
    )
    return crlf(f"""From: {attendee}
To: {SENDER}
Subject: Accepted: CAR T Cell Therapy
Message-ID: {_id(None)}
MIME-Version: 1.0
Content-Type: text/calendar; method=REPLY; charset=utf-8

{calendar}""")


def deliver(maildir: Path, *messages: bytes) -> list[Path]:
    """Each message into the Maildir's new/, written in tmp/ first, as a delivering server does."""
    for part in ("tmp", "new", "cur"):
        (maildir / part).mkdir(parents=True, exist_ok=True)
    paths = []
    for data in messages:
        name = f"{next(_numbers)}.M{os.getpid()}.test"
        (maildir / "tmp" / name).write_bytes(data)
        os.rename(maildir / "tmp" / name, maildir / "new" / name)
        paths.append(maildir / "new" / name)
    return paths
