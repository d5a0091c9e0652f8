"""The `reactivator` command line."""

from reactivator.cli.main import main

__all__ = ["main"]
