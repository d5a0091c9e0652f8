"""`python -m reactivator` is the same as the `reactivator` command."""

from reactivator.cli import main

main()
