"""The `younger-graph` command: one small function per command over the library API."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from younger_graph import __version__

app = typer.Typer(
    name="younger-graph",
    help="Turn neural-network models into a queryable graph database of their architectures.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)
STATE: dict[str, Any] = {"debug": False}

Format = Annotated[str, typer.Option("--format", "-f", help="table | json | csv | parquet")]
OutFile = Annotated[Path | None, typer.Option("--out", "-o", help="Write the result to this file.")]


def write_frame(*args: Any, **kwargs: Any) -> None:
    """younger_graph.output.write_frame, imported on use: pandas costs 0.4 s at start-up."""
    from younger_graph.output import write_frame as _write_frame

    _write_frame(*args, **kwargs)


def _frame(*args: Any, **kwargs: Any) -> Any:
    import pandas as pd

    return pd.DataFrame(*args, **kwargs)


class CLIError(Exception):
    """An expected failure: printed as one line, exit code 2 unless given."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


def _version(value: bool) -> None:
    if value:
        typer.echo(f"younger-graph {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    STATE["debug"] = debug


def progress_bar() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TimeRemainingColumn(), console=console, transient=False, disable=not console.is_terminal,
    )


# -- extract ------------------------------------------------------------------------------------
@app.command()
def extract(
    sources: Annotated[list[str], typer.Argument(help=".onnx files, directories, zoo refs (torchvision:resnet18).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the four Parquet tables.")],
    meta: Annotated[Path | None, typer.Option("--meta", help="CSV or JSON sidecar with per-model metadata.")] = None,
    workers: Annotated[int, typer.Option("--workers", "-j", help="Worker processes (default: all cores).")] = 0,
    strict: Annotated[bool, typer.Option("--strict", help="Stop at the first model that fails.")] = False,
    infer_shapes: Annotated[bool, typer.Option("--infer-shapes", help="Run ONNX shape inference first.")] = False,
    errors_format: Annotated[str, typer.Option("--format", "-f", help="Summary as table | json.")] = "table",
) -> None:
    """Extract operator DAGs from models into models/graphs/operators/edges.parquet under --out."""
    summary = _extract_with_progress(sources, out, workers, meta, strict=strict, infer_shapes=infer_shapes)
    if errors_format == "json":
        typer.echo(json.dumps({"ok": summary.ok, "failed": summary.failed, "duplicates": summary.duplicates,
                               "skipped": summary.skipped, "new_graphs": summary.new_graphs,
                               "errors": [{"source": s, "error": e} for s, e in summary.errors],
                               "tables": summary.counts}, indent=2))
    else:
        _print_extract(summary, out)
    if summary.failed:
        raise typer.Exit(1)


def _extract_with_progress(sources: list[str], out: Path, workers: int, meta: Path | None, *,
                           strict: bool = False, infer_shapes: bool = False) -> Any:
    """younger_graph.extract.extract behind a progress bar (the work of `extract` and `ingest`)."""
    from younger_graph.extract import StrictError
    from younger_graph.extract import extract as run_extract

    with progress_bar() as progress:
        task = progress.add_task("extracting", total=None)
        try:
            return run_extract(sources, out, workers=workers or None, meta=meta, strict=strict,
                               infer_shapes=infer_shapes,
                               on_progress=lambda done, total, _r: progress.update(task, completed=done, total=total))
        except StrictError as exc:
            raise CLIError(f"stopped (--strict): {exc}", code=1) from None


def _print_extract(summary: Any, out: Path) -> None:
    for source, error in summary.errors[:20]:
        console.print(f"[red]error[/red] {source}: {error}", highlight=False)
    if len(summary.errors) > 20:
        console.print(f"… and {len(summary.errors) - 20} more errors (see models.parquet, status=error)")
    typer.echo(f"{summary.line()} → {out}")


# -- inspect / hash -----------------------------------------------------------------------------
@app.command()
def inspect(
    model: Annotated[str, typer.Argument(help="An .onnx file, zoo ref or Younger instance folder.")],
    fmt: Format = "table",
    infer_shapes: Annotated[bool, typer.Option("--infer-shapes", help="Run ONNX shape inference first.")] = False,
) -> None:
    """Print a model's DAG summary: operators by type, edges, subgraphs, hash."""
    from younger_graph.inspect import summarize

    summary = summarize(model, infer_shapes)
    if fmt == "json":
        typer.echo(json.dumps(summary.as_dict(), indent=2, ensure_ascii=False))
        return
    if fmt in ("csv", "parquet"):
        write_frame(_frame(summary.op_types, columns=["op_type", "count"]), fmt)
        return
    out = Console()
    out.print(f"[bold]{model}[/bold]")
    out.print(f"graph_id        {summary.graph_id}\ngraph_id_noattr {summary.graph_id_noattr}")
    for k, v in {**summary.counts, **summary.header}.items():
        out.print(f"{k:<16}{v}", highlight=False)
    write_frame(_frame(summary.op_types, columns=["op_type", "count"]), "table", console=out,
                title="operators by type")
    if summary.scopes:
        write_frame(_frame(summary.scopes, columns=["scope", "nodes"]), "table", console=out,
                    title="subgraph scopes")


@app.command("hash")
def hash_(
    models: Annotated[list[str], typer.Argument(help="Models to hash.")],
    noattr: Annotated[bool, typer.Option("--noattr", help="Hash ignoring attributes.")] = False,
) -> None:
    """Print `<graph_id>  <model>` per model, like sha256sum."""
    from younger_graph.inspect import ModelError, hash_model

    failed = 0
    for model in models:
        try:
            typer.echo(f"{hash_model(model, noattr)}  {model}")
        except ModelError as exc:
            console.print(f"[red]error[/red] {exc}", highlight=False)
            failed += 1
    if failed:
        raise typer.Exit(1)


# -- store options ------------------------------------------------------------------------------
DbOption = Annotated[str | None, typer.Option("--db", envvar="YOUNGER_GRAPH_DB",
                                             help="Embedded database path, or bolt:// / neo4j:// URI.")]
UserOption = Annotated[str | None, typer.Option("--username", envvar="NEO4J_USERNAME", help="Neo4j user.")]
PasswordOption = Annotated[str | None, typer.Option("--password", envvar="NEO4J_PASSWORD", help="Neo4j password.")]


def _open(db: str | None, write: bool, username: str | None = None, password: str | None = None) -> Any:
    from younger_graph.store import open_store

    return open_store(db, write=write, username=username, password=password)


AttrPropsOption = Annotated[bool, typer.Option(
    "--attr-properties/--no-attr-properties",
    help="Also store each ONNX attribute as a typed attr_<name> property (filterable in Cypher); "
         "without, attributes stay in the attrs JSON and embedded loads run about twice as fast.")]


def _load_into(store: Any, folder: Path, attr_properties: bool = True) -> Any:
    with progress_bar() as progress:
        tasks: dict[str, Any] = {}

        def on_progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(f"loading {stage}", total=total)
            progress.update(tasks[stage], completed=done, total=total)

        return store.load(folder, on_progress=on_progress, attr_properties=attr_properties)


def _print_load(summary: Any, fmt: str) -> None:
    if fmt == "json":
        typer.echo(json.dumps(summary.as_dict(), indent=2))
    else:
        typer.echo(summary.line())


@app.command()
def load(
    folder: Annotated[Path, typer.Argument(help="Extraction folder (models/graphs/operators/edges.parquet).")],
    db: DbOption = None,
    username: UserOption = None,
    password: PasswordOption = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="Summary as table | json.")] = "table",
    attr_properties: AttrPropsOption = True,
) -> None:
    """Load extraction tables into the store (idempotent; re-run to resume)."""
    with _open(db, True, username, password) as store:
        _print_load(_load_into(store, folder, attr_properties), fmt)


@app.command()
def ingest(
    sources: Annotated[list[str], typer.Argument(help=".onnx files, directories, zoo refs.")],
    db: DbOption = None,
    tables: Annotated[Path | None, typer.Option("--tables", help="Where to keep the Parquet tables "
                                                 "(default: <db>.tables beside an embedded db).")] = None,
    meta: Annotated[Path | None, typer.Option("--meta", help="CSV or JSON sidecar with per-model metadata.")] = None,
    workers: Annotated[int, typer.Option("--workers", "-j", help="Worker processes (default: all cores).")] = 0,
    username: UserOption = None,
    password: PasswordOption = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="Summary as table | json.")] = "table",
    attr_properties: AttrPropsOption = True,
) -> None:
    """Extract models and load them into the store in one step."""
    from younger_graph.store import is_neo4j, resolve_db

    target = resolve_db(db)
    folder = tables or Path("younger-graph.tables" if is_neo4j(target) else f"{target}.tables")
    summary = _extract_with_progress(sources, folder, workers, meta)
    _print_extract(summary, folder)
    with _open(target, True, username, password) as store:
        _print_load(_load_into(store, folder, attr_properties), fmt)
    if summary.failed:
        raise typer.Exit(1)


# -- queries ------------------------------------------------------------------------------------
def _parse_params(pairs: list[str]) -> dict[str, str]:
    params = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise CLIError(f"--param expects key=value, got {pair!r}")
        params[key.strip()] = value
    return params


@app.command()
def query(
    spec: Annotated[str, typer.Argument(help="Library query name, a .cypher file, or Cypher text.")],
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help="Parameter key=value (repeatable).")] = None,
    fmt: Format = "table",
    out: OutFile = None,
    db: DbOption = None,
    write: Annotated[bool, typer.Option("--write", help="Allow the query to modify the store.")] = False,
    username: UserOption = None,
    password: PasswordOption = None,
) -> None:
    """Run a named library query, a .cypher file or Cypher text (read-only unless --write)."""
    from younger_graph.query import looks_like_write, resolve

    q = resolve(spec)
    params = q.bind(_parse_params(param or []))
    writes = write or q.writes
    if q.writes and not write:
        raise CLIError(f"query {q.name} modifies the store; pass --write to run it")
    with _open(db, writes, username, password) as store:
        try:
            df = store.run(q.text_for(store.backend), params, write=writes)
        except Exception as exc:
            if not writes and looks_like_write(q.text) and "read" in str(exc).lower():
                raise CLIError(f"{_one_line(exc)} (the store is read-only unless --write)") from None
            raise
    write_frame(df, fmt, out, console=Console(), title=q.name if q.description else None)


@app.command()
def queries(fmt: Format = "table") -> None:
    """List the query library (cypher/*.cypher): name, parameters, description."""
    from younger_graph.query import library

    rows = [{
        "name": q.name,
        "mode": "write" if q.writes else "read",
        "params": ", ".join(f"{p.name}: {p.type}" + ("" if p.required else f" = {p.default!r}") for p in q.params),
        "description": q.description,
    } for q in library()]
    write_frame(_frame(rows), fmt, console=Console(), title="query library")


# -- demo ---------------------------------------------------------------------------------------
@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the demo's tables, store and results.")] = Path(
        "demo-output"
    ),
    sample: Annotated[Path | None, typer.Option("--sample", help="Model folder (default: the shipped sample).")] = None,
    workers: Annotated[int, typer.Option("--workers", "-j", help="Worker processes (default: all cores).")] = 0,
) -> None:
    """Extract the shipped sample, load it into an embedded store, run a few library queries and write
    the stats report (demo-output/report.html)."""
    from younger_graph.demo import run_demo

    run_demo(out, sample, workers or None, Console())


# Commands that live beside their concern (stats, communities, export...) register themselves here:
# each module defines `register(app)`. Listed explicitly so a broken module fails loudly.
COMMAND_MODULES: tuple[str, ...] = (
    "younger_graph.stats.command",
    "younger_graph.communities_command",
    "younger_graph.patterns",
    "younger_graph.export.command",
)


def _register_command_modules() -> None:
    import importlib

    for name in COMMAND_MODULES:
        importlib.import_module(name).register(app)


_register_command_modules()


def main() -> None:
    """Entry point: expected errors are one line on stderr and a non-zero exit, unless --debug."""
    try:
        # standalone_mode=False hands back typer.Exit codes instead of raising them.
        code = app(standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (KeyboardInterrupt, BrokenPipeError):
        sys.exit(130)
    except Exception as exc:
        if STATE["debug"] or os.environ.get("YOUNGER_GRAPH_DEBUG"):
            raise
        code = exc.code if isinstance(exc, CLIError) else 2
        message = _one_line(exc)
        console.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
        sys.exit(code)


def _one_line(exc: BaseException) -> str:
    import click

    if isinstance(exc, click.exceptions.ClickException):
        return exc.format_message()
    from younger_graph.errors import first_line

    return first_line(exc)


if __name__ == "__main__":
    main()
