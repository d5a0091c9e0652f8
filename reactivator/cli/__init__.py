"""The `reactivator` command line."""

import signal
import sys


def _quiet_interrupt(signum: int, frame: object) -> None:
    # Ctrl+C while the command line is still loading: stop without a traceback.
    sys.stderr.write("interrupted\n")
    raise SystemExit(130)


signal.signal(signal.SIGINT, _quiet_interrupt)

from reactivator.cli.main import main  # noqa: E402 (after the handler: this import is the slow part)

__all__ = ["main"]
