"""`python -m announcer`: the same as the `announcer` command."""

from announcer.cli import main

main()
