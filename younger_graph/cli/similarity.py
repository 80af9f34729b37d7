"""`similar`, `diff`, `embed`: which stored architectures a model is closest to, and how two differ."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from younger_graph.cli.app import app, mirrors
from younger_graph.cli.options import (
    SUMMARY_FORMATS,
    DbOption,
    FrameFormat,
    OutFile,
    PasswordOption,
    SummaryFormat,
    UserOption,
    check_choice,
    open_store,
)
from younger_graph.cli.render import console, print_rich, stage_progress, write_frame, write_stdout, write_text
from younger_graph.errors import UsageError

SimilarViewOption = Annotated[str, typer.Option(
    "--view", help="arch (the architecture view: exporter plumbing normalised away; the default) | exact.")]
DIFF_FORMATS = ("table", "json")


@app.command("similar")
def similar(
    queries: Annotated[list[str], typer.Argument(help="Model files (extracted on the fly, not stored), graph ids "
                                                      "in the store or model names.")],
    db: DbOption = None,
    k: Annotated[int, typer.Option("--k", "-k", help="Neighbours per query.")] = 10,
    view: SimilarViewOption = "arch",
    fmt: FrameFormat = "table",
    out: OutFile = None,
    username: UserOption = None,
    password: PasswordOption = None,
) -> None:
    """The k stored architectures nearest to each query (its own graph excluded): rank, graph_id, score
    (cosine of the embeddings, 0..1, higher is closer), models and tasks."""
    import younger_graph as yg

    if k < 1:
        raise UsageError(f"--k must be at least 1, not {k}")
    with open_store(db, False, username, password) as store:
        df = yg.similar(store, queries, k=k, view=view)
    if fmt == "table":  # for people: the columns that fit a terminal (json/csv/parquet have them all)
        df = df[["query", "rank", "score", "models", "tasks", "graph_id"]]
    write_frame(df, fmt, out, title=f"nearest architectures ({view} view)")


mirrors("similar", "yg.similar")


@app.command("diff")
def diff(
    a: Annotated[str, typer.Argument(help="A model file, a graph id in the store or a model name.")],
    b: Annotated[str, typer.Argument(help="The model to compare with A (same forms).")],
    db: DbOption = None,
    view: SimilarViewOption = "arch",
    fmt: Annotated[str, typer.Option("--format", "-f", help="table (for people) | json (for machines).")] = "table",
    out: OutFile = None,
    username: UserOption = None,
    password: PasswordOption = None,
) -> None:
    """What differs between two models: size, depth and width deltas, op-type counts, operator paths
    found in one only, and an alignment of their operators (substitutions, extra repeated blocks)."""
    import younger_graph as yg
    from younger_graph.arch.similar import is_model_source

    check_choice("--format", fmt, DIFF_FORMATS)
    if is_model_source(a) and is_model_source(b):
        doc = yg.diff(None, a, b, view=view)  # two files need no store
    else:
        with open_store(db, False, username, password) as store:
            doc = yg.diff(store, a, b, view=view)
    if fmt == "json":
        write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", out)
        return
    print_rich(print_diff, doc, out)


mirrors("diff", "yg.diff")


def print_diff(doc: dict[str, Any], target: Console) -> None:
    """The diff document as rich tables."""
    a, b = doc["a"], doc["b"]
    target.print(f"[bold]A[/bold] {a['query']} ({a['graph_id']}{', ' + a['models'] if a['models'] else ''})",
                 highlight=False)
    target.print(f"[bold]B[/bold] {b['query']} ({b['graph_id']}{', ' + b['models'] if b['models'] else ''})",
                 highlight=False)
    align = doc["alignment"]
    target.print(f"{doc['view']} view; embedding similarity {doc['score']}; operators aligned "
                 f"{align.get('ratio')}" + (" (the same graph)" if doc["same_graph"] else ""), highlight=False)
    for line in align.get("notes", []):
        target.print(f"  • {line}", highlight=False, markup=False)
    sizes = Table(title="sizes", title_justify="left")
    for col in ("", "A", "B", "B - A"):
        sizes.add_column(col, justify="left" if not col else "right")
    for name, row in doc["sizes"].items():
        sizes.add_row(name, str(row["a"]), str(row["b"]), f"{row['delta']:+d}")
    target.print(sizes)
    if doc["op_types"]:
        ops = Table(title="operator types that differ", title_justify="left")
        for col in ("op_type", "A", "B", "B - A"):
            ops.add_column(col, justify="left" if col == "op_type" else "right")
        for row in doc["op_types"][:40]:
            ops.add_row(row["op_type"], str(row["a"]), str(row["b"]), f"{row['delta']:+d}")
        target.print(ops)
    for key, title in (("only_a", "paths only in A"), ("only_b", "paths only in B")):
        rows = doc["paths"][key]
        if rows:
            table = Table(title=title, title_justify="left")
            table.add_column("path")
            table.add_column("count", justify="right")
            for row in rows[:20]:
                table.add_row(row["path"], str(row["count"]))
            target.print(table)


@app.command("embed")
def embed(
    db: DbOption = None,
    force: Annotated[bool, typer.Option("--force", help="Recompute every embedding (default: only graphs "
                                        "without one, or with one of an older version).")] = False,
    fmt: SummaryFormat = "table",
    username: UserOption = None,
    password: PasswordOption = None,
) -> None:
    """Give every stored graph its architecture view and embeddings (graphs loaded by an older version
    lack them; new loads compute them), so `similar` can search them."""
    import younger_graph as yg
    from younger_graph.store import is_neo4j, resolve_db

    check_choice("--format", fmt, SUMMARY_FORMATS)
    target = resolve_db(db)
    if not is_neo4j(target) and not Path(target).exists():  # opening for writing would create it
        raise UsageError(f"no database at {target}: load one with `younger-graph load DIR --db {target}`")
    with open_store(target, True, username, password) as store, stage_progress("embed") as cb:
        summary = yg.embed(store, force=force, on_progress=cb)
    if fmt == "json":
        write_stdout(json.dumps(summary.as_dict(), indent=2) + "\n")
        return
    console.print(summary.line(), highlight=False, markup=False)


mirrors("embed", "yg.embed")
