"""The audience: who left the list, who bounces, who complained; every send consults it.

`ledger` keeps it (in the journal file, beside the deliveries), `tokens` names a reader in a URL
or a bounce address without showing their address, `bounces` decides when bounces add up to
leaving an address out.
"""
