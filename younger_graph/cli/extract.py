"""`extract`, `ingest`, `inspect`, `hash`: models → tables (→ store), and one model at a time."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from younger_graph.cli.app import app, mirrors
from younger_graph.cli.options import (
    SUMMARY_FORMATS,
    AddressOption,
    AttrPropsOption,
    DbOption,
    ExecutorOption,
    FrameFormat,
    MetaOption,
    PasswordOption,
    SummaryFormat,
    UserOption,
    WorkersOption,
    check_choice,
)
from younger_graph.cli.render import console, print_warnings, stage_progress, write_frame, write_stdout
from younger_graph.errors import StrictError, UsageError
from younger_graph.loaders.results import display_path

Sources = Annotated[list[str], typer.Argument(help=".onnx files, directories, zoo refs (torchvision:resnet18), "
                                                    "Younger instance folders.")]
InferShapesOption = Annotated[bool, typer.Option("--infer-shapes", help="Run ONNX shape inference first.")]
ERRORS_SHOWN = 20


@app.command()
def extract(
    sources: Sources,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the four Parquet tables.")],
    meta: MetaOption = None,
    workers: WorkersOption = 0,
    strict: Annotated[bool, typer.Option("--strict", help="Stop at the first model that fails.")] = False,
    infer_shapes: InferShapesOption = False,
    executor: ExecutorOption = "local",
    address: AddressOption = None,
    fmt: SummaryFormat = "table",
) -> None:
    """Extract operator DAGs from models into models/graphs/operators/edges.parquet under --out."""
    import younger_graph as yg

    check_choice("--format", fmt, SUMMARY_FORMATS)
    with stage_progress("extracting") as on_progress:
        try:
            summary = yg.extract(sources, out, workers=workers or None, meta=meta, strict=strict,
                                 infer_shapes=infer_shapes, executor=executor, address=address,
                                 on_progress=lambda done, total, _r: on_progress(done, total))
        except StrictError as exc:
            raise StrictError(f"stopped (--strict): {exc}") from None
    if fmt == "json":
        write_stdout(json.dumps(summary.as_dict(), indent=2) + "\n")
    else:
        print_extract(summary, out)
    if summary.failed:
        raise typer.Exit(1)


mirrors("extract", "yg.extract")


def print_extract(summary: Any, out: Path) -> None:
    for source, error in summary.errors[:ERRORS_SHOWN]:
        console.print(f"[red]error[/red] {escape(source)}: {escape(error)}", highlight=False, soft_wrap=True)
    if len(summary.errors) > ERRORS_SHOWN:
        console.print(f"… and {len(summary.errors) - ERRORS_SHOWN} more errors (see models.parquet, status=error)")
    typer.echo(f"{summary.line()} → {out}")


@app.command()
def ingest(
    sources: Sources,
    db: DbOption = None,
    tables: Annotated[Path | None, typer.Option("--tables", help="Where to keep the Parquet tables "
                                                 "(default: <db>.tables beside an embedded db).")] = None,
    meta: MetaOption = None,
    workers: WorkersOption = 0,
    username: UserOption = None,
    password: PasswordOption = None,
    fmt: SummaryFormat = "table",
    attr_properties: AttrPropsOption = True,
    executor: ExecutorOption = "local",
    address: AddressOption = None,
) -> None:
    """Extract models and load them into the store in one step."""
    import younger_graph as yg

    check_choice("--format", fmt, SUMMARY_FORMATS)
    with stage_progress("extracting") as on_progress:
        summary = yg.ingest(sources, db, tables=tables, workers=workers or None, meta=meta,
                            attr_properties=attr_properties, username=username, password=password,
                            executor=executor, address=address,
                            on_extract=lambda done, total, _r: on_progress("extracting", done, total),
                            on_load=lambda stage, done, total: on_progress(f"loading {stage}", done, total))
    print_extract(summary.extracted, summary.tables)
    print_warnings(summary.loaded.warnings)
    if fmt == "json":
        write_stdout(json.dumps(summary.loaded.as_dict(), indent=2) + "\n")
    else:
        typer.echo(summary.loaded.line())
    if summary.extracted.failed or summary.loaded.rejected_graphs:
        raise typer.Exit(1)


mirrors("ingest", "yg.ingest")


@app.command()
def inspect(
    model: Annotated[str, typer.Argument(help="An .onnx file, zoo ref or Younger instance folder.")],
    fmt: FrameFormat = "table",
    infer_shapes: InferShapesOption = False,
) -> None:
    """Print a model's DAG summary: operators by type, edges, subgraphs, hash."""
    import pandas as pd

    import younger_graph as yg

    summary = yg.inspect_model(model, infer_shapes)
    if fmt == "json":
        write_stdout(json.dumps(summary.as_dict(), indent=2, ensure_ascii=False) + "\n")
        return
    op_types = pd.DataFrame(summary.op_types, columns=["op_type", "count"])
    if fmt != "table":
        write_frame(op_types, fmt)
        return
    out = Console()
    out.print(f"[bold]{escape(summary.source)}[/bold]", highlight=False, markup=True)
    fields = {"graph_id": summary.graph_id, "graph_id_noattr": summary.graph_id_noattr,
              "graph_id_arch": summary.graph_id_arch, **summary.counts, **summary.header}
    width = max(map(len, fields)) + 2  # every label fits its column, however long
    for k, v in fields.items():
        out.print(f"{k:<{width}}{v}", highlight=False, markup=False)
    out.print(_table(op_types, "operators by type"))
    if summary.scopes:
        out.print(_table(pd.DataFrame(summary.scopes, columns=["scope", "nodes"]), "subgraph scopes"))


def _table(df: Any, title: str) -> Any:
    from younger_graph.cli.render import rich_table

    return rich_table(df, title)


mirrors("inspect", "yg.inspect_model")


@app.command("hash")
def hash_(
    models: Annotated[list[str], typer.Argument(help="Models to hash.")],
    noattr: Annotated[bool, typer.Option("--noattr", help="Hash ignoring attributes.")] = False,
    arch: Annotated[bool, typer.Option("--arch", help="Hash of the architecture view (graph_id_arch: equal for "
                                       "exports that differ only in exporter plumbing).")] = False,
) -> None:
    """Print `<graph_id>  <model>` per model, like sha256sum."""
    import younger_graph as yg
    from younger_graph.errors import ModelError

    if noattr and arch:
        raise UsageError("--noattr and --arch name two different hashes: give one")
    failed = 0
    for model in models:
        try:
            write_stdout(f"{yg.hash_model(model, noattr, arch)}  {display_path(model)}\n")
        except ModelError as exc:
            console.print(f"[red]error[/red] {escape(str(exc))}", highlight=False, markup=True)
            failed += 1
    if failed:
        raise typer.Exit(1)


mirrors("hash", "yg.hash_model")
