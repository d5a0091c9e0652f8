"""Commands for the people who write the letters: check the templates, preview a letter."""

from __future__ import annotations

import sys
import tempfile
import webbrowser
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from reactivator.cli import views
from reactivator.cli.common import NowOption, app_from_state, guard, parse_now, settings_from_state
from reactivator.errors import TemplateError

if TYPE_CHECKING:
    from reactivator.render.check import CheckResult

templates_cli = typer.Typer(
    help="The letter templates marketers edit (templates/emails/).", no_args_is_help=True
)


class PreviewFormat(StrEnum):
    html = "html"
    text = "text"
    eml = "eml"


def show_check(result: CheckResult) -> None:
    steps = list(dict.fromkeys(step for _, step in result.checked))
    locales = sorted({loc for loc, _ in result.checked})
    table = Table(title="Letters checked", title_justify="left")
    table.add_column("step")
    for locale in locales:
        table.add_column(locale)
    for step in steps:
        cells = []
        for locale in locales:
            errors = result.errors_for(locale, step)
            cells.append(f"[red]{_count(len(errors), 'error')}[/]" if errors else "[green]ok[/]")
        table.add_row(step, *cells)
    views.out.print(table)
    for problem in result.problems:
        colour = "red" if problem.level == "error" else "yellow"
        views.out.print(f"[{colour}]{escape(str(problem))}[/]", highlight=False, soft_wrap=True)
    n_errors = len(result.errors)
    warnings = sum(p.level == "warning" for p in result.problems)
    notes = len(result.problems) - n_errors - warnings
    summary = ", ".join(
        [_count(len(result.checked), "letter"), _count(n_errors, "error")]
        + ([_count(warnings, "warning")] if warnings else [])
        + [_count(notes, "note")]
    )
    views.out.print(f"[bold {'red' if n_errors else 'green'}]{summary}[/]")


@templates_cli.command("check")
def templates_check(now: NowOption = None) -> None:
    """Compile and render every letter in every language with sample customers; exit 1 on errors."""

    def body() -> None:
        from reactivator.service.letters import letters_of, throwaway_tokens

        _, result = letters_of(settings_from_state(), parse_now(now), throwaway_tokens())  # no database
        show_check(result)
        if not result.ok:
            raise typer.Exit(1)

    guard(body)


def preview(
    customer: Annotated[
        str | None, typer.Argument(help="Customer id or email (not needed with --serve).")
    ] = None,
    step: Annotated[
        str | None, typer.Option("--step", help="Preview this step instead of the due one.")
    ] = None,
    now: NowOption = None,
    fmt: Annotated[PreviewFormat, typer.Option("--format", help="What to print.")] = PreviewFormat.html,
    out: Annotated[Path | None, typer.Option("--out", help="Write to this file instead of stdout.")] = None,
    open_it: Annotated[bool, typer.Option("--open", help="Open the result in a browser.")] = False,
    serve: Annotated[
        bool, typer.Option("--serve", help="Serve the console, open at its letters, on 127.0.0.1.")
    ] = False,
    port: Annotated[int, typer.Option("--port", help="Port of the preview page.")] = 8026,
) -> None:
    """Render exactly the letter a customer would get, send nothing; or serve the preview page."""

    def body() -> None:
        app = app_from_state()
        if serve:
            from reactivator.web.console import serve_console

            serve_console(app, port=port, path="/letters")
            return
        if customer is None:
            raise typer.BadParameter("give a customer id or email, or --serve")
        from reactivator.render.check import check_letter
        from reactivator.service.letters import one_letter_composer
        from reactivator.service.preview import preview_customer

        at = parse_now(now)
        composer = one_letter_composer(app, at)
        shown = preview_customer(app, composer, customer, at, step)
        result = check_letter(composer, at, shown.composed.locale, shown.step_key)
        blocking = [str(p) for p in result.errors_for(shown.composed.locale, shown.step_key)]
        if blocking:
            raise TemplateError(blocking, str(app.settings.templates.dir))
        content: bytes
        if fmt is PreviewFormat.html:
            content = shown.composed.html.encode()
        elif fmt is PreviewFormat.text:
            content = shown.composed.text.encode()
        else:
            content = shown.composed.message.as_bytes()
        views.err.print(f"[dim]{escape(shown.source)}; subject: {escape(shown.composed.subject)}[/]")
        for product in shown.composed.context.get("products", []):
            views.err.print(f"[dim]  product: {escape(product['name'])} ({escape(product['why'])})[/]")
        target = out
        if target is None and open_it:
            suffix = {"html": ".html", "text": ".txt", "eml": ".eml"}[fmt.value]
            with tempfile.NamedTemporaryFile(suffix=suffix, prefix="reactivator-preview-", delete=False) as f:
                target = Path(f.name)
        if target is not None:
            if fmt is PreviewFormat.html:  # the demo shop's pictures drawn beside the file
                from reactivator.config.demo_images import write_local

                local = write_local(content.decode(), target.parent, f"{target.stem}-images")
                content = local.encode()
            target.write_bytes(content)
            views.err.print(f"written to {escape(str(target))}")
            if open_it:
                webbrowser.open(target.resolve().as_uri())
        else:
            sys.stdout.buffer.write(content)
            sys.stdout.flush()

    guard(body)


def _count(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"
