"""When bounces add up to leaving an address out: a score, in the manner of Mailman's.

A permanent failure (a 5.x.x status) counts 1; one that says the mailbox or domain does not
exist (5.1.1, 5.1.2, 5.1.10) counts 2, since no later send can reach it; a temporary failure
(4.x.x, a full mailbox) counts 0.25. At most one bounce a day counts, as one send's several
messages bounce together. The score halves every 30 days without a bounce, so an address that
bounced once in the spring and works since is not left out in the autumn. At 2 an address is
left out ("bouncing") until restored by hand.
"""

from __future__ import annotations

from datetime import datetime, timedelta

THRESHOLD = 2.0
HALF_LIFE = timedelta(days=30)
ONE_A_DAY = timedelta(days=1)
_GONE = frozenset({"5.1.1", "5.1.2", "5.1.10"})  # RFC 3463: bad mailbox, bad system, no null MX


def weight(status: str) -> float:
    """What one bounce of this RFC 3463 status (`5.1.1`, `4.2.2`; "" if unknown: permanent) counts."""
    if status in _GONE:
        return 2.0
    return 0.25 if status.startswith("4.") else 1.0


def decayed(score: float, since: datetime, now: datetime) -> float:
    """The score `since` the last bounce counted, as it stands `now`."""
    elapsed = max(now - since, timedelta(0))
    halvings = elapsed.total_seconds() / HALF_LIFE.total_seconds()
    return float(score * 0.5**halvings)


def scored(score: float, since: datetime | None, status: str, now: datetime) -> tuple[float, bool]:
    """The score after a bounce of `status` at `now`, and whether the bounce counted (one a day)."""
    if since is not None and now - since < ONE_A_DAY:
        return score, False
    base = decayed(score, since, now) if since is not None else 0.0
    return base + weight(status), True
