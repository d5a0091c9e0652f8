"""Templates saved while the daemon runs: a good save is used from the next letter, a bad one never."""

from __future__ import annotations

import shutil
import signal
from datetime import UTC, datetime
from email.header import decode_header, make_header
from pathlib import Path

import pytest

from reactivator.errors import TemplateError
from reactivator.render.check import Problem
from reactivator.render.links import Tokens
from reactivator.render.samples import at_step, sample_letter
from reactivator.service.app import App, app_from_settings
from reactivator.service.template_versions import TemplateVersions, concerns
from tests.conftest import SHIPPED_TEMPLATES, make_settings
from tests.daemon.processes import (
    CountingHandler,
    DaemonProcess,
    base_env,
    counting_server,
    import_shop,
    migrate,
    reactivator,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SUBJECT = "{locale}/we-miss-you.subject.j2"


def copy_templates(target: Path) -> Path:
    shutil.copytree(SHIPPED_TEMPLATES, target)
    return target


def save(folder: Path, name: str, text: str) -> None:
    (folder / name).write_text(text, encoding="utf-8")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return copy_templates(tmp_path / "emails")


@pytest.fixture
def app(sqlite_url: str, folder: Path) -> App:
    return app_from_settings(make_settings(sqlite_url, templates={"dir": folder}))


def subject(versions: TemplateVersions, locale: str, step: str = "we-miss-you") -> str:
    base = sample_letter("cyrillic" if locale == "ru" else "new", NOW)
    letter = at_step(base, step, 0, 10, "ladder", NOW)
    return versions.compose(letter, NOW).subject


def test_a_saved_template_is_used_from_the_next_letter(app: App, folder: Path) -> None:
    versions = TemplateVersions(app, Tokens(["k" * 32]), NOW)
    assert "Version two" not in subject(versions, "en")
    save(folder, SUBJECT.format(locale="en"), "Version two, {{ customer.first_name }}")
    reload = versions.reload(NOW)
    assert ("en", "we-miss-you") in reload.moved
    assert ("ru", "we-miss-you") not in reload.moved  # its files did not change
    assert subject(versions, "en") == "Version two, Jane"
    assert versions.alerts() == []


def test_a_broken_step_keeps_its_last_good_version_and_the_other_letters_move_on(
    app: App, folder: Path
) -> None:
    versions = TemplateVersions(app, Tokens(["k" * 32]), NOW)
    save(folder, SUBJECT.format(locale="en"), "Good one {{ customer.first_name }}")
    versions.reload(NOW)
    save(folder, SUBJECT.format(locale="en"), "Broken {{ customer.first_name\n")
    save(folder, SUBJECT.format(locale="ru"), "Новая тема, {{ customer.first_name }}")
    reload = versions.reload(NOW)
    assert list(reload.kept) == [("en", "we-miss-you")]
    assert subject(versions, "en") == "Good one Jane"  # never the broken file
    assert subject(versions, "ru") == "Новая тема, Ольга"  # the other language moved on
    (alert,) = versions.alerts()
    assert alert.startswith("en/we-miss-you: still sending version")
    assert "en/we-miss-you.subject.j2:1" in alert
    save(folder, SUBJECT.format(locale="en"), "Fixed {{ customer.first_name }}")
    versions.reload(NOW)
    assert subject(versions, "en") == "Fixed Jane"
    assert versions.alerts() == []


def test_a_broken_layout_keeps_every_letter_at_its_last_good_version(app: App, folder: Path) -> None:
    versions = TemplateVersions(app, Tokens(["k" * 32]), NOW)
    before = {locale: subject(versions, locale, "our-promise") for locale in ("en", "ru")}
    layout = folder / "_layout.html.j2"
    layout.write_text(layout.read_text().replace("{% block", "{% blok", 1))
    reload = versions.reload(NOW)
    assert not reload.moved
    assert len(reload.kept) == 8  # four steps in two languages
    assert {locale: subject(versions, locale, "our-promise") for locale in ("en", "ru")} == before
    assert all("_layout.html.j2" in alert for alert in versions.alerts())


def test_problems_concern_their_own_step_and_the_files_it_is_built_from() -> None:
    def p(file: str) -> Problem:
        return Problem(file, 1, "x")

    assert concerns(p("en/we-miss-you.html.j2"), "en", "we-miss-you")
    assert not concerns(p("en/we-miss-you.html.j2"), "ru", "we-miss-you")
    assert not concerns(p("en/we-miss-you.html.j2"), "en", "our-promise")
    assert concerns(p("_layout.html.j2"), "ru", "our-promise")
    assert concerns(p("en/_strings.j2"), "en", "sorry-again")
    assert not concerns(p("en/_strings.j2"), "ru", "sorry-again")
    assert concerns(p("-"), "en", "we-miss-you")


def decoded(subject: str) -> str:
    return str(make_header(decode_header(subject)))


def test_the_running_daemon_picks_up_a_saved_template_and_never_sends_a_broken_one(tmp_path: Path) -> None:
    templates = copy_templates(tmp_path / "templates")
    env = base_env(f"sqlite:///{tmp_path / 'shop.db'}", templates, DAEMON__PASS_EVERY_SECONDS="1")
    migrate(env)
    server = CountingHandler()
    name = SUBJECT.format(locale="en")

    def batch(first: int, subject_line: str) -> None:
        import_shop(tmp_path, env, first, 3)
        wanted = {f"c{n}@example.com" for n in range(first, first + 3)}
        daemon.wait_for(lambda: wanted <= set(server.subjects), what=f"customers {first}..{first + 2}")
        assert {decoded(server.subjects[r]) for r in wanted} == {subject_line}

    with counting_server(server) as smtp_port:
        env["REACTIVATOR_SMTP__PORT"] = str(smtp_port)
        daemon = DaemonProcess(tmp_path, env)
        try:
            daemon.wait_started()
            save(templates, name, "Version one")
            daemon.wait_for(lambda: daemon.count("templates reloaded") >= 1, what="the first reload")
            batch(0, "Version one")
            save(templates, name, "Version two {{ oops")
            daemon.wait_for(
                lambda: any("en/we-miss-you.subject.j2:1" in str(e.get("event")) for e in daemon.events()),
                what="the alert",
            )
            batch(3, "Version one")  # the last good version, never the broken file
            status = reactivator("status", env=env, cwd=tmp_path)
            assert "en/we-miss-you.subject.j2:1" in status.stdout  # the standing alert
            save(templates, name, "Version three")
            daemon.wait_for(lambda: daemon.count("templates reloaded") >= 2, what="the fix")
            batch(6, "Version three")
        finally:
            daemon.signal(signal.SIGTERM)
            assert daemon.wait() == 0
    assert set(server.by_id.values()) == {1}


def test_a_step_broken_through_a_file_it_includes_keeps_its_last_good_version(app: App, folder: Path) -> None:
    versions = TemplateVersions(app, Tokens(["k" * 32]), NOW)
    save(folder, "en/greeting.j2", "Hello {{ customer.first_name }}")
    save(folder, SUBJECT.format(locale="en"), '{% include "en/greeting.j2" %}, we miss you')
    versions.reload(NOW)
    assert subject(versions, "en") == "Hello Jane, we miss you"
    save(folder, "en/greeting.j2", "Hello {{ customer.first_name")  # the partial breaks
    reload = versions.reload(NOW)
    assert ("en", "we-miss-you") in reload.kept
    assert subject(versions, "en") == "Hello Jane, we miss you"


def test_a_file_that_is_not_utf8_is_refused_by_name(app: App, folder: Path) -> None:
    versions = TemplateVersions(app, Tokens(["k" * 32]), NOW)
    (folder / SUBJECT.format(locale="ru")).write_bytes("Мы скучаем".encode("cp1251"))
    with pytest.raises(TemplateError, match=r"ru/we-miss-you.subject.j2:1: error: not UTF-8"):
        versions.reload(NOW)
    assert subject(versions, "ru").startswith("Ольга")  # the last good version stays
