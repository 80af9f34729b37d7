"""The typer application every command module adds its commands to, and the global options."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from younger_graph import __version__

app = typer.Typer(
    name="younger-graph",
    help="Turn neural-network models into a queryable graph database of their architectures.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
STATE: dict[str, Any] = {"debug": False}

# Each command's library counterpart (sqlite-utils style: the CLI mirrors the library), by command
# path ("export pyg"); `yg.X` is `younger_graph.X`, `Store.X` a method of an open store.
# tests/test_docs.py fails when a command has none, when it does not exist, or when docs/api.md
# does not document it.
COUNTERPARTS: dict[str, str] = {}


def mirrors(command: str, counterpart: str) -> None:
    COUNTERPARTS[command] = counterpart


def version_lines() -> list[str]:
    from younger_graph.walk import native

    return [f"younger-graph {__version__}", native.describe()]


def _version(value: bool) -> None:
    if value:
        for line in version_lines():
            typer.echo(line)
        raise typer.Exit()


@app.callback()
def _main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version (and the native extractor's) and exit.")] = False,
) -> None:
    STATE["debug"] = debug
