"""The command line as a new user runs it: real processes, a real SQLite file."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from tests.conftest import SHIPPED_TEMPLATES
from tests.smtp_servers import CaptureHandler, smtp_server

NOW = "2026-06-01T12:00:00+00:00"


def clean_env(env: dict[str, str] | None) -> dict[str, str]:
    """This process's environment without REACTIVATOR_ settings, the shipped templates, and `env`."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("REACTIVATOR_")}
    full_env["REACTIVATOR_TEMPLATES__DIR"] = str(SHIPPED_TEMPLATES)
    return full_env | (env or {})


def cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reactivator", *args],
        cwd=cwd,
        env=clean_env(env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def shop(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "customers.csv").write_text(
        "id,email,first_name,locale,timezone,tags\n"
        "c1,ann@example.com,Ann,en,Europe/London,\n"
        "c2,oleg@example.ru,Олег,ru,Europe/Moscow,vip\n"
        "c3,bad@example.com,Bad,en,,bad_payer\n"
        "c4,new@example.com,New,en,,\n",
        encoding="utf-8",
    )
    (tmp_path / "orders.csv").write_text(
        "id,customer_id,placed_at,amount\n"
        "o1,c1,2026-01-20T10:00:00Z,120.00\n"
        "o2,c2,2025-05-01T10:00:00Z,300.00\n"
        "o3,c3,2025-12-01T10:00:00Z,80.00\n"
        "o4,c4,2026-05-20T10:00:00Z,40.00\n",
        encoding="utf-8",
    )
    return {"REACTIVATOR_DATABASE__URL": f"sqlite:///{tmp_path / 'shop.db'}"}


def test_a_command_on_a_database_without_schema_says_to_run_db_upgrade(
    tmp_path: Path, shop: dict[str, str]
) -> None:
    result = cli("segments", cwd=tmp_path, env=shop)
    assert result.returncode == 1
    assert "Run `reactivator db upgrade` first" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_setting_fails_at_start_naming_key_value_and_fix(tmp_path: Path) -> None:
    result = cli("segments", cwd=tmp_path, env={"REACTIVATOR_CAMPAIGN__MIN_GAP_DAYS": "soon"})
    assert result.returncode == 2
    assert "campaign.min_gap_days = 'soon'" in result.stderr
    assert "REACTIVATOR_CAMPAIGN__MIN_GAP_DAYS" in result.stderr


def test_a_missing_config_file_is_a_clear_error(tmp_path: Path) -> None:
    result = cli("--config", "nope.toml", "segments", cwd=tmp_path)
    assert result.returncode == 2
    assert "'nope.toml', which is not a file" in result.stderr


def test_the_shipped_config_file_loads_with_its_documented_defaults_and_a_holdout() -> None:
    from reactivator.config import Settings, load_settings

    shipped = load_settings(Path(__file__).resolve().parents[1] / "config" / "reactivator.toml")
    assert shipped.campaign.holdout_percent == 10
    assert shipped.model_copy(update={"campaign": Settings().campaign}) == Settings()


def test_import_segment_dry_run_run_purchase_report(tmp_path: Path, shop: dict[str, str]) -> None:
    assert cli("db", "upgrade", cwd=tmp_path, env=shop).returncode == 0
    imported = cli("import", "customers", "customers.csv", "--json", cwd=tmp_path, env=shop)
    assert json.loads(imported.stdout)["inserted"] == 4
    orders = cli("import", "orders", "orders.csv", "--json", cwd=tmp_path, env=shop)
    assert json.loads(orders.stdout)["inserted"] == 4

    segments = json.loads(cli("segments", "--now", NOW, "--json", cwd=tmp_path, env=shop).stdout)
    assert [t["customers"] for t in segments["tiers"]] == [1, 1, 1]  # c1 | c3 | c2

    dry = cli("run", "--dry-run", "--json", "--now", NOW, cwd=tmp_path, env=shop)
    decisions = {d["customer"]: (d["decision"], d["step"]) for d in map(json.loads, dry.stdout.splitlines())}
    assert decisions == {
        "c1": ("send", "we-miss-you"),
        "c2": ("send", "our-promise"),
        "c3": ("excluded_tag", "did-we-say-something-wrong"),
    }
    again = cli("run", "--dry-run", "--json", "--now", NOW, cwd=tmp_path, env=shop)
    assert again.stdout == dry.stdout  # a dry run changed nothing

    capture = CaptureHandler()
    with smtp_server(capture) as port:
        ran = cli(
            "run", "--now", NOW, "--json", cwd=tmp_path, env={**shop, "REACTIVATOR_SMTP__PORT": str(port)}
        )
    assert json.loads(ran.stdout)["sent"]["sent"] == 2
    assert sorted(capture.recipients()) == ["ann@example.com", "oleg@example.ru"]  # sent for real, over SMTP

    bought = cli(
        "purchase", "c1", "--amount", "55.10", "--at", "2026-06-03T09:00:00Z", cwd=tmp_path, env=shop
    )
    assert "has returned" in bought.stdout
    shown = json.loads(
        cli("customer", "c1", "--now", "2026-06-04T00:00:00Z", "--json", cwd=tmp_path, env=shop).stdout
    )
    assert shown["status"] == "returned"
    assert [(x["step_key"], x["status"]) for x in shown["letters"]] == [("we-miss-you", "sent")]
    assert shown["letters"][0]["coupon_code"]
    readable = cli(
        "customer", "c1", "--now", "2026-06-04T00:00:00Z", cwd=tmp_path, env={**shop, "COLUMNS": "80"}
    )
    assert "Ladder from 2026-" in readable.stdout
    assert "came back, ordered 55.10 after we-miss-you" in readable.stdout
    assert any(line.startswith("we-miss-you  sent") for line in readable.stdout.splitlines()), readable.stdout

    report = json.loads(cli("report", "--json", cwd=tmp_path, env=shop).stdout)
    steps = {s["step_key"]: s for s in report["steps"]}
    assert steps["we-miss-you"]["sent"] == 1
    assert steps["we-miss-you"]["returned"] == 1
    assert report["revenue_since_return_cents"] == 5510

    unsub = cli("unsubscribe", "oleg@example.ru", cwd=tmp_path, env=shop)
    assert unsub.returncode == 0
    assert "unsubscribed" in unsub.stdout


def test_unknown_customer_purchase_is_a_one_line_error(tmp_path: Path, shop: dict[str, str]) -> None:
    cli("db", "upgrade", cwd=tmp_path, env=shop)
    result = cli("purchase", "ghost", "--amount", "10", cwd=tmp_path, env=shop)
    assert result.returncode == 1
    assert "no customer 'ghost'" in result.stderr
    assert "Traceback" not in result.stderr


def test_demo_builds_a_shop_runs_the_campaign_and_writes_the_letters(tmp_path: Path) -> None:
    result = cli("demo", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "ROMI" in result.stdout
    assert "money at stake" in result.stdout
    # The demo's letters have a known effect, and its fixed groups show it.
    assert "Overall the letters brought back" in result.stdout
    assert "reactivator console" in result.stdout
    letters = sorted((tmp_path / "demo-outbox").glob("*.eml"))
    assert letters, "the demo sent no letter"
    message = message_from_bytes(letters[0].read_bytes(), policy=policy.default)
    assert message["Message-ID"]
    assert message["To"]
    assert message["Subject"]
    assert (tmp_path / "reactivator-demo.db").exists()


def test_markup_like_text_in_customer_data_is_printed_as_is(tmp_path: Path, shop: dict[str, str]) -> None:
    cli("db", "upgrade", cwd=tmp_path, env=shop)
    (tmp_path / "odd.csv").write_text("id,email\n[/]odd,odd@example.com\nbad[/],x\n", encoding="utf-8")
    result = cli("import", "customers", "odd.csv", cwd=tmp_path, env=shop)
    assert result.returncode == 0, result.stderr
    assert "invalid email 'x'" in result.stdout
    shown = cli("customer", "[/]odd", cwd=tmp_path, env=shop)
    assert shown.returncode == 0, shown.stderr
    assert "[/]odd" in shown.stdout


def test_templates_check_passes_for_the_shipped_letters_and_fails_with_file_and_line(tmp_path: Path) -> None:
    ok = cli("templates", "check", cwd=tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "8 letters, 0 errors" in ok.stdout
    broken = tmp_path / "emails"
    shutil.copytree(SHIPPED_TEMPLATES, broken)
    subject = broken / "ru" / "our-promise.subject.j2"
    subject.write_text("{{ customer.first_name }, hello\n", encoding="utf-8")
    bad = cli("templates", "check", cwd=tmp_path, env={"REACTIVATOR_TEMPLATES__DIR": str(broken)})
    assert bad.returncode == 1
    assert "ru/our-promise.subject.j2:1: error: syntax error" in bad.stdout
    assert "Traceback" not in bad.stdout + bad.stderr


def test_preview_prints_the_letter_that_would_be_sent_and_changes_nothing(
    tmp_path: Path, shop: dict[str, str]
) -> None:
    assert cli("db", "upgrade", cwd=tmp_path, env=shop).returncode == 0
    assert cli("import", "customers", "customers.csv", cwd=tmp_path, env=shop).returncode == 0
    assert cli("import", "orders", "orders.csv", cwd=tmp_path, env=shop).returncode == 0
    before = (tmp_path / "shop.db").read_bytes()
    result = subprocess.run(
        [sys.executable, "-m", "reactivator", "preview", "c2", "--format", "eml", "--now", NOW],
        cwd=tmp_path,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("REACTIVATOR_")},
            **shop,
            "REACTIVATOR_TEMPLATES__DIR": str(SHIPPED_TEMPLATES),
        },
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    letter = message_from_bytes(result.stdout, policy=policy.default)
    assert "Олег" in str(letter["Subject"])  # c2 is Russian and 13 months away: our-promise
    assert "20%" in letter.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert str(letter["To"]).endswith("<oleg@example.ru>")
    assert (tmp_path / "shop.db").read_bytes() == before

    html = cli(
        "preview",
        "c1",
        "--step",
        "sorry-again",
        "--format",
        "html",
        "--out",
        "p.html",
        cwd=tmp_path,
        env=shop,
    )
    assert html.returncode == 0, html.stderr
    assert "<html" in (tmp_path / "p.html").read_text()
    not_due = cli("preview", "c4", "--now", NOW, cwd=tmp_path, env=shop)
    assert not_due.returncode == 1
    assert "gets no letter" in not_due.stderr


def test_run_refuses_to_send_with_a_broken_template(tmp_path: Path, shop: dict[str, str]) -> None:
    assert cli("db", "upgrade", cwd=tmp_path, env=shop).returncode == 0
    assert cli("import", "customers", "customers.csv", cwd=tmp_path, env=shop).returncode == 0
    assert cli("import", "orders", "orders.csv", cwd=tmp_path, env=shop).returncode == 0
    broken = tmp_path / "emails"
    shutil.copytree(SHIPPED_TEMPLATES, broken)
    (broken / "en" / "we-miss-you.html.j2").write_text(
        (broken / "en" / "we-miss-you.html.j2")
        .read_text()
        .replace("customer.first_name", "customer.firstname")
    )
    result = cli("run", "--now", NOW, cwd=tmp_path, env={**shop, "REACTIVATOR_TEMPLATES__DIR": str(broken)})
    assert result.returncode == 1
    assert "nothing was sent" in result.stderr
    assert "en/we-miss-you.html.j2:" in result.stderr


def test_an_import_in_an_unknown_format_is_a_one_line_error(tmp_path: Path, shop: dict[str, str]) -> None:
    cli("db", "upgrade", cwd=tmp_path, env=shop)
    result = cli("import", "orders", "orders.csv", "--format", "nope", cwd=tmp_path, env=shop)
    assert result.returncode == 1
    assert "no orders format 'nope'; the formats are: reactivator" in result.stderr
    assert "Traceback" not in result.stderr
    named = cli("import", "orders", "orders.csv", "--format", "reactivator", "--json", cwd=tmp_path, env=shop)
    assert json.loads(named.stdout)["format"] == "reactivator"


LOADED_PROBE = """
import sys
from reactivator.cli.main import cli
try:
    cli(sys.argv[1:])
except SystemExit:
    pass
print(" ".join(sorted(m for m in sys.modules if "." not in m)))
"""


def libraries_loaded_by(*args: str, cwd: Path, env: dict[str, str]) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", LOADED_PROBE, *args],
        cwd=cwd,
        env=clean_env(env),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return set(done.stdout.split("\n")[-2].split())


@pytest.mark.parametrize("command", [[], ["run"], ["daemon"], ["import", "orders"], ["preview"]])
def test_help_loads_no_database_template_web_or_scheduler_library(
    tmp_path: Path, shop: dict[str, str], command: list[str]
) -> None:
    loaded = libraries_loaded_by(*command, "--help", cwd=tmp_path, env=shop)
    heavy = {"sqlalchemy", "alembic", "jinja2", "premailer", "lxml", "uvicorn", "starlette", "apscheduler"}
    assert "typer" in loaded
    assert loaded & heavy == set()


def test_each_command_loads_what_its_own_work_needs(tmp_path: Path, shop: dict[str, str]) -> None:
    assert cli("db", "upgrade", cwd=tmp_path, env=shop).returncode == 0
    segments = libraries_loaded_by("segments", "--json", cwd=tmp_path, env=shop)
    check = libraries_loaded_by("templates", "check", cwd=tmp_path, env=shop)
    assert "sqlalchemy" in segments
    assert segments & {"jinja2", "premailer", "lxml", "uvicorn", "apscheduler", "alembic"} == set()
    assert {"jinja2", "premailer"} <= check
    assert check & {"sqlalchemy", "uvicorn", "apscheduler"} == set()


def test_the_dry_run_reads_whole_at_80_columns(tmp_path: Path, shop: dict[str, str]) -> None:
    assert cli("db", "upgrade", cwd=tmp_path, env=shop).returncode == 0
    assert cli("import", "customers", "customers.csv", cwd=tmp_path, env=shop).returncode == 0
    assert cli("import", "orders", "orders.csv", cwd=tmp_path, env=shop).returncode == 0
    shown = cli("run", "--dry-run", "--now", NOW, cwd=tmp_path, env={**shop, "COLUMNS": "80"}).stdout
    lines = shown.splitlines()
    assert max(len(line) for line in lines) <= 80
    # Step names and explanations are whole, not cut into a word a line.
    assert any("did-we-say-something-wrong" in line and "excluded by tag" not in line for line in lines)
    assert sum("excluded by tag" in line for line in lines) == 2  # the summary's row and c3's trace row


def test_with_a_holdout_the_dry_run_the_customer_and_the_report_show_the_arms(
    tmp_path: Path, shop: dict[str, str]
) -> None:
    env = {**shop, "REACTIVATOR_CAMPAIGN__HOLDOUT_PERCENT": "50"}
    assert cli("db", "upgrade", cwd=tmp_path, env=env).returncode == 0
    lines = ["id,email"] + [f"h{n},h{n}@example.com" for n in range(40)]
    (tmp_path / "many.csv").write_text("\n".join(lines) + "\n")
    bought = ["id,customer_id,placed_at,amount"] + [
        f"o{n},h{n},2026-01-20T10:00:00Z,10.00" for n in range(40)
    ]
    (tmp_path / "bought.csv").write_text("\n".join(bought) + "\n")
    assert cli("import", "customers", "many.csv", cwd=tmp_path, env=env).returncode == 0
    assert cli("import", "orders", "bought.csv", cwd=tmp_path, env=env).returncode == 0

    dry = cli("run", "--dry-run", "--json", "--now", NOW, cwd=tmp_path, env=env)
    arms = {d["customer"]: d["arm"] for d in map(json.loads, dry.stdout.splitlines())}
    assert set(arms.values()) == {"treatment", "control"}
    table = cli("run", "--dry-run", "--now", NOW, cwd=tmp_path, env={**env, "COLUMNS": "120"})
    assert "held back for the control group" in table.stdout

    capture = CaptureHandler()
    with smtp_server(capture) as port:
        cli("run", "--now", NOW, cwd=tmp_path, env={**env, "REACTIVATOR_SMTP__PORT": str(port)})
    treated = sorted(f"{k}@example.com" for k, arm in arms.items() if arm == "treatment")
    assert sorted(capture.recipients()) == treated  # the dry run said who, the run did just that

    control = next(k for k, arm in arms.items() if arm == "control")
    shown = cli("customer", control, "--now", NOW, cwd=tmp_path, env=env)
    assert "control group: letters held back" in shown.stdout
    report = json.loads(
        cli("report", "--json", "--now", "2026-09-01T00:00:00Z", cwd=tmp_path, env=env).stdout
    )
    overall = report["holdout"]["overall"]
    assert overall["treatment"]["enrolled"] == len(treated)
    assert overall["control"]["enrolled"] == 40 - len(treated)
    assert report["holdout"]["percent"] == 50


def test_a_shops_exports_import_as_they_come_and_a_customer_can_be_exported(tmp_path: Path) -> None:
    shops = Path(__file__).resolve().parent / "fixtures" / "shops"
    env = {"REACTIVATOR_DATABASE__URL": f"sqlite:///{tmp_path / 'shop.db'}"}
    assert cli("db", "upgrade", cwd=tmp_path, env=env).returncode == 0
    for kind, name in (
        ("customers", "shopify_customers.csv"),
        ("orders", "shopify_orders.csv"),
        ("products", "shopify_products.csv"),
    ):
        shutil.copy(shops / name, tmp_path / name)
        done = cli("import", kind, name, "--json", cwd=tmp_path, env=env)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["format"] == "shopify"
    exported = json.loads(cli("export", "ann@example.com", cwd=tmp_path, env=env).stdout)
    assert exported["customer"]["external_id"] == "7001234567890"
    assert {o["external_id"] for o in exported["orders"]} == {"5555001", "5555004", "5555005"}
    codes = cli("coupons", "export", cwd=tmp_path, env=env)
    assert codes.stdout.splitlines()[0] == "code,discount_type,value,usage_limit,ends_at,step"
    missing = cli("export", "nobody@example.com", cwd=tmp_path, env=env)
    assert missing.returncode != 0
    assert "no customer" in missing.stderr


def test_run_and_the_daemon_refuse_a_real_relay_with_links_to_this_machine(
    tmp_path: Path, shop: dict[str, str]
) -> None:
    assert cli("db", "upgrade", cwd=tmp_path, env=shop).returncode == 0
    assert cli("import", "customers", "customers.csv", cwd=tmp_path, env=shop).returncode == 0
    assert cli("import", "orders", "orders.csv", cwd=tmp_path, env=shop).returncode == 0
    relay = {**shop, "REACTIVATOR_SMTP__HOST": "smtp.relay.example.net"}
    for command in (("run", "--now", NOW), ("daemon",)):
        result = cli(*command, cwd=tmp_path, env=relay)
        assert result.returncode != 0, command
        assert "web.base_url = 'http://127.0.0.1:8025'" in result.stderr
        assert "real relay smtp.relay.example.net" in result.stderr
    # Nothing was queued for letters that could not go.
    assert "due 0, in flight 0, scheduled 0," in cli("status", cwd=tmp_path, env=shop).stdout
    public = {**relay, "REACTIVATOR_WEB__BASE_URL": "https://mail.shop.example.com"}
    assert "base_url" not in cli("run", "--dry-run", "--now", NOW, cwd=tmp_path, env=public).stderr


def test_small_things_a_newcomer_meets(tmp_path: Path) -> None:
    # A command on a database that does not exist says so and leaves no empty file behind.
    missing = {"REACTIVATOR_DATABASE__URL": f"sqlite:///{tmp_path / 'typo.db'}"}
    result = cli("segments", cwd=tmp_path, env=missing)
    assert result.returncode != 0
    assert "db upgrade" in result.stderr
    assert not (tmp_path / "typo.db").exists()
    # Flags show no value to give.
    shown = cli("preview", "--help", cwd=tmp_path, env={"COLUMNS": "100"})
    assert "--open" in shown.stdout
    assert "<bool>" not in shown.stdout
    # Ctrl+C early, while the command line loads or works: no traceback.
    for delay in (0.05, 0.3):
        process = subprocess.Popen(
            [sys.executable, "-m", "reactivator", "segments"],
            cwd=tmp_path,
            env=clean_env(missing),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        time.sleep(delay)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
        assert b"Traceback" not in err, err


def test_the_daemon_lock_file_goes_when_the_daemon_stops(tmp_path: Path) -> None:
    from reactivator.db.daemon_lock import DaemonLock
    from reactivator.errors import AlreadyRunningError

    first = DaemonLock(str(tmp_path / "shop.db"), "pid 1")
    first.acquire()
    with pytest.raises(AlreadyRunningError, match="pid 1"):
        DaemonLock(str(tmp_path / "shop.db"), "pid 2").acquire()
    first.release()
    assert not (tmp_path / "shop.db.daemon.lock").exists()
    second = DaemonLock(str(tmp_path / "shop.db"), "pid 2")
    second.acquire()  # and the next one takes it
    second.release()
