"""`load`, `query`, `queries`: tables into the store, and the named Cypher query library."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from younger_graph.cli.app import app, mirrors
from younger_graph.cli.options import (
    SUMMARY_FORMATS,
    AttrPropsOption,
    DbOption,
    FrameFormat,
    OutFile,
    ParamOption,
    PasswordOption,
    SummaryFormat,
    UserOption,
    check_choice,
    open_store,
    parse_params,
)
from younger_graph.cli.render import print_warnings, stage_progress, write_frame, write_stdout
from younger_graph.errors import StoreError, StoreErrorKind, UsageError


@app.command()
def load(
    folder: Annotated[Path, typer.Argument(help="Extraction folder (models/graphs/operators/edges.parquet).")],
    db: DbOption = None,
    username: UserOption = None,
    password: PasswordOption = None,
    fmt: SummaryFormat = "table",
    attr_properties: AttrPropsOption = True,
) -> None:
    """Load extraction tables into the store (idempotent; re-run to resume)."""
    check_choice("--format", fmt, SUMMARY_FORMATS)
    with open_store(db, True, username, password) as store, stage_progress() as on_progress:
        summary = store.load(folder, on_progress=lambda stage, done, total: on_progress(f"loading {stage}", done,
                                                                                        total),
                             attr_properties=attr_properties)
    print_warnings(summary.warnings)
    if fmt == "json":
        write_stdout(json.dumps(summary.as_dict(), indent=2) + "\n")
    else:
        typer.echo(summary.line())
    if summary.rejected_graphs:  # like models that fail to extract: reported, the rest loaded, exit 1
        raise typer.Exit(1)


mirrors("load", "Store.load")


@app.command()
def query(
    spec: Annotated[str, typer.Argument(help="Library query name, a .cypher file, or Cypher text.")],
    param: ParamOption = None,
    fmt: FrameFormat = "table",
    out: OutFile = None,
    db: DbOption = None,
    write: Annotated[bool, typer.Option("--write", help="Allow the query to modify the store.")] = False,
    username: UserOption = None,
    password: PasswordOption = None,
) -> None:
    """Run a named library query, a .cypher file or Cypher text (read-only unless --write)."""
    from younger_graph.query import resolve

    q = resolve(spec)
    params = parse_params(param)
    if q.writes and not write:
        raise UsageError(f"query {q.name} modifies the store; pass --write to run it")
    with open_store(db, write, username, password) as store:
        try:
            df = store.query(spec, params, write=write)
        except StoreError as exc:
            if exc.kind is StoreErrorKind.READ_ONLY and not write:
                raise StoreError(f"{exc} (the store is read-only unless --write)", exc.kind) from None
            raise
    write_frame(df, fmt, out, title=q.name if q.description else None)


mirrors("query", "Store.query")


@app.command()
def queries(fmt: FrameFormat = "table") -> None:
    """List the query library (cypher/*.cypher): name, parameters, description."""
    import pandas as pd

    import younger_graph as yg

    rows = [{
        "name": q.name,
        "mode": "write" if q.writes else "read",
        "params": ", ".join(f"{p.name}: {p.type}" + ("" if p.required else f" = {p.default!r}") for p in q.params),
        "description": q.description,
    } for q in yg.queries()]
    write_frame(pd.DataFrame(rows), fmt, title="query library")


mirrors("queries", "yg.queries")
