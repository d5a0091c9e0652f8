"""Letters built from the shipped templates (or a copy a test may break) with fixed keys."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from reactivator.config import load_settings
from reactivator.render.catalog import Catalog
from reactivator.render.composer import Composer
from reactivator.render.links import Tokens
from tests.conftest import SHIPPED_TEMPLATES

KEY = "k" * 32
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def make_composer(folder: Path = SHIPPED_TEMPLATES, **overrides: Any) -> Composer:
    settings = load_settings(None, **overrides)
    return Composer(settings, Catalog.load(folder), Tokens([KEY]))


@pytest.fixture(scope="session")
def shipped() -> Composer:
    """One composer over the shipped templates for the whole session (loading inlines every file)."""
    return make_composer()


@pytest.fixture
def template_copy(tmp_path: Path) -> Callable[[], Path]:
    """A writable copy of the shipped templates."""

    def copy() -> Path:
        target = tmp_path / "emails"
        shutil.copytree(SHIPPED_TEMPLATES, target)
        return target

    return copy
