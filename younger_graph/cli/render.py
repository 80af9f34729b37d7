"""Output for people (rich tables, progress bars) and machines (json, csv, parquet on stdout or --out).

Files named by --out are written atomically (younger_graph.atomic): a failed write leaves no file
that looks complete, and stdout write errors (a full disk behind a redirection) are errors too.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from younger_graph import atomic
from younger_graph.errors import UsageError

FRAME_FORMATS = ("table", "json", "csv", "parquet")
console = Console(stderr=True)  # messages and progress; results go to stdout


def progress_bar() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TimeRemainingColumn(), console=console, transient=False, disable=not console.is_terminal,
    )


@contextmanager
def stage_progress(description: str | None = None) -> Iterator[Callable[..., None]]:
    """A progress callback `(stage, done, total)` with one bar per stage (or `(done, total)` on one
    bar named `description`), drawn while the block runs."""
    with progress_bar() as progress:
        bars: dict[str, Any] = {}

        def on_progress(*args: Any) -> None:
            stage, done, total = args if len(args) == 3 else (description or "", *args)
            if stage not in bars:
                bars[stage] = progress.add_task(str(stage), total=total)
            progress.update(bars[stage], completed=done, total=total)

        yield on_progress


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, float) and value != value:
        return None
    return value


def frame_to_json(df: Any) -> str:
    records = [{k: _jsonable(v) for k, v in row.items()} for row in df.to_dict(orient="records")]
    return json.dumps(records, indent=2, ensure_ascii=False, default=str)


def rich_table(df: Any, title: str | None = None, max_rows: int = 200) -> Table:
    import pandas as pd

    table = Table(title=title, show_lines=False)
    for col in df.columns:
        numeric = pd.api.types.is_numeric_dtype(df[col])
        table.add_column(str(col), justify="right" if numeric else "left", overflow="fold")
    for row in df.head(max_rows).itertuples(index=False):
        table.add_row(*("" if v is None else str(v) for v in row))
    if len(df) > max_rows:
        table.caption = f"{len(df) - max_rows} more rows (use --format csv/json/parquet for all)"
    return table


def frame_bytes(df: Any, fmt: str, title: str | None = None) -> bytes:
    """A DataFrame rendered as a whole file in `fmt` (table: every row, plain text)."""
    if fmt == "parquet":
        buf = io.BytesIO()
        df.to_parquet(buf, index=False)
        return buf.getvalue()
    if fmt == "table":
        rec = Console(file=io.StringIO(), width=200)
        rec.print(rich_table(df, title, max_rows=len(df)))
        return rec.file.getvalue().encode("utf-8")  # type: ignore[attr-defined]
    if fmt == "json":
        return (frame_to_json(df) + "\n").encode("utf-8")
    return df.to_csv(index=False).encode("utf-8")


def write_frame(df: Any, fmt: str, out: Path | None = None, title: str | None = None) -> None:
    """A DataFrame to `out` (atomically) or stdout: a rich table on a terminal, bytes for machines."""
    if fmt not in FRAME_FORMATS:
        raise UsageError(f"unknown format {fmt!r}; choose one of {', '.join(FRAME_FORMATS)}")
    if out is not None:
        atomic.write_bytes(out, frame_bytes(df, fmt, title))
    elif fmt == "table":
        Console().print(rich_table(df, title))
    else:
        write_stdout(frame_bytes(df, fmt, title))


def write_stdout(data: bytes | str) -> None:
    """Write and flush stdout, so a failed write (a full disk behind `>`) is an error, not exit 0."""
    if isinstance(data, str):  # no text from a user's file system makes this fail (lone surrogates escaped)
        data = data.encode("utf-8", errors="backslashreplace")
    sys.stdout.flush()
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


def write_text(text: str, out: Path | None) -> None:
    if out is None:
        write_stdout(text)
    else:
        atomic.write_text(out, text)


def print_rich(printer: Callable[[Any, Console], None], doc: Any, out: Path | None) -> None:
    """`printer(doc, console)` on the terminal, or as plain 160-column text into `out`."""
    if out is None:
        printer(doc, Console())
        return
    buffer = io.StringIO()
    printer(doc, Console(file=buffer, width=160, no_color=True))
    write_text(buffer.getvalue(), out)


def print_warnings(warnings: list[str]) -> None:
    from rich.markup import escape

    for warning in warnings:
        console.print(f"[yellow]warning[/yellow] {escape(warning)}", highlight=False, soft_wrap=True)


def print_stats_table(doc: dict[str, Any], target: Console) -> None:
    """The statistics document as rich tables (the sections every renderer shows)."""
    from younger_graph.stats.render import TEXT_COLUMNS, cells, sections, selection_line

    target.print(f"[bold]younger-graph stats[/bold] ({selection_line(doc)})", highlight=False)
    for _, title, df in sections(doc):
        table = Table(title=title, title_justify="left")
        for col in df.columns:
            table.add_column(str(col), justify="left" if col in TEXT_COLUMNS else "right", overflow="fold")
        for row in cells(df):
            table.add_row(*row)
        target.print(table)
