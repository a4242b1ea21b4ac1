"""The journal's delivery side under its former name, for `deliver.delivery`, which imports it so.

The journal is two stores now: the delivery ledger (`deliver.ledger`) and the calendar history
(`history`), in one file (`journal_file`). Import from those; this name goes once
`deliver.delivery` imports `deliver.ledger`.
"""

from announcer.deliver.ledger import Entry, Outcome
from announcer.deliver.ledger import Ledger as Journal

__all__ = ["Entry", "Journal", "Outcome"]
