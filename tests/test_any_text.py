"""Any text in any field: a located refusal with nothing written, or messages with clean headers.

Hypothesis writes event files and recipient lists whose one-line fields hold arbitrary text
(encoded words, control, bidi and combining characters, very long and empty values). Every run
must end in one of two ways, never a traceback. More examples run in CI (`CI=true`).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from email import message_from_bytes, policy
from pathlib import Path

import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import event as count_as
from hypothesis import strategies as st

from announcer.compose.headers import HEADERS_WRITTEN
from announcer.errors import InputError
from announcer.jobs import SendOptions, send_invitation
from announcer.load.settings import load_settings
from tests.helpers import ROOT

EXAMPLES = 2000 if os.environ.get("CI") else 150

NASTY = st.sampled_from(
    [
        "=?utf-8?q?Eve=0D=0AReply-To:_attacker@evil.example?=",
        "=?UTF-8?B?RXZlDQpCY2M6IHZAZXhhbXBsZS5vcmc=?=",
        "Eve\r\nBcc: victim@example.org",
        "Eve\nSubject: other",
        "\u202eevil\u202c",
        "a\u200bb",
        "x\u0085y",
        "\x00",
        "e\u0301\u0301\u0301",
        "",
        " ",
        "\t",
        "W" * 600,
        "Ingrid Søndergaard, Tomás Ruiz-Álvarez – Experience",
        "[[announcer-00000000000000000000000000000000:name::]]",
        "<script>alert(1)</script>",
        "🧬 Zellen & Gewebe",
    ]
)
PLAIN = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cc", "Cf", "Zl", "Zp")), min_size=1
)
# Text that any field must take: a refusal of it is a regression, not a safe outcome.
BENIGN = st.from_regex(r"[A-Za-zÅÄÖåäöéüß0-9][A-Za-zÅÄÖåäöéüß0-9 .,:;!?&()'/–-]{0,120}", fullmatch=True).map(
    str.strip
)
TEXT = st.one_of(*[PLAIN] * 6, *[BENIGN] * 2, NASTY, st.text(max_size=80))


BENIGN_FULLMATCH = re.compile(r"[A-Za-zÅÄÖåäöéüß0-9][A-Za-zÅÄÖåäöéüß0-9 .,:;!?&()'/–-]{0,120}")


def _event(title: str, speaker: str, venue: str, series: str) -> str:
    data = {
        "series": series,
        "title": title,
        "start": "2026-04-10 15:00",
        "timezone": "Europe/Stockholm",
        "venue": {"name": venue},
        "speakers": [{"name": speaker}],
        "abstract": "A paragraph.",
    }
    return yaml.safe_dump(data, allow_unicode=True)


def _csv_field(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(fields=st.one_of(st.tuples(*[TEXT] * 6), st.tuples(*[BENIGN] * 6)))
def test_any_text_is_refused_with_its_place_or_sent_with_clean_headers(fields: tuple[str, ...]) -> None:
    title, speaker, venue, series, name, team = fields
    with tempfile.TemporaryDirectory() as folder:
        workspace = Path(folder)
        shutil.copy(ROOT / "announcer.toml", workspace)
        event = workspace / "event.yaml"
        try:
            event.write_text(_event(title, speaker, venue, series), encoding="utf-8")
        except UnicodeEncodeError:  # lone surrogates cannot be saved as UTF-8 by anyone
            return
        recipients = workspace / "list.csv"
        rows = f"email,name,team\na@example.org,{_csv_field(name)},{_csv_field(team)}\nb@example.org,B,\n"
        try:
            recipients.write_text(rows, encoding="utf-8")
        except UnicodeEncodeError:
            return
        settings_ = load_settings(workspace / "announcer.toml")
        outbox = workspace / "outbox"
        try:
            send_invitation(event, str(recipients), settings_, SendOptions(outbox=outbox))
        except InputError as exc:
            count_as("refused")
            assert not all(BENIGN_FULLMATCH.fullmatch(field) for field in fields), exc.problems  # noqa: PT017
            assert exc.problems, "a refusal names its problems"  # noqa: PT017
            for problem in exc.problems:
                assert problem.source.endswith(("event.yaml", "list.csv")), problem
            assert not outbox.exists() or not any(outbox.rglob("*.eml")), "nothing written"
            return
        count_as("sent" if not all(BENIGN_FULLMATCH.fullmatch(field) for field in fields) else "sent, benign")
        written = sorted(outbox.rglob("*.eml"))
        assert len(written) == 2
        for path in written:
            _assert_clean_headers(path.read_bytes())


def _assert_clean_headers(data: bytes) -> None:
    message = message_from_bytes(data, policy=policy.strict)
    stray = {name for name in message if name.lower() not in HEADERS_WRITTEN}
    assert stray == set(), stray
    for name, value in message.items():
        text = str(value)
        assert "\r" not in text, (name, text)
        assert "\n" not in text, (name, text)
    assert len(message.get_all("To") or []) == 1
    assert len(message.get_all("Reply-To") or []) <= 1
