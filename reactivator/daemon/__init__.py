"""`reactivator daemon`: passes on a schedule, a send loop, the web endpoints, in one process.

The only package that imports APScheduler.

    lifecycle   start the parts, the signals, a shutdown that loses nothing
    schedule    the jobs' triggers (from [daemon]) and the guard they run under
    jobs        the pass, the daily segmentation and the heartbeat, each callable on its own
    templates   watching the templates folder and reloading it into new versions
    registry    this daemon's row in the daemons table (what `reactivator status` reads)
    web         the web socket, bound first, and uvicorn without its signal handling

Everything that blocks (database passes, rendering, recording) runs on worker
threads; the event loop only schedules, talks SMTP and serves HTTP, so the
web endpoints keep answering while a large batch goes out.
"""

from __future__ import annotations

import asyncio
import sys

from reactivator.config.links import links_problem
from reactivator.daemon.lifecycle import Daemon
from reactivator.errors import ConfigError
from reactivator.service.app import App

# How often a thread holding the interpreter lock is asked to let another run (Python's
# default is 5 ms). The web loop waits for the lock whenever the send loop computes; at 0.5 ms
# its requests wait far less (measured in bench/daemon.py), at a small cost in switches.
SWITCH_INTERVAL_SECONDS = 0.0005


def run(app: App) -> int:
    """Run the daemon until it is stopped; the exit code."""
    problem = links_problem(app.settings)
    if problem:
        raise ConfigError([problem])
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
    return asyncio.run(Daemon(app).main())


__all__ = ["Daemon", "run"]
