"""The marketer's console: pages served on loopback for the person at this machine.

access   the guards every page is behind (loopback Host, same-origin writes, form size)
state    what the pages share (app, mailer for test letters, clock, live listeners)
app      the sections' routes as one ASGI app, and serving it
preview  the ladder's letters, each with its source and a test send
live     reload open pages when a template file is saved

The public endpoints that letters link to (clicks, opens, unsubscribe) are
not here: they are `web.endpoints`, served by the daemon to the world.
"""

from reactivator.web.console.app import SECTIONS, build_console, serve_console
from reactivator.web.console.state import ConsoleState

__all__ = ["SECTIONS", "ConsoleState", "build_console", "serve_console"]
