"""The marketer's console in a real headless Chromium, on the demo shop (which has a known lift).

Each page loads, each chart is drawn with data, the figures on the pages are
those of `reactivator report --json` for the same moment, and the console
keeps to loopback unless it has a password.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from reactivator.mail.factory import build_mailer
from reactivator.service.app import App, app_from_settings
from reactivator.service.demo import run_demo
from reactivator.web.console import ConsoleState, build_console
from tests.conftest import NOW, SHIPPED_TEMPLATES, make_settings
from tests.smtp_servers import free_port
from tests.web.conftest import running
from tests.web.test_preview_page import colours, screenshot

SEEN_AT = NOW + timedelta(hours=1)
PAGES = ["/", "/report", "/survey", "/customers", "/letters"]


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo shop, built once for this module."""
    folder = tmp_path_factory.mktemp("demo")
    with pytest.MonkeyPatch.context() as mp:
        for name in [n for n in os.environ if n.startswith("REACTIVATOR_")]:
            mp.delenv(name)
        mp.setenv("REACTIVATOR_TEMPLATES__DIR", str(SHIPPED_TEMPLATES))
        mp.chdir(folder)
        run_demo(folder / "demo.db", folder / "outbox", NOW)
    return folder / "demo.db"


@pytest.fixture
def console(demo_db: Path, tmp_path: Path) -> Iterator[tuple[str, App, Path]]:
    db = tmp_path / "shop.db"
    shutil.copy(demo_db, db)
    settings = make_settings(f"sqlite:///{db}", campaign={"holdout_percent": 10})
    app = app_from_settings(settings)
    state = ConsoleState(app=app, mailer=build_mailer(settings), clock=lambda: SEEN_AT)
    with running(build_console(state), free_port()) as url:
        yield url, app, db
    app.db.dispose()


def cli_report(db: Path, *extra: str) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REACTIVATOR_")}
    env |= {
        "REACTIVATOR_DATABASE__URL": f"sqlite:///{db}",
        "REACTIVATOR_CAMPAIGN__HOLDOUT_PERCENT": "10",
        "REACTIVATOR_TEMPLATES__DIR": str(SHIPPED_TEMPLATES),
    }
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "reactivator",
            "report",
            "--json",
            "--detail",
            "--now",
            SEEN_AT.isoformat(),
            *extra,
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    parsed: dict[str, Any] = json.loads(done.stdout)
    return parsed


def test_every_page_loads_and_every_chart_is_drawn_with_data(
    console: tuple[str, App, Path], browser: Any, tmp_path: Path
) -> None:
    url, _app, _db = console
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    drawn = 0
    for path in PAGES:
        response = page.goto(url + path)
        assert response is not None
        assert response.status == 200, path
        for chart in page.locator("[data-chart]").all():
            chart.locator(".main-svg").first.wait_for(timeout=15_000)
            page.wait_for_function(
                "el => el.dataset.drawn === 'yes'", arg=chart.element_handle(), timeout=15_000
            )
            # plotly draws one group per trace, with marks in it: bars, points or lines
            marks = chart.locator(".point, path.js-line, .bars path").count()
            assert marks > 0, (path, chart.get_attribute("data-chart"))
            drawn += 1
        image = screenshot(page, tmp_path, "console" + path.replace("/", "_"))
        assert len(colours(image)) > 50, path
    assert drawn >= 6  # money at stake, returns over time (twice), lift, funnel, ROMI, survey


def test_the_report_page_shows_the_figures_of_report_json(
    console: tuple[str, App, Path], browser: Any
) -> None:
    url, _app, db = console
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(url + "/report")
    embedded = json.loads(page.locator("#report-data").text_content() or "{}")
    assert embedded == cli_report(db)
    overall = embedded["holdout"]["overall"]
    assert overall["significant"] is True  # the demo's letters have a real effect
    row = page.locator("#lift tr[data-group='all enrolled']")
    assert (
        row.locator("[data-figure=lift]").inner_text() == f"{overall['return_rate_lift']['value'] * 100:+.1f}"
    )
    assert (
        row.locator("[data-figure=extra]").inner_text() == f"{overall['incremental_revenue']['value']:,.2f}"
    )
    assert "caused by the letters" in row.inner_text()
    for step in embedded["steps"]:
        cell = page.locator(f"#steps tr[data-step='{step['step_key']}'] [data-figure=romi]").inner_text()
        assert cell == ("–" if step["romi"] is None else f"{step['romi']:.2f}")


def test_a_period_on_the_page_reads_what_report_json_reads_for_it(
    console: tuple[str, App, Path], browser: Any
) -> None:
    url, _app, db = console
    page = browser.new_page()
    since = (NOW - timedelta(days=90)).date().isoformat()
    page.goto(f"{url}/report?since={since}")
    embedded = json.loads(page.locator("#report-data").text_content() or "{}")
    assert embedded == cli_report(db, "--since", f"{since}T00:00:00+00:00")
    assert (
        embedded["holdout"]["overall"]["treatment"]["enrolled"]
        < cli_report(db)["holdout"]["overall"]["treatment"]["enrolled"]
    )


def test_the_overview_shows_the_lift_the_report_computes(
    console: tuple[str, App, Path], browser: Any
) -> None:
    url, _app, db = console
    page = browser.new_page()
    page.goto(url + "/")
    overall = cli_report(db)["holdout"]["overall"]
    assert (
        page.locator("[data-figure=lift]").inner_text()
        == f"{overall['return_rate_lift']['value'] * 100:+.1f}"
    )
    assert page.locator("[data-figure=letters_sent]").inner_text() == f"{cli_report(db)['letters_sent']:,}"


def test_a_customer_is_found_by_email_and_shows_arm_status_and_timeline(
    console: tuple[str, App, Path], browser: Any
) -> None:
    url, app, _db = console
    with app.db.read() as conn:
        key = conn.exec_driver_sql(
            "SELECT c.external_id, c.email FROM customers c JOIN enrollments e ON e.customer_id = c.id "
            "WHERE e.status = 'returned' AND e.arm = 'treatment' AND c.subscription = 'subscribed' "
            "AND c.last_purchase_at > :recent ORDER BY c.id LIMIT 1",
            {"recent": (SEEN_AT - timedelta(days=60)).replace(tzinfo=None).isoformat(sep=" ")},
        ).one()
    page = browser.new_page()
    page.goto(url + "/customers")
    page.fill("input[name=q]", key.email)
    page.click("button[type=submit]")
    page.locator("#found a").first.click()
    assert page.locator("h1").inner_text().startswith(key.external_id)
    assert page.locator("#arm").inner_text() == "treatment group"
    assert "fragile" in page.locator("#fragile").inner_text()
    kinds = {
        page.locator("#timeline tr[data-kind]").nth(i).get_attribute("data-kind")
        for i in range(page.locator("#timeline tr[data-kind]").count())
    }
    assert {"order", "enrolled", "letter"} <= kinds


def test_the_pages_follow_a_dark_colour_scheme(console: tuple[str, App, Path], browser: Any) -> None:
    url, _app, _db = console
    context = browser.new_context(color_scheme="dark")
    page = context.new_page()
    page.goto(url + "/report")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(18, 21, 27)"
    chart_text = page.locator("#chart-funnel .gtitle").first.evaluate("el => getComputedStyle(el).fill")
    assert chart_text == "rgb(230, 232, 236)"  # the chart's text in the dark theme's ink
    context.close()


def _get(url: str, headers: dict[str, str] | None = None) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {})) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_off_loopback_the_console_refuses_to_start_without_a_password_and_asks_for_it(app: App) -> None:
    state = ConsoleState(app=app, mailer=build_mailer(app.settings))
    with pytest.raises(ValueError, match="REACTIVATOR_CONSOLE_PASSWORD"):
        build_console(state, host="0.0.0.0")
    console = build_console(state, host="0.0.0.0", password="correct horse")
    with running(console, free_port()) as url:
        assert _get(url + "/customers") == 401
        wrong = base64.b64encode(b"me:guess").decode()
        assert _get(url + "/customers", {"Authorization": f"Basic {wrong}"}) == 401
        right = base64.b64encode(b"me:correct horse").decode()
        assert _get(url + "/customers", {"Authorization": f"Basic {right}"}) == 200


def test_the_console_never_shares_the_public_endpoints_port(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REACTIVATOR_")}
    env |= {
        "REACTIVATOR_DATABASE__URL": f"sqlite:///{tmp_path / 'x.db'}",
        "REACTIVATOR_CONSOLE__PORT": "8025",
    }
    done = subprocess.run(
        [sys.executable, "-m", "reactivator", "console"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "console.port = 8025 is the port of the public endpoints" in done.stderr


def test_replies_and_a_stopped_step_are_shown_for_a_person_to_act_on(
    console: tuple[str, App, Path], browser: Any, tmp_path: Path
) -> None:
    from reactivator.db.feedback import recent_replies, stop_step

    url, app, _db = console
    with app.db.write() as conn:
        stop_step(conn, "did-we-say-something-wrong", "5 complaints over 400 delivered letters", SEEN_AT)
        replies = recent_replies(conn)
    assert replies  # the demo's customers write back now and then
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(url + "/")
    alerts = page.locator("#alerts").inner_text()
    assert "did-we-say-something-wrong stopped by the complaint brake" in alerts
    assert "reactivator resume did-we-say-something-wrong" in alerts
    rows = page.locator("#replies tr")
    assert rows.count() == min(len(replies), 10) + 1
    screenshot(page, tmp_path, "overview-with-replies")
    page.locator("#replies a").first.click()
    assert replies[0].text in page.locator("#replies").inner_text()
    kinds = page.locator("#timeline tr[data-kind=reply]").count()
    assert kinds >= 1
