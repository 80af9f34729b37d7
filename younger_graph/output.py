"""Rendering results for people (rich tables) and machines (json, csv, parquet)."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console
from rich.table import Table

FORMATS = ("table", "json", "csv", "parquet")


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, float) and value != value:
        return None
    return value


def frame_to_json(df: pd.DataFrame) -> str:
    records = [{k: _jsonable(v) for k, v in row.items()} for row in df.to_dict(orient="records")]
    return json.dumps(records, indent=2, ensure_ascii=False, default=str)


def rich_table(df: pd.DataFrame, title: str | None = None, max_rows: int = 200) -> Table:
    table = Table(title=title, show_lines=False)
    for col in df.columns:
        numeric = pd.api.types.is_numeric_dtype(df[col])
        table.add_column(str(col), justify="right" if numeric else "left", overflow="fold")
    for row in df.head(max_rows).itertuples(index=False):
        table.add_row(*("" if v is None else str(v) for v in row))
    if len(df) > max_rows:
        table.caption = f"{len(df) - max_rows} more rows (use --format csv/json/parquet for all)"
    return table


def write_frame(df: pd.DataFrame, fmt: str, out: Path | None = None, console: Console | None = None,
                title: str | None = None) -> None:
    """Write a DataFrame in `fmt` to `out` (or stdout; parquet needs a file or a binary stdout)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if fmt == "parquet":
        if out is None:
            buf = io.BytesIO()
            df.to_parquet(buf, index=False)
            sys.stdout.buffer.write(buf.getvalue())
        else:
            df.to_parquet(out, index=False)
        return
    if fmt == "table":
        text = None
        if out is None:
            (console or Console()).print(rich_table(df, title))
            return
        rec = Console(file=io.StringIO(), width=200)
        rec.print(rich_table(df, title, max_rows=len(df)))
        text = rec.file.getvalue()  # type: ignore[attr-defined]
    elif fmt == "json":
        text = frame_to_json(df) + "\n"
    else:
        text = df.to_csv(index=False)
    if out is None:
        sys.stdout.write(text)
    else:
        Path(out).write_text(text, encoding="utf-8")
