"""`match`, `view`: find a block across the corpus, and look at one graph (with its occurrences)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from younger_graph.cli.app import app, mirrors
from younger_graph.cli.options import (
    DbOption,
    FrameFormat,
    OutFile,
    PasswordOption,
    UserOption,
    ViewOption,
    check_choice,
    open_store,
)
from younger_graph.cli.render import FRAME_FORMATS, console, write_frame, write_stdout

PatternArgument = Annotated[str, typer.Argument(
    help="A chain of op types, Conv>BatchNormalization>Relu (domain:Op for a custom domain), or an .onnx file "
         "holding the block (its inputs/outputs are open ends; attributes it sets must be equal).")]


def _note(text: str) -> None:
    console.print(f"note: {text}", highlight=False, markup=False)


@app.command("match")
def match(
    pattern: PatternArgument,
    db: DbOption = None,
    view: ViewOption = "exact",
    limit: Annotated[int | None, typer.Option(
        "--limit", "-n", help="The first N occurrences in (graph_id, scope, nodes) order (default: all); with "
                              "--count the first N graphs.")] = None,
    count: Annotated[bool, typer.Option(
        "--count", help="One row per graph holding the block (graph_id, occurrences, models) instead of one "
                        "per occurrence: no node lists are collected, so it is the fast way to ask how often.")
    ] = False,
    fmt: FrameFormat = "table",
    out: OutFile = None,
    explain: Annotated[bool, typer.Option(
        "--explain", help="Print the generated Cypher and its parameters instead of running it.")] = False,
    username: UserOption = None,
    password: PasswordOption = None,
) -> None:
    """Every occurrence of a block across the corpus: one row per occurrence (graph_id, scope, the operator
    idx of each pattern node in pattern order, model names); the table adds totals. With --view arch an
    .onnx pattern is normalised like the stored architecture view before the search."""
    from younger_graph import dialect
    from younger_graph.match import match_cypher, parse_pattern, totals, view_schema
    from younger_graph.store import is_neo4j, resolve_db

    check_choice("--format", fmt, FRAME_FORMATS)
    view_schema(view)
    parsed = parse_pattern(pattern, view)
    for note in parsed.notes:
        _note(note)
    if explain:
        backend = "neo4j" if is_neo4j(resolve_db(db)) else "embedded"
        text, params = match_cypher(parsed, view, limit=limit, count=count)
        lines = [f"// pattern: {parsed.describe()}", f"// backend: {backend}",
                 *(f"// ${k} = {json.dumps(v)}" for k, v in params.items()), dialect.translate(text, backend)]
        write_stdout("\n".join(lines) + "\n")
        return
    with open_store(db, False, username, password) as store:
        df = store.match(parsed, view=view, limit=limit, count=count)
    for note in df.attrs.get("notes", [])[len(parsed.notes):]:
        _note(note)
    shown = _for_format(df, fmt)
    t = totals(df)
    line = f"{t['occurrences']:,} occurrences in {t['graphs']:,} graphs ({t['models']:,} models) of {parsed.describe()}"
    if limit is not None and (t["graphs"] if count else t["occurrences"]) >= limit:
        line += f"; limited to the first {limit:,} {'graphs' if count else 'occurrences'} (--limit)"
    title = f"{'occurrences per graph' if count else 'occurrences'} of {parsed.describe()}"
    if fmt == "table" and out is None:
        write_frame(shown, fmt, None, title=title)
        typer.echo(line)
        return
    write_frame(shown, fmt, out, title=title)
    if fmt == "table" or out is not None:
        console.print(line, highlight=False, markup=False)


mirrors("match", "Store.match")


def _for_format(df: Any, fmt: str) -> Any:
    """Lists stay lists in json and parquet; csv and tables show them as JSON text."""
    if fmt in ("json", "parquet") or not len(df):
        return df
    out = df.copy()
    if "nodes" in df.columns:
        out["nodes"] = [json.dumps(list(n)) for n in df["nodes"]]
    out["models"] = [json.dumps(list(m), ensure_ascii=False) if fmt == "csv" else ", ".join(m) for m in df["models"]]
    return out


@app.command("view")
def view(
    target: Annotated[str, typer.Argument(help="A graph_id, a model name (or model_id), or a model file in the "
                                               "store.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="The HTML page to write (self-contained, opens "
                                                            "offline).")],
    db: DbOption = None,
    highlight: Annotated[list[str] | None, typer.Option(
        "--highlight", help="A pattern (chain or .onnx block, as for `match`) whose occurrences are marked "
                            "(repeatable).")] = None,
    scope: Annotated[str | None, typer.Option(
        "--scope", help="Draw only this scope (a subgraph body such as 7/then_branch) and what it nests.")] = None,
    username: UserOption = None,
    password: PasswordOption = None,
) -> None:
    """Draw one graph as a self-contained HTML page: operators in topological layers coloured by family,
    collapsible subgraph bodies, pan/zoom, details on click, pattern occurrences highlighted."""
    import younger_graph as yg

    with open_store(db, False, username, password) as store:
        page = yg.view_graph(store, target, highlight=highlight or (), scope=scope)
    page.save(out)
    console.print(f"wrote {out}: {page.summary()}", highlight=False, markup=False)


mirrors("view", "yg.view_graph")
