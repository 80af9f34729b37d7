"""`demo`: the quick-start demo on the shipped sample."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from younger_graph.cli.app import app, mirrors
from younger_graph.cli.options import WorkersOption
from younger_graph.cli.render import rich_table


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the demo's tables, store and results.")] = Path(
        "demo-output"),
    sample: Annotated[Path | None, typer.Option("--sample", help="Model folder (default: the shipped sample).")] = None,
    workers: WorkersOption = 0,
) -> None:
    """Extract the shipped sample, load it into an embedded store, run a few library queries and write
    the stats report (demo-output/report.html)."""
    import younger_graph as yg

    screen = Console()

    def show(kind: str, text: str, frame: Any) -> None:
        if kind == "query":
            screen.print(rich_table(frame, f"query {text}"))
        else:
            screen.print(text, highlight=False)

    yg.run_demo(out, sample, workers or None, on_step=show)


mirrors("demo", "yg.run_demo")
