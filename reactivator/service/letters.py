"""The letters of a process: one checked template version, the signing keys, the composer."""

from __future__ import annotations

import os
import secrets
from datetime import datetime

from reactivator.config import Settings
from reactivator.errors import TemplateError
from reactivator.render.catalog import Catalog, read_folder, version_of
from reactivator.render.check import CheckResult, check
from reactivator.render.composer import Composer
from reactivator.render.links import Tokens
from reactivator.service.app import App

SECRET_KEYS_ENV = "REACTIVATOR_SECRET_KEYS"  # noqa: S105 (the name of the variable, not a secret)


def signing_keys(app: App, now: datetime) -> list[str]:
    """Keys from REACTIVATOR_SECRET_KEYS (comma-separated, newest first), else the stored one."""
    from_env = [k.strip() for k in os.environ.get(SECRET_KEYS_ENV, "").split(",") if k.strip()]
    if from_env:
        return from_env
    from reactivator.db.secrets import stored_keys  # only here: the template check needs no database

    with app.db.write() as conn:
        return stored_keys(conn, now)


# Checked catalogs by (template version, settings): a version is inlined and
# checked once per process, however many send rounds or previews use it.
_checked: dict[tuple[str, str], tuple[Catalog, CheckResult]] = {}
_KEEP_VERSIONS = 8


def load_letters(app: App, now: datetime, tokens: Tokens | None = None) -> tuple[Composer, CheckResult]:
    """Read and check the templates; the composer is usable for the steps that passed.

    Without `tokens`, links are signed with the real keys (which may touch the database).
    """
    return letters_of(app.settings, now, tokens or Tokens(signing_keys(app, now)))


def letters_of(settings: Settings, now: datetime, tokens: Tokens) -> tuple[Composer, CheckResult]:
    """The templates of these settings, read, checked (once per version) and signed with `tokens`."""
    folder = settings.templates.dir
    sources = read_folder(folder)
    key = (version_of(sources), settings.model_dump_json(exclude={"database", "daemon"}))
    if key in _checked:
        catalog, result = _checked[key]
        return Composer(settings, catalog, tokens), result
    catalog = Catalog(folder, sources)
    composer = Composer(settings, catalog, tokens)
    result = check(composer, now)
    if len(_checked) >= _KEEP_VERSIONS:
        _checked.pop(next(iter(_checked)))
    _checked[key] = (catalog, result)
    return composer, result


def one_letter_composer(app: App, now: datetime) -> Composer:
    """The current templates without the full check (a preview checks its one letter itself)."""
    folder = app.settings.templates.dir
    return Composer(app.settings, Catalog(folder, read_folder(folder)), Tokens(signing_keys(app, now)))


def checked_composer(app: App, now: datetime) -> Composer:
    """A composer whose every template passed the check; TemplateError otherwise."""
    composer, result = load_letters(app, now)
    if not result.ok:
        raise TemplateError([str(p) for p in result.errors], str(app.settings.templates.dir))
    return composer


def throwaway_tokens() -> Tokens:
    """Signing for letters nobody receives (the template check): a random key, no database."""
    return Tokens([secrets.token_urlsafe(32)])
