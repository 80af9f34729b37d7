"""`younger-graph stats`: corpus statistics of a store as a table, JSON, Markdown or HTML report.

Registered by younger_graph.cli through `register(app)` (COMMAND_MODULES). The command is defined
inside `register` so that importing this module never imports the CLI (the CLI imports it).
"""

# No `from __future__ import annotations`: typer reads these annotations at definition time, inside
# register(), where the CLI's option types are local names.

import sys
from pathlib import Path
from typing import Annotated, Any

import typer


def register(app: typer.Typer) -> None:
    from rich.console import Console

    from younger_graph.cli import (
        CLIError,
        DbOption,
        PasswordOption,
        UserOption,
        _open,
        _parse_params,
        console,
        progress_bar,
    )
    from younger_graph.stats import FORMATS  # the package itself imports nothing heavy

    @app.command()
    def stats(
        db: DbOption = None,
        where: Annotated[str | None, typer.Option(
            "--where", help="Restrict to the graphs a query returns: a library query name, a .cypher file or "
                            "Cypher text with a graph_id column.")] = None,
        param: Annotated[list[str] | None, typer.Option(
            "--param", "-p", help="Parameter key=value of the --where query (repeatable).")] = None,
        task: Annotated[str | None, typer.Option(
            "--task", help="Only models of this task (metadata) and their graphs.")] = None,
        fmt: Annotated[str, typer.Option("--format", "-f", help=" | ".join(FORMATS))] = "table",
        plots: Annotated[Path | None, typer.Option(
            "--plots", help="Write the plots as PNG and SVG into this folder.")] = None,
        report: Annotated[Path | None, typer.Option(
            "--report", help="Write a self-contained HTML report (tables and plots) to this file.")] = None,
        out: Annotated[Path | None, typer.Option("--out", "-o", help="Write the output to this file.")] = None,
        top: Annotated[int, typer.Option("--top", help="Rows in the top op types and co-occurrence lists.")] = 30,
        username: UserOption = None,
        password: PasswordOption = None,
    ) -> None:
        """Corpus statistics: models, sizes, operator types, degrees, structure, co-occurrence."""
        from younger_graph.stats import (
            StatsError,
            compute_stats,
            render_html,
            render_json,
            render_markdown,
            render_table,
        )

        if fmt not in FORMATS:
            raise CLIError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
        if param and not where:
            raise CLIError("--param sets parameters of the --where query; give --where too")
        if top < 1:
            raise CLIError("--top must be at least 1")
        with _open(db, False, username, password) as store, progress_bar() as progress:
            bar = progress.add_task("stats", total=None)

            def on_progress(label: str, done: int, total: int) -> None:
                progress.update(bar, description=f"stats: {label}", completed=done, total=total)

            try:
                doc = compute_stats(store, task=task, where=where, where_params=_parse_params(param or []),
                                    top=top, on_progress=on_progress)
            except StatsError as exc:
                raise CLIError(str(exc)) from None
        svgs = page = None
        if plots is not None:  # matplotlib is imported only when a figure is drawn
            from younger_graph.stats.plots import svg_texts, write_plots

            if report is not None or fmt == "html":
                svgs = svg_texts(doc)  # drawn once for the report and the plot files
            written = write_plots(doc, plots, svgs)
            console.print(f"wrote {len(written)} plot files to {plots}", highlight=False)
        if report is not None or fmt == "html":
            page = render_html(doc, svgs)
        if report is not None:
            _write_text(report, page)
            console.print(f"wrote the report to {report}", highlight=False)
        if fmt == "table":
            if out is None:
                render_table(doc, Console())
            else:
                with out.open("w", encoding="utf-8") as fh:
                    render_table(doc, Console(file=fh, width=160, no_color=True))
            return
        text = page if fmt == "html" else {"json": render_json, "md": render_markdown}[fmt](doc)
        if out is None:
            sys.stdout.write(text)
        else:
            _write_text(out, text)


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> Any:
    """Run the CLI with this command registered even where cli.COMMAND_MODULES does not list it yet."""
    from younger_graph import cli

    if __name__ not in cli.COMMAND_MODULES and "younger_graph.stats.command" not in cli.COMMAND_MODULES:
        register(cli.app)
    if argv is not None:
        sys.argv = [sys.argv[0], *argv]
    return cli.main()


if __name__ == "__main__":
    main()
