"""Options shared by several commands, defined once, and the helpers that interpret them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from younger_graph.errors import UsageError

DbOption = Annotated[str | None, typer.Option("--db", envvar="YOUNGER_GRAPH_DB",
                                             help="Embedded database path, or bolt:// / neo4j:// URI.")]
UserOption = Annotated[str | None, typer.Option("--username", envvar="NEO4J_USERNAME", help="Neo4j user.")]
PasswordOption = Annotated[str | None, typer.Option("--password", envvar="NEO4J_PASSWORD", help="Neo4j password.")]
FrameFormat = Annotated[str, typer.Option("--format", "-f", help="table | json | csv | parquet")]
SummaryFormat = Annotated[str, typer.Option("--format", "-f", help="Summary as table | json.")]
OutFile = Annotated[Path | None, typer.Option("--out", "-o", help="Write the result to this file.")]
ParamOption = Annotated[list[str] | None, typer.Option("--param", "-p", help="Parameter key=value (repeatable).")]
MetaOption = Annotated[Path | None, typer.Option("--meta", help="CSV or JSON sidecar with per-model metadata.")]
WorkersOption = Annotated[int, typer.Option("--workers", "-j", help="Worker processes (default: all cores).")]
ExecutorOption = Annotated[str, typer.Option(
    "--executor", help="local (processes on this machine) | ray (tasks on a Ray cluster; pip install "
                       "'younger-graph[ray]').")]
AddressOption = Annotated[str | None, typer.Option(
    "--address", help="With --executor ray: the cluster (auto, host:port or ray://host:port); default: "
                      "$RAY_ADDRESS, else a local Ray runtime started for the run.")]
WhereGraphsOption = Annotated[str | None, typer.Option(
    "--where", help="Cypher condition on g (the Graph) selecting graphs, e.g. 'g.num_operators < 5000'.")]
AttrPropsOption = Annotated[bool, typer.Option(
    "--attr-properties/--no-attr-properties",
    help="Also store each ONNX attribute as a typed attr_<name> property (filterable in Cypher); "
         "without, attributes stay in the attrs JSON and embedded loads run about twice as fast.")]

ViewOption = Annotated[str, typer.Option(
    "--view", help="exact (the graphs as extracted) | arch (their architecture view: Identity, constants, shape "
                   "plumbing and exporter decompositions normalised away).")]

SUMMARY_FORMATS = ("table", "json")


def parse_params(pairs: list[str] | None) -> dict[str, str]:
    """`key=value` strings → a dict (values stay text; each query converts them to its declared types)."""
    params = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--param expects key=value, got {pair!r}")
        params[key.strip()] = value
    return params


def check_choice(option: str, value: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise UsageError(f"{option} must be one of {', '.join(choices)}, not {value!r}")
    return value


def open_store(db: str | None, write: bool, username: str | None = None, password: str | None = None) -> Any:
    from younger_graph.store import open_store as open_

    return open_(db, write=write, username=username, password=password)
