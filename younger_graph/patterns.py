"""Frequent operator-type paths across the corpus (`younger-graph patterns`).

A path of length n is a chain of n operator-kind nodes joined by n-1 FLOWS relationships (graph
inputs and outputs never take part). For each sequence of op types the library queries
`cypher/patterns/paths_<n>.cypher` return its support (number of graphs containing it) and its
occurrences (number of data-flow paths; parallel flows count separately, like `graphs_with_path`).
`younger-graph query graphs_with_path -p ops=A,B,C` lists the graphs behind one pattern.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from younger_graph.errors import UsageError

if TYPE_CHECKING:  # pandas loads on use
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
            raise UsageError(f"--length expects N, A..B or a comma list, got {spec!r}")
        lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
        if lo > hi:
            raise UsageError(f"--length range {part!r} is empty")
        out.update(range(lo, hi + 1))
    bad = sorted(out - set(LENGTHS))
    if bad:
        raise UsageError(f"path lengths {', '.join(map(str, LENGTHS))} are supported, not {bad[0]}")
    return sorted(out)


def frequent_paths(store: Store, lengths: Iterable[int] | str = LENGTHS, *, top: int | None = 20,
                   min_support: int = 1, view: str = "exact") -> pd.DataFrame:
    """One row per op-type path: length, ops (comma-separated, ready for graphs_with_path), support,
    occurrences; per length the `top` rows by support then occurrences (all when top is None or < 1).
    `lengths`: path lengths, or their spelling on the command line (`"2..4"`); `view`: `exact` or
    `arch` (paths of the architecture view: no Identity, Constant or shape plumbing)."""
    import pandas as pd

    if isinstance(lengths, str):
        lengths = parse_lengths(lengths)

    frames = []
    for n in lengths:
        if n not in LENGTHS:
            raise UsageError(f"path lengths {', '.join(map(str, LENGTHS))} are supported, not {n}")
        df = store.query(f"paths_{n}", top=top if top and top > 0 else NO_LIMIT, min_support=min_support, view=view)
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
