"""The inbox: what comes back to a list's mailboxes, read once per message (`announcer inbox`).

`opening` opens the mailbox a user names, which `sources` and `imap` read; `reading` reads a
stranger's message within bounds, `sorter` decides what each is (`dsn`, `arf`, `mailto`,
`autoreply`, and `load.replies` for an RSVP answer), `naming` finds the reader a message is
about, and `run` handles each message once, its change to the audience and the record of it in
one transaction.
"""
