"""The wording of configuration errors: the key, the value, and where to fix it."""

from __future__ import annotations

from typing import Any

from reactivator.errors import redact_url


def describe(err: Any) -> str:
    """One pydantic validation error as a line a person can act on."""
    loc = [str(p) for p in err["loc"]]
    key = ".".join(loc) or "(top level)"
    message = str(err["msg"]).removeprefix("Value error, ")
    if not loc:  # a rule across sections: its message names the keys itself
        return message
    if err["type"] == "extra_forbidden":
        return f"{key}: unknown setting; check the spelling against config/reactivator.toml"
    value = err.get("input")
    if isinstance(value, str) and "://" in value:
        value = redact_url(value)
    shown = repr(value) if not isinstance(value, dict) else "(a table)"
    return f"{key} = {shown}: {message} ({where_to_fix(err['loc'])})"


def where_to_fix(loc: tuple[Any, ...]) -> str:
    """Where the user can set this key: the TOML section, and the environment variable that works."""
    names: list[str] = []
    for part in loc:
        if isinstance(part, int):  # inside a list of tables: only the whole list can come from env
            break
        names.append(str(part))
    section = ".".join(names[:-1]) if len(names) > 1 and len(names) == len(loc) else ".".join(names)
    env = "REACTIVATOR_" + "__".join(n.upper() for n in names)
    if len(names) < len(loc):
        return f"fix it in [{section}] in the config file, or set {env} to the whole list as JSON"
    return f"set it in [{section or names[0]}] or via {env}"


def missing_file(origin: str, chosen: str) -> str:
    return (
        f"{origin} names {chosen!r}, which is not a file. Point it at an existing "
        "TOML file, or copy config/reactivator.toml from the project as a start."
    )
