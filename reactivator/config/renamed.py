"""Settings that moved: the old keys keep working, with a warning that names the new one."""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger("reactivator.config")

# old path -> new path, each a tuple of keys from the top of the settings.
RENAMED: dict[tuple[str, ...], tuple[str, ...]] = {
    **{
        ("smtp", key): ("delivery", key)
        for key in (
            "messages_per_second",
            "domain_concurrency",
            "domain_messages_per_second",
            "retry_lifetime_hours",
            "domain_pause_minutes",
            "return_path",
        )
    },
    ("campaign", "apology", "after_days"): ("campaign", "apology", "from_days"),
}


def env_name(path: tuple[str, ...]) -> str:
    return "REACTIVATOR_" + "__".join(p.upper() for p in path)


def _table(data: dict[str, Any], path: tuple[str, ...], create: bool) -> dict[str, Any] | None:
    """The nested dict at `path` (made when `create`), or None where there is none."""
    for key in path:
        inner = data.get(key)
        if inner is None and create:
            inner = data[key] = {}
        if not isinstance(inner, dict):
            return None  # absent, or already a validated section (which has no old keys)
        data = inner
    return data


def move_renamed(data: dict[str, Any]) -> dict[str, Any]:
    """Move every old key in `data` (merged from file, environment and arguments) to its new place."""
    for old, new in RENAMED.items():
        source = _table(data, old[:-1], create=False)
        if source is None or old[-1] not in source:
            continue
        # Copies, so that no caller's dict is changed under it.
        data = {**data}
        source = _copy_path(data, old[:-1])
        value = source.pop(old[-1])
        target = _copy_path(data, new[:-1])
        old_name, new_name = ".".join(old), ".".join(new)
        if new[-1] in target:
            log.warning(
                "setting %s is ignored: it is now %s, which is set too; remove %s",
                old_name,
                new_name,
                old_name,
            )
            continue
        target[new[-1]] = value
        log.warning(
            "setting %s is now %s (in [%s], or %s); the old name still works for now",
            old_name,
            new_name,
            ".".join(new[:-1]),
            env_name(new),
        )
    return data


def _copy_path(data: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    """Make the dicts along `path` copies of their own (created when absent); the innermost one."""
    for key in path:
        inner = data.get(key)
        data[key] = dict(inner) if isinstance(inner, dict) else {}
        data = data[key]
    return data
