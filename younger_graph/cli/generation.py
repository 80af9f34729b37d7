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

ViewOption = Annotated[str, typer.Option("--view", help="exact (every attribute, the graph_id view); arch is "
                                                        "refused: the architecture view is not a runnable model.")]


@app.command("to-onnx")
def to_onnx(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for <graph_id>.onnx (+ .weights) and "
                                                           "to-onnx.json.")],
    graph_ids: Annotated[list[str] | None, typer.Argument(help="Graphs to rebuild (default: every graph).",
                                                          show_default=False)] = None,
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


@app.command("check-generated")
def check_generated(
    samples: Annotated[Path, typer.Argument(help="A dense.npz (layout of export dense, vocab.json beside it) or a "
                                                 "folder of .onnx / .json edge-list samples.", show_default=False)],
    db: DbOption = None,
    reference: Annotated[str, typer.Option("--reference", help="all: every store graph of at most N nodes | train: "
                                           "the training split of splits.json (beside the samples or --splits).")]
    = "all",
    splits: Annotated[Path | None, typer.Option("--splits", help="The splits.json naming the training graphs "
                                                "(--reference train).")] = None,
    details: Annotated[bool, typer.Option("--details", help="Add per-sample validity, reasons and view hashes.")]
    = False,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the MMD subsamples and reference halves.")] = 1234,
    max_graphs: Annotated[int, typer.Option("--max-graphs", help="Graphs per side in MMD, at most (a seeded "
                                            "subsample).")] = 1000,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Also write the JSON document to this file.")]
    = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table | json")] = "table",
    username: UserOption = None,
    password: PasswordOption = None,
) -> None:
    """Validity, uniqueness, novelty and MMD (degree, clustering, spectral, operator types, depth/width) of
    generated architectures against the store's graphs."""
    import younger_graph as yg
    from younger_graph.generation.check import dumps, render_table

    check_choice("--format", fmt, SUMMARY_FORMATS)
    with open_store(db, False, username, password) as store, stage_progress() as on_progress:
        doc = yg.check_generated(store, samples, reference=reference, splits=splits, details=details, seed=seed,
                                 max_graphs=max_graphs, on_progress=on_progress)
    if out is not None:
        from younger_graph import atomic

        atomic.write_text(out, dumps(doc))
    if fmt == "json":
        write_stdout(dumps(doc))
        return
    from rich.table import Table

    table = Table(show_header=False, box=None)
    for name, value in render_table(doc):
        table.add_row(name, value)
    console.print(table)
    if details:
        for entry in doc["details"]:
            if not entry["valid"]:
                console.print(f"{entry['sample']}: " + "; ".join(entry["reasons"]), highlight=False, markup=False)


mirrors("check-generated", "yg.check_generated")
