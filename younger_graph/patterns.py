"""Frequent operator-type paths across the corpus (`younger-graph patterns`).

A path of length n is a chain of n operator-kind nodes joined by n-1 FLOWS relationships (graph
inputs and outputs never take part). For each sequence of op types the library queries
`cypher/patterns/paths_<n>.cypher` return its support (number of graphs containing it) and its
occurrences (number of data-flow paths; parallel flows count separately, like `graphs_with_path`).
`younger-graph query graphs_with_path -p ops=A,B,C` lists the graphs behind one pattern.
"""

import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

if TYPE_CHECKING:  # pandas and the store load on use: the CLI registers this module at start-up
    import pandas as pd

    from younger_graph.store.base import Store

LENGTHS = (2, 3, 4)
COLUMNS = ["length", "ops", "support", "occurrences"]
NO_LIMIT = 1 << 62


def parse_lengths(spec: str) -> list[int]:
    """`2..4`, `3` or `2,4` → sorted lengths, each in LENGTHS."""
    out: set[int] = set()
    for part in spec.split(","):
        part = part.strip()
        m = re.fullmatch(r"(\d+)\s*(?:\.\.\s*(\d+))?", part)
        if not m:
            raise ValueError(f"--length expects N, A..B or a comma list, got {spec!r}")
        lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
        if lo > hi:
            raise ValueError(f"--length range {part!r} is empty")
        out.update(range(lo, hi + 1))
    bad = sorted(out - set(LENGTHS))
    if bad:
        raise ValueError(f"path lengths {', '.join(map(str, LENGTHS))} are supported, not {bad[0]}")
    return sorted(out)


def frequent_paths(store: "Store", lengths: Iterable[int] = LENGTHS, *, top: int | None = 20,
                   min_support: int = 1) -> "pd.DataFrame":
    import pandas as pd

    """One row per op-type path: length, ops (comma-separated, ready for graphs_with_path), support,
    occurrences; per length the `top` rows by support then occurrences (all when top is None or < 1)."""
    frames = []
    for n in lengths:
        if n not in LENGTHS:
            raise ValueError(f"path lengths {', '.join(map(str, LENGTHS))} are supported, not {n}")
        df = store.query(f"paths_{n}", top=top if top and top > 0 else NO_LIMIT, min_support=min_support)
        op_cols = [f"op{i}" for i in range(1, n + 1)]
        ops = df[op_cols].astype(str).agg(",".join, axis=1) if len(df) else pd.Series([], dtype=object)
        frames.append(pd.DataFrame({
            "length": [n] * len(df),
            "ops": list(ops),
            "support": df["support"].astype("int64").tolist(),
            "occurrences": df["occurrences"].astype("int64").tolist(),
        }, columns=COLUMNS))
    if not frames:
        return pd.DataFrame({c: [] for c in COLUMNS})
    return pd.concat(frames, ignore_index=True)


def register(app: Any) -> None:
    """Add `younger-graph patterns` to the CLI (cli.COMMAND_MODULES)."""
    import typer
    from rich.console import Console

    from younger_graph.cli import DbOption, Format, OutFile, PasswordOption, UserOption, _open, write_frame

    @app.command("patterns")
    def patterns(
        length: Annotated[str, typer.Option("--length", "-l",
                                            help="Path lengths in operators: 2..4, 3 or 2,4.")] = "2..4",
        top: Annotated[int, typer.Option("--top", "-k", help="Rows per length (0: all).")] = 20,
        min_support: Annotated[int, typer.Option("--min-support", "-s",
                                                 help="Keep paths found in at least this many graphs.")] = 1,
        fmt: Format = "table",
        out: OutFile = None,
        db: DbOption = None,
        username: UserOption = None,
        password: PasswordOption = None,
    ) -> None:
        """Frequent operator-type paths (2-4 operators) with support (graphs) and occurrences."""
        lengths = parse_lengths(length)
        with _open(db, False, username, password) as store:
            df = frequent_paths(store, lengths, top=top, min_support=min_support)
        write_frame(df, fmt, Path(out) if out else None, console=Console(), title="frequent paths")
