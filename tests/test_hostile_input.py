"""Input written to deceive or to break: refused with its place, never a traceback, never a header."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers import CLI, EXAMPLE_EVENT, EXAMPLE_RECIPIENTS, read_message, write

GOOD_EVENT = 'title: "A talk"\nstart: 2026-04-10 15:00\nspeakers: [{name: Ada Example}]\n'


def _send(cli: CLI, event: str = "events/bad.yaml", to: str = EXAMPLE_RECIPIENTS) -> tuple[int, str]:
    code, out, err = cli("send", event, "--to", to)
    return code, out + err


def _nothing_written() -> bool:
    return not Path("outbox").exists() or not any(Path("outbox").rglob("*.eml"))


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        pytest.param(
            "=?utf-8?q?Talk=0D=0AReply-To:_attacker@evil.example?=",
            "title: holds an encoded word (=?...?=): write the text itself",
            id="encoded-word-crlf",
        ),
        pytest.param(
            "=?UTF-8?B?VGFsaw0KQmNjOiB2aWN0aW1AZXhhbXBsZS5vcmc=?=",
            "title: holds an encoded word",
            id="encoded-word-base64",
        ),
        pytest.param(
            "Talk \u202egnp.exe",
            "title: holds an invisible or direction-changing character (U+202E)",
            id="rlo",
        ),
        pytest.param(
            "Pay\u200bPal", "title: holds an invisible or direction-changing character (U+200B)", id="zwsp"
        ),
        pytest.param(
            "Talk\u2066x\u2069",
            "title: holds an invisible or direction-changing character (U+2066)",
            id="isolate",
        ),
        pytest.param("Talk\u0085next", "title: must be one line: it holds a line break", id="nel"),
        pytest.param(
            "Talk\x1b[31m", "title: must be one line: it holds a control character (U+001B)", id="escape"
        ),
        pytest.param(
            "T" * 100_000, "title: is 100,000 characters long: one line holds at most 500", id="huge-title"
        ),
    ],
)
def test_deceptive_or_hostile_titles_are_refused_with_their_place(
    cli: CLI, title: str, expected: str
) -> None:
    write(Path("events/bad.yaml"), GOOD_EVENT.replace('"A talk"', repr(title).replace("'", '"')))
    code, output = _send(cli)
    assert code == 1, output
    assert f"error: events/bad.yaml:1: {expected}" in output
    assert "Traceback" not in output
    assert _nothing_written()


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("=?utf-8?q?Eve=0D=0AReply-To:_attacker@evil.example?=", "name: holds an encoded word"),
        ("Eve \u202eacilA", "name: holds an invisible or direction-changing character (U+202E)"),
        ("Eve\u0085Bcc: x@example.org", "name: must be one line: it holds a line break"),
    ],
)
def test_hostile_names_in_the_list_are_refused_with_their_line(cli: CLI, name: str, expected: str) -> None:
    write(Path("recipients/bad.csv"), f'email,name\nok@example.org,Ok\neve@example.org,"{name}"\n')
    code, output = _send(cli, EXAMPLE_EVENT, "recipients/bad.csv")
    assert code == 1, output
    assert f"error: recipients/bad.csv:3: {expected}" in output
    assert _nothing_written()


def test_a_stray_extra_column_with_an_encoded_word_is_refused_too(cli: CLI) -> None:
    write(Path("recipients/bad.csv"), "email,team\nok@example.org,=?utf-8?b?QQ0KQjo=?=\n")
    code, output = _send(cli, EXAMPLE_EVENT, "recipients/bad.csv")
    assert code == 1
    assert "error: recipients/bad.csv:2: team: holds an encoded word" in output


def test_an_alias_bomb_is_refused_quickly(cli: CLI) -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for name, previous in zip("bcdefghi", "abcdefgh", strict=True):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{previous}"] * 9) + "]")
    write(Path("events/bad.yaml"), GOOD_EVENT + "\n".join(lines) + "\n")
    code, output = _send(cli)
    assert code == 1, output
    assert "error: events/bad.yaml:" in output
    assert "holds more than 20,000 values (keys and aliases included): not an event" in output


def test_deep_nesting_is_refused(cli: CLI) -> None:
    write(Path("events/bad.yaml"), GOOD_EVENT + "links: " + "[" * 5000 + "]" * 5000 + "\n")
    code, output = _send(cli)
    assert code == 1, output
    assert "error: events/bad.yaml" in output
    assert "nested too deeply" in output or "deeper than 12 levels" in output
    assert "Traceback" not in output


def test_a_nul_byte_is_refused_with_its_line(cli: CLI) -> None:
    write(Path("events/bad.yaml"), GOOD_EVENT + "abstract: a\x00b\n")
    code, output = _send(cli)
    assert code == 1
    assert "error: events/bad.yaml:4: holds a NUL byte: it is not a text file" in output


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        ("9999-12-31 23:30", "start: 9999-12-31: give a year between 1900 and 2200"),
        ("0001-01-01 00:00", "start: 0001-01-01: give a year between 1900 and 2200"),
        ("2026-12-10", "start: 2026-12-10 has no time: give one, like 2026-12-10 12:00"),
        ('"2026-12-10"', "start: 2026-12-10 has no time"),
    ],
)
def test_impossible_or_incomplete_starts_are_refused(cli: CLI, start: str, expected: str) -> None:
    write(Path("events/bad.yaml"), GOOD_EVENT.replace("2026-04-10 15:00", start))
    code, output = _send(cli)
    assert code == 1, output
    assert f"error: events/bad.yaml:2: {expected}" in output


def test_a_huge_file_is_refused_before_it_is_read(cli: CLI) -> None:
    write(Path("events/bad.yaml"), GOOD_EVENT + "abstract: |\n" + "  word word word word\n" * 60_000)
    code, output = _send(cli)
    assert code == 1
    assert "error: events/bad.yaml: is larger than 1 MiB: not a file announcer reads" in output


def test_too_many_links_are_refused(cli: CLI) -> None:
    links = "".join(f"  - {{label: L{number}, url: https://example.org/{number}}}\n" for number in range(101))
    write(Path("events/bad.yaml"), GOOD_EVENT + "links:\n" + links)
    code, output = _send(cli)
    assert code == 1
    assert "error: events/bad.yaml:4: links: has 101 items: at most 100 fit" in output


def test_a_long_abstract_is_refused(cli: CLI) -> None:
    write(Path("events/bad.yaml"), GOOD_EVENT + "abstract: " + "x" * 60_000 + "\n")
    code, output = _send(cli)
    assert code == 1
    assert "abstract: is 60,000 characters long: at most 50,000 fit in an email" in output


def test_a_link_out_of_the_events_folder_is_refused_and_its_target_never_printed(
    cli: CLI, tmp_path: Path
) -> None:
    secret = write(tmp_path / "outside" / "shadow.yaml", "root: $6$secret-hash:19000:0:99999:7:::\n")
    os.symlink(secret, "events/zz-shadow.yaml")
    code, out, err = cli("digest", "events", "--to", EXAMPLE_RECIPIENTS, "--from", "2026-03-02")
    assert code == 4, out + err  # left out, named, never read; the digest of the rest goes out
    assert "skipped: events/zz-shadow.yaml: is a link to a file outside the folder" in err
    assert "secret-hash" not in out + err
    assert "root" not in out + err
    assert not any(b"secret-hash" in path.read_bytes() for path in Path("outbox").rglob("*.eml"))
    code, _, err = cli("check", "events")
    assert code == 1, "check refuses it as before"
    assert "error: events/zz-shadow.yaml: is a link to a file outside the folder" in err


def test_a_file_that_is_not_an_event_is_not_echoed(cli: CLI, tmp_path: Path) -> None:
    other = write(tmp_path / "passwords.yaml", "root: hunter2\nadmin: swordfish\n")
    code, output = _send(cli, str(other))
    assert code == 1
    assert "is not an event file: it has neither `title` nor `start`" in output
    assert "hunter2" not in output
    assert "admin" not in output


def test_an_image_in_markdown_never_loads_from_elsewhere(cli: CLI) -> None:
    write(Path("events/bad.yaml"), GOOD_EVENT + "abstract: See ![x](http://tracker.example/p.gif) here.\n")
    code, output = _send(cli, to="a@example.org")
    assert code == 0, output
    message = read_message(next(Path("outbox").rglob("*.eml")))
    html = str(message.get_body(("html",)).get_content())  # type: ignore[union-attr]
    assert "<img" not in html.replace('<img alt="', "").split("tracker.example")[0][-200:]
    assert 'src="http://tracker.example' not in html


def test_a_series_file_that_links_out_of_its_folder_is_refused_and_its_target_never_printed(
    cli: CLI, tmp_path: Path
) -> None:
    secret = write(tmp_path / "outside" / "shadow.yaml", "name: $6$secret-hash:19000:0:99999:7:::\n")
    os.symlink(secret, "series/shadow.yaml")
    write(Path("events/2026-04-03-talk.yaml"), "series: shadow\ntitle: A Talk\nstart: 2026-04-03 12:00\n")
    for command in (("check", "events"), ("send", "events/2026-04-03-talk.yaml", "--to", "a@example.org")):
        code, out, err = cli(*command)
        assert code == 1, out + err
        assert "series/shadow.yaml: is a link to a file outside the folder" in err
        assert "secret-hash" not in out + err
    assert _nothing_written()
