"""Every shipped letter, in every language and step, as the demo writes it, scored by SpamAssassin
(Debian's package, local mode: the shipped rules, no network): each stays under 0.5 points."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from reactivator.service.demo import run_demo
from tests.conftest import NOW, SHIPPED_TEMPLATES

LIMIT = 0.5


def spamassassin() -> str:
    found = shutil.which("spamassassin")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail(
                "CI must score the letters, but spamassassin is not installed (apt-get install spamassassin)"
            )
        pytest.skip("spamassassin is not installed (apt-get install spamassassin)")
    return found


def score(program: str, eml: Path) -> tuple[float, list[str]]:
    report = subprocess.run(
        [program, "-L", "-t"], input=eml.read_bytes(), capture_output=True, check=True, timeout=120
    ).stdout.decode("utf-8", "replace")
    details = report.split("Content analysis details:", 1)[1]
    points = float(re.match(r"\s+\(([-\d.]+) points", details).group(1))  # type: ignore[union-attr]
    rules = [f"{name}={value}" for value, name in re.findall(r"^\s*(-?\d+\.\d+)\s+(\w+)", details, re.M)]
    return points, [r for r in rules if not r.endswith("=0.0") and not r.endswith("=-0.0")]


def test_every_letter_the_demo_writes_scores_under_half_a_point(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    program = spamassassin()
    for name in [n for n in os.environ if n.startswith("REACTIVATOR_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("REACTIVATOR_TEMPLATES__DIR", str(SHIPPED_TEMPLATES))
    monkeypatch.chdir(tmp_path)
    result = run_demo(tmp_path / "demo.db", tmp_path / "outbox", NOW)
    assert {(s.locale, s.step_key) for s in result.samples} == {
        (locale, step)
        for locale in ("en", "ru")
        for step in ("we-miss-you", "did-we-say-something-wrong", "our-promise", "sorry-again")
    }
    scores = {f"{s.locale}/{s.step_key}": score(program, s.eml) for s in result.samples}
    print("\n".join(f"{k}: {v[0]} {' '.join(v[1])}" for k, v in sorted(scores.items())))
    over = {k: v for k, v in scores.items() if v[0] >= LIMIT}
    assert not over, over
