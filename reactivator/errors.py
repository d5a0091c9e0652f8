"""Every error reactivator raises on purpose, under one root.

    ReactivatorError                 anything we raise deliberately
    ├── ConfigError                  a setting is missing or wrong (names key, value, fix)
    ├── InputError                   a command was given something it cannot use
    │   ├── UnknownCustomerError     no customer with that id or email
    │   └── SignatureError           a webhook call whose signature does not check out (HTTP 401)
    ├── TemplateError                a letter template fails the check (file:line each)
    ├── StorageError                 the database cannot do what was asked
    │   ├── SchemaMissingError       the schema is absent or older than this code
    │   └── AlreadyRunningError      a second daemon on one SQLite file
    └── DeliveryError                a letter could not be handed over (or the transport reached)
            .reason                  what it means, set by the transport (core.refusals.Refusal)
            .permanent               True: retrying will not help
            .code, .status           the server's reply code and enhanced status, for people

Adapters translate library exceptions (SQLAlchemy, SMTP) into these at their
edge, so the service layer and the CLI only ever see this tree.
"""

from __future__ import annotations

import re

from reactivator.core.refusals import Refusal


def redact_url(url: str) -> str:
    """Never echo a password: scheme://user:secret@host becomes scheme://user:***@host."""
    return re.sub(r"(://[^/:@]*:)[^@/]*@", r"\1***@", url)


class ReactivatorError(Exception):
    """Root of every error reactivator raises on purpose."""


class ConfigError(ReactivatorError):
    """A setting is missing or invalid; the message names the key, the value and the fix."""

    def __init__(self, problems: list[str], source: str | None = None) -> None:
        self.problems = problems
        self.source = source
        where = f" in {source}" if source else ""
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid configuration{where}:\n{lines}")


class InputError(ReactivatorError):
    """A command was given a value it cannot use."""


class UnknownCustomerError(InputError):
    """No customer matches the given id or email."""

    def __init__(self, ref: str) -> None:
        self.ref = ref
        super().__init__(f"no customer {ref!r}; import customers first (`reactivator import customers FILE`)")


class SignatureError(InputError):
    """A webhook call that is unsigned, or signed with the wrong key: it changes nothing."""


class TemplateError(ReactivatorError):
    """Templates failed `reactivator templates check`; nothing is sent with them."""

    def __init__(self, problems: list[str], folder: str) -> None:
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(
            f"the letter templates in {folder} have errors, so nothing was sent:\n{lines}\n"
            "Fix them and run `reactivator templates check`."
        )


class StorageError(ReactivatorError):
    """The database could not complete an operation."""


class SchemaMissingError(StorageError):
    """The database has no schema, or an older one than this version needs."""

    def __init__(self, url: str, found: str | None, expected: str) -> None:
        self.url = url
        self.found = found
        self.expected = expected
        state = "has no reactivator schema" if found is None else f"is at schema {found}"
        super().__init__(
            f"the database {url} {state}, this version needs {expected}. Run `reactivator db upgrade` first."
        )


class AlreadyRunningError(StorageError):
    """Another daemon already works on this SQLite file; SQLite takes one daemon at a time."""

    def __init__(self, path: str, holder: str) -> None:
        self.path = path
        super().__init__(
            f"another reactivator daemon ({holder}) is already running on the SQLite database {path}. "
            "SQLite takes one daemon at a time: stop the other one first, or move to PostgreSQL "
            "(database.url = postgresql+psycopg://...) to run several."
        )


class DeliveryError(ReactivatorError):
    """A letter could not be handed over; `reason` says what that means, `permanent` whether to retry."""

    def __init__(
        self, message: str, *, reason: Refusal, code: int | None = None, status: str | None = None
    ) -> None:
        self.reason = reason
        self.code = code
        self.status = status  # RFC 3463 enhanced status code, when the server gave one
        super().__init__(message)

    @property
    def permanent(self) -> bool:
        return self.reason.permanent

    @property
    def summary(self) -> str:
        """The shortest telling form, for reasons people read: "5.1.1", "550" or the reason."""
        return self.status or (str(self.code) if self.code else self.reason.value)
