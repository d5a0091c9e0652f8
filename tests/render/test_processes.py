"""Render processes: the bytes they build are the sending process's own, and their failures cost no letter."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from reactivator.core.records import Letter
from reactivator.render.processes import RenderProcesses, auto_processes
from reactivator.render.samples import at_step, sample_letter
from tests.render.conftest import NOW, make_composer


def _letter(step: str = "we-miss-you", locale: str = "en") -> Letter:
    return replace(at_step(sample_letter("new", NOW), step, 0, 10, "ladder", NOW), locale=locale)


def _pids(renderer: RenderProcesses) -> list[int]:
    assert renderer._pool is not None
    return [process.pid for process in renderer._pool._processes.values()]  # type: ignore[union-attr]


def test_a_render_process_builds_the_same_bytes_as_the_sending_process() -> None:
    composer = make_composer()
    renderer = RenderProcesses(composer.settings, composer.tokens, 1)
    try:
        for step, locale in (("we-miss-you", "en"), ("our-promise", "ru"), ("sorry-again", "en")):
            letter = _letter(step, locale)
            here = composer.compose(letter, NOW, locale=locale).message.as_bytes()
            there = asyncio.run(renderer.build(composer, letter, NOW, locale))
            assert there == here
    finally:
        renderer.close()


def test_a_letter_that_cannot_be_built_fails_with_the_reason(template_copy: Callable[[], Path]) -> None:
    folder = template_copy()
    composer = make_composer(folder)
    (folder / "en" / "we-miss-you.subject.j2").unlink()  # gone after the catalog was read: not in it
    broken = make_composer(folder)
    renderer = RenderProcesses(broken.settings, broken.tokens, 1)
    try:
        made = asyncio.run(renderer.build(broken, _letter(), NOW, "en"))
        assert isinstance(made, str)
        assert made.startswith("could not build the letter:")
        assert "we-miss-you.subject.j2" in made
        good = asyncio.run(renderer.build(composer, _letter(), NOW, "en"))
        assert isinstance(good, bytes)  # another version in the same run: new processes hold both
    finally:
        renderer.close()


def test_when_the_render_processes_die_letters_are_built_here() -> None:
    composer = make_composer()
    renderer = RenderProcesses(composer.settings, composer.tokens, 1)
    try:
        assert isinstance(asyncio.run(renderer.build(composer, _letter(), NOW, "en")), bytes)
        for pid in _pids(renderer):
            os.kill(pid, signal.SIGKILL)
        made = asyncio.run(renderer.build(composer, _letter(), NOW, "en"))
        assert made is None  # the caller builds it itself
        assert renderer.broken
    finally:
        renderer.close()


def test_a_stop_signal_is_left_to_the_sending_process() -> None:
    # Ctrl+C and a service manager's SIGTERM reach the whole process group: the sender
    # stops gracefully, and its render processes must not die under the letters in flight.
    composer = make_composer()
    renderer = RenderProcesses(composer.settings, composer.tokens, 1)
    try:
        assert isinstance(asyncio.run(renderer.build(composer, _letter(), NOW, "en")), bytes)
        for pid in _pids(renderer):
            os.kill(pid, signal.SIGINT)
            os.kill(pid, signal.SIGTERM)
        time.sleep(0.5)
        assert isinstance(asyncio.run(renderer.build(composer, _letter(), NOW, "en")), bytes)
        assert not renderer.broken
    finally:
        renderer.close()


ORPHAN = """
import sys
from tests.render.conftest import make_composer
from reactivator.core.records import Letter
from reactivator.render.processes import RenderProcesses

if __name__ == "__main__":
    composer = make_composer()
    renderer = RenderProcesses(composer.settings, composer.tokens, 1)
    renderer.warm(composer)
    print(*[p.pid for p in renderer._pool._processes.values()], flush=True)
    sys.stdin.read()  # until killed
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for our purpose: it holds no pipe and does no work.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split()[2] != "Z"


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_render_processes_end_when_the_sending_process_is_killed(tmp_path: Path) -> None:
    script = tmp_path / "sender.py"
    script.write_text(ORPHAN)
    root = Path(__file__).resolve().parents[2]
    sender = subprocess.Popen(
        [sys.executable, str(script)],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert sender.stdout is not None
    assert sender.stdin is not None
    pids = [int(p) for p in sender.stdout.readline().split()]
    assert pids
    assert all(_alive(pid) for pid in pids)
    sender.kill()
    sender.wait()
    sender.stdin.close()  # not communicate(): an orphan would hold the pipes open, and it would hang
    sender.stdout.close()
    deadline = time.monotonic() + 30
    while any(_alive(pid) for pid in pids):
        assert time.monotonic() < deadline, "a render process outlived the sender"
        time.sleep(0.05)


def test_render_processes_default_to_the_spare_cores() -> None:
    assert auto_processes(0) == 0
    assert auto_processes(3) == 3
    assert auto_processes(None) == max(0, min((os.cpu_count() or 1) - 1, 4))
