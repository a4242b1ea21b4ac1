"""SpamAssassin and the kinds of message: LONGWORDS (+2.2) is the example abstract's own run of
long words, never what announcer adds (the calendar links were suspected): with that sentence
said otherwise every kind scores as the cancellation does, and the pre-flight quotes the words."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from announcer import preflight
from announcer.model.recipient import Recipient
from announcer.model.settings import Settings
from tests.helpers import CLI, EXAMPLE_EVENT, EXAMPLE_RECIPIENTS, composer
from tests.test_second_hour_words import _every_kind

pytestmark = pytest.mark.skipif(
    shutil.which("spamassassin") is None and os.environ.get("ANNOUNCER_REQUIRE_SPAMASSASSIN") != "1",
    reason="SpamAssassin is not installed (apt-get install spamassassin)",
)  # where ANNOUNCER_REQUIRE_SPAMASSASSIN=1 (CI), its absence fails the tests instead

THE_RUN = "therefore addresses multiple immunopathogenic pathways simultaneously"


def _scores(settings: Settings, language: str, kinds: set[str] | None = None) -> dict[str, str]:
    reader = Recipient("asa@example.org", "Åsa Lindqvist", language=language)
    return {
        kind: preflight.spam_score(composer(content, settings, "secret").compose(reader).data)[0].message
        for kind, content in _every_kind(settings, language).items()
        if kinds is None or kind in kinds
    }


def test_the_pre_flight_quotes_the_words_longwords_counts(cli: CLI) -> None:
    assert shutil.which("spamassassin"), "SpamAssassin is not installed (apt-get install spamassassin)"
    code, out, _ = cli("check", EXAMPLE_EVENT, "--to", EXAMPLE_RECIPIENTS, "--today", "2026-03-02")
    assert code == 0
    assert f"LONGWORDS counts “{THE_RUN}”, the event's own words" in out


def test_what_announcer_adds_to_any_kind_costs_no_points(settings: Settings) -> None:
    """The invitation, the update, the reinstatement and the digest carry the abstract; said
    otherwise, they score what the cancellation and the reminder (which do not) score."""
    assert shutil.which("spamassassin"), "SpamAssassin is not installed (apt-get install spamassassin)"
    event = Path(EXAMPLE_EVENT)
    written = event.read_text()
    assert "multiple immunopathogenic pathways simultaneously" in written
    event.write_text(
        written.replace(
            "multiple immunopathogenic pathways simultaneously", "several immunopathogenic pathways at once"
        )
    )
    scores = {("en", kind): said for kind, said in _scores(settings, "en").items()}
    for language in ("sv", "de"):
        for kind, said in _scores(settings, language, {"invitation", "digest"}).items():
            scores[language, kind] = said
    assert len(scores) == 11
    assert set(scores.values()) == {"SpamAssassin scores it 0 of 5"}, scores
