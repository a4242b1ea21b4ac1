"""Recipient lists: validated in full first, then streamed, duplicates dropped with a warning."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest
from email_validator import validate_email
from hypothesis import example, given, settings
from hypothesis import strategies as st

from announcer.errors import RecipientsError
from announcer.load import recipients
from announcer.load.recipients import RecipientList, SingleAddress, open_recipients
from announcer.model.recipient import Recipient
from announcer.model.text import _plain_address
from tests.helpers import write


def test_reads_names_fields_and_tolerates_a_bom(tmp_path: Path) -> None:
    path = write(tmp_path / "r.csv", "\ufeffEmail , Name,Team\nasa@example.org, Åsa Lindqvist ,Immunology\n")
    assert list(RecipientList(path)) == [
        Recipient("asa@example.org", "Åsa Lindqvist", {"team": "Immunology"}),
    ]


def test_duplicates_are_dropped_case_insensitively_with_a_warning(tmp_path: Path) -> None:
    path = write(tmp_path / "r.csv", "email\nA@example.org\nb@example.org\na@EXAMPLE.org\n")
    checked = RecipientList(path).check()
    assert checked.count == 2
    assert [str(warning) for warning in checked.warnings] == [
        f"{path}:4: duplicate of line 2 (a@example.org): dropped",
    ]
    assert [r.email for r in RecipientList(path)] == ["A@example.org", "b@example.org"]


def test_idn_domain_becomes_ascii_and_smtputf8_mailbox_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "r.csv", "email\nzoe@bücher.example\n")
    assert [r.email for r in RecipientList(path)] == ["zoe@xn--bcher-kva.example"]
    write(path, "email\nzoë@example.org\n")
    with pytest.raises(RecipientsError, match=r"r\.csv:2: email: 'zoë@example.org' is not a valid"):
        RecipientList(path).check()


def test_blank_lines_are_skipped(tmp_path: Path) -> None:
    path = write(tmp_path / "r.csv", "email\n\na@example.org\n,\n")
    assert RecipientList(path).check().count == 1


def test_all_problems_are_reported_at_once(tmp_path: Path) -> None:
    path = write(tmp_path / "r.csv", "email\nbad\nalso bad\nok@example.org\n")
    with pytest.raises(RecipientsError) as caught:
        RecipientList(path).check()
    assert [problem.line for problem in caught.value.problems] == [2, 3]


def test_to_takes_a_single_address_or_a_file(tmp_path: Path) -> None:
    assert isinstance(open_recipients("seminars@lists.example.org"), SingleAddress)
    assert list(open_recipients("seminars@lists.example.org")) == [Recipient("seminars@lists.example.org")]
    path = write(tmp_path / "list.csv", "email\na@example.org\n")
    assert isinstance(open_recipients(str(path)), RecipientList)
    with pytest.raises(RecipientsError, match="--to: 'not an address@' is not a valid email address"):
        open_recipients("not an address@").check()


def test_a_long_list_is_streamed_not_held(tmp_path: Path) -> None:
    path = tmp_path / "many.csv"
    with path.open("w") as stream:
        stream.write("email,name\n")
        for number in range(50_000):
            stream.write(f"person{number}@example.org,Person {number}\n")
    recipients = iter(RecipientList(path))
    tracemalloc.start()
    first = next(recipients)
    peak_after_first = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert first.email == "person0@example.org"
    assert peak_after_first < 1_000_000, "reading the first recipient must not load the whole list"


_ADDRESS_LIKE = st.one_of(
    st.emails(),
    st.from_regex(r"[A-Za-z0-9.!#'+_-]{1,70}@[A-Za-z0-9.-]{1,70}\.[A-Za-z]{2,8}", fullmatch=True),
    st.text(st.sampled_from("aZ09.-_+@!#'\"ü "), max_size=40),
    st.builds(  # RFC 2142's role names, which email-validator writes in lower case
        "{}@{}".format,
        st.sampled_from(["WWW", "Postmaster", "ABUSE", "Info", "noc", "SUPPORT", "Anna.Berg"]),
        st.sampled_from(["0.aa", "Example.ORG", "example.org"]),
    ),
)


@settings(max_examples=3000, deadline=None)
@given(_ADDRESS_LIKE)
@example("WWW@0.aa")
def test_the_fast_path_for_everyday_addresses_agrees_with_email_validator(address: str) -> None:
    fast = _plain_address(address)
    if fast is None:
        return  # left to email-validator itself
    checked = validate_email(address, check_deliverability=False, allow_smtputf8=False)
    assert fast == (checked.ascii_email or checked.normalized)


def test_addresses_whose_hashes_collide_are_told_apart_exactly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recipients, "_hashed", lambda address: 42)  # every address "collides"
    path = write(tmp_path / "list.csv", "email\na@example.org\nb@example.org\nA@Example.org\nc@example.org\n")
    listed = RecipientList(path)
    checked = listed.check()
    assert checked.count == 3
    assert [(w.line, w.message) for w in checked.warnings] == [
        (4, "duplicate of line 2 (A@example.org): dropped")
    ]
    assert [r.email for r in listed] == ["a@example.org", "b@example.org", "c@example.org"]
