"""The `younger-graph` command: typer commands over the library API, one module per command group.

- `app`: the typer application and global options (`--debug`, `--version`); `options`: the options
  several commands share, defined once; `render`: tables, progress bars, machine formats, atomic --out;
- `extract` (extract, ingest, inspect, hash), `store` (load, query, queries), `analysis` (stats,
  communities, patterns), `similarity` (similar, diff, embed), `explore` (match, view), `export` (export
  pyg|dense, annotate), `generation` (to-onnx, check-generated), `demo`.

Every command is one call of the library (`COUNTERPARTS`); nothing outside this package imports it.
"""

from __future__ import annotations

import importlib
import io
import os
import sys

import typer

from younger_graph.cli.app import COUNTERPARTS, STATE, app
from younger_graph.cli.render import console
from younger_graph.errors import YoungerGraphError, first_line

__all__ = ["COUNTERPARTS", "app", "main"]

# Each module adds its commands to `app` when imported; this order is the order of `--help`.
COMMAND_MODULES = ("extract", "store", "demo", "analysis", "similarity", "explore", "export", "generation")
for _name in COMMAND_MODULES:
    importlib.import_module(f"younger_graph.cli.{_name}")


class _WholeWrites(io.RawIOBase):
    """A file descriptor whose writes write everything or raise. Python's BufferedWriter returns a
    short count when the disk fills mid-write (and TextIOWrapper, rich and typer.echo ignore it), so
    `query ... > file` on a full disk would exit 0 with a truncated file; looping makes the next
    write report ENOSPC (or EFBIG), an error like any other."""

    def __init__(self, fd: int) -> None:
        super().__init__()
        self._fd = fd

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._fd

    def isatty(self) -> bool:
        return os.isatty(self._fd)

    def write(self, data) -> int:  # type: ignore[no-untyped-def, override]
        view = memoryview(data).cast("B")
        done = 0
        while done < len(view):
            done += os.write(self._fd, view[done:])
        return done


def _whole_stdout() -> None:
    """Replace sys.stdout by the same stream over _WholeWrites (when it is a real file descriptor)."""
    try:
        fd, stream = sys.stdout.fileno(), sys.stdout
    except (AttributeError, OSError, ValueError):  # captured or replaced (tests): leave it
        return
    stream.flush()
    sys.stdout = io.TextIOWrapper(io.BufferedWriter(_WholeWrites(fd)), encoding=stream.encoding or "utf-8",
                                  errors="backslashreplace", line_buffering=stream.line_buffering)


def main() -> None:
    """Entry point: expected errors are one line on stderr and a non-zero exit, unless --debug."""
    try:
        _whole_stdout()
        # standalone_mode=False hands back typer.Exit codes instead of raising them.
        code = app(standalone_mode=False)
        sys.stdout.flush()  # a failed final write (a full disk) is this command's error, not the exit's
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
        if isinstance(exc, OSError):  # stdout may be what failed: its last flush at exit must not speak
            _quiet_stdout()
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
