"""Start-up benchmark: how soon the command line answers, against a bare import of typer and rich.

    .venv/bin/python bench/startup.py [--rounds 9]

Figures, each the median of interleaved rounds (every round runs the reference
and every command once, so a machine that slows down slows them all):
  reference       python -c "import typer, rich.console": what any typer + rich
                  command line pays before it does anything                 (1.00)
  typer floor     `--help` of a one-command typer app with options of the same
                  types (path, flag, number, text): what typer itself adds to
                  print a command's help (its option parsing loads pydantic,
                  its help loads rich's markdown and traceback modules)
  --help          `reactivator --help` and `reactivator <command> --help`  (target <= 3)
  work            `segments --json`, `customer ID` and `templates check` on a
                  small shop, with the libraries each one loaded: a command
                  should load what its own work needs and nothing else
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CLI = str(BIN / "reactivator")

REFERENCE = [sys.executable, "-c", "import typer, rich.console"]
TYPER_FLOOR_APP = """
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(rich_markup_mode="rich")


@app.callback()
def root() -> None:
    \"\"\"A root.\"\"\"


@app.command()
def run(
    path: Annotated[Path, typer.Argument(help="A file.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="A flag.")] = False,
    limit: Annotated[int, typer.Option("--limit", help="A number.")] = 30,
    now: Annotated[str | None, typer.Option("--now", help="A text.")] = None,
) -> None:
    \"\"\"A command.\"\"\"


app()
"""
TYPER_FLOOR = [sys.executable, "-c", TYPER_FLOOR_APP, "run", "--help"]
HELP_COMMANDS = [
    [],
    ["db"],
    ["import", "customers"],
    ["import", "orders"],
    ["templates", "check"],
    ["preview"],
    ["serve"],
    ["daemon"],
    ["status"],
    ["purchase"],
    ["unsubscribe"],
    ["erase"],
    ["customer"],
    ["segments"],
    ["run"],
    ["bounces"],
    ["report"],
    ["demo"],
]
WORK_COMMANDS = [["segments", "--json"], ["customer", "C1"], ["templates", "check"]]
# Libraries a command loads only when its own work needs them.
HEAVY = [
    "sqlalchemy",
    "alembic",
    "jinja2",
    "premailer",
    "lxml",
    "babel",
    "uvicorn",
    "starlette",
    "apscheduler",
    "aiosmtplib",
    "structlog",
    "watchfiles",
]
PROBE = """
import sys
from reactivator.cli.main import cli
try:
    cli(sys.argv[1:])
except SystemExit:
    pass
heavy = {heavy!r}
print(" ".join(m for m in heavy if m in sys.modules) or "-", file=sys.stderr)
"""


def timed(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stderr.decode()}")
    return elapsed


def loaded_libraries(args: list[str], env: dict[str, str]) -> str:
    probe = PROBE.format(heavy=HEAVY)
    done = subprocess.run([sys.executable, "-c", probe, *args], env=env, capture_output=True, text=True)
    return done.stderr.strip().splitlines()[-1]


def small_shop(folder: Path, env: dict[str, str]) -> None:
    """A schema and two customers, enough for the commands to do their real work."""
    customers = folder / "customers.csv"
    customers.write_text("id,email,first_name\nC1,one@example.com,One\nC2,two@example.com,Two\n")
    orders = folder / "orders.csv"
    orders.write_text("id,customer_id,placed_at,amount\nO1,C1,2025-01-05T10:00:00Z,40.00\n")
    steps = (["db", "upgrade"], ["import", "customers", str(customers)], ["import", "orders", str(orders)])
    for argv in steps:
        subprocess.run([CLI, *argv], env=env, capture_output=True, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=9)
    a = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, REACTIVATOR_DATABASE__URL=f"sqlite:///{tmp}/shop.db", COLUMNS="80")
        env.pop("REACTIVATOR_CONFIG", None)
        os.chdir(ROOT)  # the shipped config and templates, as a user in a checkout has them
        small_shop(Path(tmp), env)
        runs: dict[str, list[float]] = {}
        commands = {"reference": REFERENCE, "typer floor: one-command app run --help": TYPER_FLOOR}
        commands |= {" ".join(["reactivator", *c, "--help"]): [CLI, *c, "--help"] for c in HELP_COMMANDS}
        commands |= {" ".join(["reactivator", *c]): [CLI, *c] for c in WORK_COMMANDS}
        for argv in commands.values():  # warm the file cache and the bytecode
            timed(argv, env)
        for n in range(a.rounds):
            print(f"round {n + 1}/{a.rounds}", file=sys.stderr, end="\r")
            for name, argv in commands.items():
                runs.setdefault(name, []).append(timed(argv, env))
        print(file=sys.stderr)
        libraries = {" ".join(["reactivator", *c]): loaded_libraries(c, env) for c in WORK_COMMANDS}
        libraries["reactivator --help"] = loaded_libraries(["--help"], env)

    median = {name: statistics.median(times) for name, times in runs.items()}
    ref = median["reference"]
    print(f"\nreference: {' '.join(REFERENCE[1:])!s}  {ref * 1e3:.0f} ms (median of {a.rounds})\n")
    print(f"{'command':<42} {'median':>8} {'ratio':>6}  target")
    worst = 0.0
    for name, seconds in median.items():
        if name == "reference":
            continue
        ratio = seconds / ref
        if name.startswith("reactivator") and name.endswith("--help"):
            worst = max(worst, ratio)
            target = "<= 3  " + ("met" if ratio <= 3 else "MISSED")
        else:
            target = ""
        print(f"{name:<42} {seconds * 1e3:>6.0f}ms {ratio:>6.2f}  {target}")
    floor = median["typer floor: one-command app run --help"] / ref
    print(f"\nslowest --help: {worst:.2f}x the reference; typer's own floor {floor:.2f}x")
    print("\nlibraries loaded (of: " + ", ".join(HEAVY) + "):")
    for name, found in libraries.items():
        print(f"  {name:<40} {found}")


if __name__ == "__main__":
    main()
