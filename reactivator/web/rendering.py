"""The HTML pages reactivator serves itself (preview page, unsubscribe), rendered with autoescaping."""

from __future__ import annotations

from jinja2 import Environment, PackageLoader, select_autoescape

pages = Environment(
    loader=PackageLoader("reactivator.web", "pages"), autoescape=select_autoescape(default=True)
)
