"""A customer's data, on request: printed by `reactivator export`, or written for a shop's data request."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from pathlib import Path
from typing import Any

from reactivator.db.customer_export import customer_data
from reactivator.db.customers import find_customer
from reactivator.errors import UnknownCustomerError
from reactivator.service.app import App

log = logging.getLogger("reactivator.privacy")


def export_customer(app: App, ref: str, now: datetime) -> dict[str, Any]:
    """Everything held about the customer `ref` (id or email)."""
    with app.db.read() as conn:
        found = find_customer(conn, ref)
        if found is None:
            raise UnknownCustomerError(ref)
        data = customer_data(conn, found.id)
    return {"exported_at": now.isoformat(), "shop": app.settings.shop.name_in(), **data}


def write_data_request(app: App, request_id: str, ref: str, now: datetime) -> Path | None:
    """Write the export for a data request to `[privacy] data_requests_dir`; None if nobody is known."""
    try:
        data = export_customer(app, ref, now)
    except UnknownCustomerError:
        log.info("data request: no such customer held", extra={"request": request_id})
        return None
    folder = app.settings.privacy.data_requests_dir
    folder.mkdir(parents=True, exist_ok=True)
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in request_id)[:80] or "request"
    path = folder / f"data-request-{safe}.json"
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    log.info("data request answered", extra={"request": request_id, "file": str(path)})
    return path
