"""`to-onnx`, `check-generated`: the generation round trip (docs/generation.md).

onnx and the generation code are imported inside the commands, so `--help` stays fast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from younger_graph.cli.app import app, mirrors
from younger_graph.cli.options import (
    SUMMARY_FORMATS,
    DbOption,
    PasswordOption,
    SummaryFormat,
    UserOption,
    check_choice,
    open_store,
)
from younger_graph.cli.render import console, stage_progress, write_stdout

ViewOption = Annotated[str, typer.Option("--view", help="exact (every attribute, the graph_id view) | arch (the "
                                                        "architecture view, once the store keeps it).")]


@app.command("to-onnx")
def to_onnx(
    graph_ids: Annotated[list[str] | None, typer.Argument(help="Graphs to rebuild (default: every graph).",
                                                          show_default=False)] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for <graph_id>.onnx (+ .weights) and "
                                                           "to-onnx.json.")] = Path("onnx-out"),
    view: ViewOption = "exact",
    no_check: Annotated[bool, typer.Option("--no-check", help="Skip onnx.checker (the re-hash check always "
                                                              "runs).")] = False,
    db: DbOption = None,
    fmt: SummaryFormat = "table",
    username: UserOption = None,
    password: PasswordOption = None,
) -> None:
    """Rebuild stored graphs as weightless ONNX models: operators with their attributes, exact slots,
    subgraph and function bodies, declared-shape weight placeholders; each file re-hashed and checked."""
    import younger_graph as yg

    check_choice("--format", fmt, SUMMARY_FORMATS)
    with open_store(db, False, username, password) as store, stage_progress() as on_progress:
        summary = yg.export_onnx(store, out, graph_ids or None, view=view, check=not no_check,
                                 on_progress=on_progress)
    if fmt == "json":
        write_stdout(json.dumps(summary.as_dict(), indent=2) + "\n")
        return
    for r in summary.graphs:
        if not r.exact or r.checker not in ("ok", "not run"):
            why = "; ".join(r.problems) or (f"onnx.checker: {r.checker}" if r.exact else "hash differs")
            console.print(f"warning: {r.graph_id}: {why}", highlight=False, markup=False)
    typer.echo(summary.line())


mirrors("to-onnx", "yg.export_onnx")
