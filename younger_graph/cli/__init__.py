"""The `younger-graph` command: typer commands over the library API, one module per command group.

- `app`: the typer application and global options (`--debug`, `--version`); `options`: the options
  several commands share, defined once; `render`: tables, progress bars, machine formats, atomic --out;
- `extract` (extract, ingest, inspect, hash), `store` (load, query, queries), `analysis` (stats,
  communities, patterns), `similarity` (similar, diff, embed), `export` (export pyg|dense, annotate),
  `demo`.

Every command is one call of the library (`COUNTERPARTS`); nothing outside this package imports it.
"""

from __future__ import annotations

import importlib
import os
import sys

import typer

from younger_graph.cli.app import COUNTERPARTS, STATE, app
from younger_graph.cli.render import console
from younger_graph.errors import YoungerGraphError, first_line

__all__ = ["COUNTERPARTS", "app", "main"]

# Each module adds its commands to `app` when imported; this order is the order of `--help`.
COMMAND_MODULES = ("extract", "store", "demo", "analysis", "similarity", "export")
for _name in COMMAND_MODULES:
    importlib.import_module(f"younger_graph.cli.{_name}")


def main() -> None:
    """Entry point: expected errors are one line on stderr and a non-zero exit, unless --debug."""
    try:
        # standalone_mode=False hands back typer.Exit codes instead of raising them.
        code = app(standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (KeyboardInterrupt, typer.Abort):
        sys.exit(130)
    except BrokenPipeError:
        _quiet_stdout()
        sys.exit(1)
    except Exception as exc:
        if STATE["debug"] or os.environ.get("YOUNGER_GRAPH_DEBUG"):
            raise
        message, code = _one_line(exc)
        console.print(f"[red]error:[/red] {_escape(message)}", highlight=False, soft_wrap=True)
        sys.exit(code)


def _one_line(exc: BaseException) -> tuple[str, int]:
    """(message, exit code): ours carry their code; typer/click usage errors format themselves (no
    click import: current typer vendors it); anything else is an unexpected error, exit 2."""
    if isinstance(exc, YoungerGraphError):
        return first_line(exc), exc.exit_code
    format_message = getattr(exc, "format_message", None)
    if callable(format_message) and isinstance(getattr(exc, "exit_code", None), int):
        return first_line(Exception(format_message())), exc.exit_code  # type: ignore[attr-defined]
    if isinstance(exc, OSError) and exc.strerror:  # a full disk, a permission denied
        where = f" ({exc.filename})" if exc.filename else ""
        return f"{exc.strerror}{where}", 2
    return first_line(exc), 2


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def _quiet_stdout() -> None:
    """After a broken pipe, point stdout at devnull so the interpreter's final flush stays silent."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass


if __name__ == "__main__":
    main()
