"""What every reader of mail needs: headers as people read them, and addresses in text."""

from __future__ import annotations

import re
from email.header import decode_header, make_header

ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


def decoded(value: object) -> str:
    """A header as people read it (encoded words decoded), or '' when it is absent."""
    if value is None:
        return ""
    try:
        return str(make_header(decode_header(str(value))))
    except Exception:
        return str(value)


def first_address(text: str) -> str:
    """The first address in `text`, lower-cased, or ''."""
    found = ADDRESS.search(text)
    return found.group(0).strip(".").lower() if found else ""
