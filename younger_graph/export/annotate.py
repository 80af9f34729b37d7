"""`younger-graph annotate`: join external measurements onto Model or Graph nodes as properties.

A CSV file with one key column and any number of measurement columns (accuracy, latency, FLOPs,
params...). Each measurement column `col` becomes the property `metric_<col>` (characters other
than letters, digits and `_` → `_`) of the nodes whose key matches:

- `--on model_name`: Model nodes by `name` (every model of that name; key column `model_name`,
  `name` or `model`);
- `--on model_id`: Model nodes by `model_id`;
- `--on graph_id`: Graph nodes by `graph_id`.

A column whose non-empty values all parse as numbers is written as DOUBLE, any other as STRING;
empty cells write nothing. On LadybugDB the properties are declared first (ALTER TABLE ... ADD via
`Store.ensure_properties`); a property that already exists keeps its type (numbers are written as
text into a STRING property; text into a numeric one is an error). Re-running overwrites values.
Exports then use them as targets, e.g. `export pyg --task graph --target metric_accuracy` (a Graph
takes its own value, else the mean over its models).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from younger_graph.errors import ExportError
from younger_graph.names import is_identifier
from younger_graph.store.base import Store

ON = {"model_name": ("Model", "name"), "model_id": ("Model", "model_id"), "graph_id": ("Graph", "graph_id")}
KEY_COLUMNS = {"model_name": ("model_name", "name", "model"), "model_id": ("model_id",), "graph_id": ("graph_id",)}
PREFIX = "metric_"
ROWS_PER_STATEMENT = 5_000


@dataclass
class AnnotateSummary:
    label: str
    on: str
    key_column: str
    rows: int = 0
    matched_keys: int = 0
    unmatched_keys: list[str] = field(default_factory=list)
    properties: dict[str, str] = field(default_factory=dict)  # property → type written
    nodes: dict[str, int] = field(default_factory=dict)  # property → nodes set
    warnings: list[str] = field(default_factory=list)

    def line(self) -> str:
        props = ", ".join(f"{p} ({t}, {self.nodes.get(p, 0)} nodes)" for p, t in self.properties.items())
        keys = self.matched_keys + len(self.unmatched_keys)
        return (f"annotated {self.label} nodes on {self.on}: {self.matched_keys} of {keys} keys matched; "
                f"{props or 'no properties'}")

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def property_for(column: str, prefix: str = PREFIX) -> str:
    name = prefix + re.sub(r"[^0-9A-Za-z_]", "_", column.strip())
    if not is_identifier(name):  # ASCII only: the name is written into the SET statement
        raise ExportError(f"column {column!r} gives no usable property name")
    return name


def _parses(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _number(text: str) -> float | None:
    """The finite number `text` spells, else None (nan and inf write nothing)."""
    if not _parses(text):
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def read_metrics(path: str | Path) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise ExportError(f"no metrics file {path}")
    sep = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, sep=sep)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ExportError(f"cannot read {path} as CSV: {str(exc).strip().splitlines()[0]}") from None


def annotate(store: Store, metrics: str | Path | pd.DataFrame, on: str = "model_name", *,
             key_column: str | None = None, prefix: str = PREFIX) -> AnnotateSummary:
    """Write the measurement columns of `metrics` onto the matching nodes (store open for writing)."""
    if on not in ON:
        raise ExportError(f"--on must be one of {', '.join(ON)}, not {on!r}")
    label, key_prop = ON[on]
    df = metrics if isinstance(metrics, pd.DataFrame) else read_metrics(metrics)
    df = df.astype(str).apply(lambda c: c.str.strip())
    if key_column is None:
        key_column = next((c for c in KEY_COLUMNS[on] if c in df.columns), None)
        if key_column is None:
            raise ExportError(f"the metrics file needs a key column named {' or '.join(KEY_COLUMNS[on])} "
                              f"(or pass --key COLUMN); it has {', '.join(df.columns)}")
    elif key_column not in df.columns:
        raise ExportError(f"the metrics file has no column {key_column!r}")
    summary = AnnotateSummary(label, on, key_column, rows=len(df))
    df = df[df[key_column] != ""]
    if df[key_column].duplicated().any():
        dupes = sorted(set(df[key_column][df[key_column].duplicated()]))
        summary.warnings.append(f"{len(dupes)} keys appear more than once (the last row wins): {', '.join(dupes[:5])}")
        df = df.drop_duplicates(key_column, keep="last")
    columns = [c for c in df.columns if c != key_column and c.strip() and not c.startswith("Unnamed:")]
    names = {c: property_for(c, prefix) for c in columns}
    if len(set(names.values())) != len(names):
        pairs = ", ".join(f"{c}→{p}" for c, p in names.items())
        raise ExportError(f"two metric columns give the same property name: {pairs}")
    wanted = {}
    for c in columns:
        values = [v for v in df[c] if v != ""]
        wanted[names[c]] = "DOUBLE" if values and all(map(_parses, values)) else "STRING"
    declared = store.ensure_properties(label, wanted) if wanted else {}

    keys = df[key_column].tolist()
    found = store.run(f"MATCH (n:{label}) WHERE n.{key_prop} IN $keys RETURN DISTINCT n.{key_prop} AS key",
                      {"keys": keys})
    present = set(found["key"]) if len(found) else set()
    summary.matched_keys = sum(k in present for k in keys)
    summary.unmatched_keys = [k for k in keys if k not in present]

    for c in columns:
        prop = names[c]
        kind = declared.get(prop, wanted[prop])
        rows = [{"key": k, "value": _convert(v, kind, prop)} for k, v in zip(df[key_column], df[c])
                if v != "" and k in present]
        rows = [r for r in rows if r["value"] is not None]
        summary.properties[prop] = kind
        count = 0
        for start in range(0, len(rows), ROWS_PER_STATEMENT):
            res = store.run(f"UNWIND $rows AS r MATCH (n:{label}) WHERE n.{key_prop} = r.key "
                            f"SET n.{prop} = r.value RETURN count(n) AS n",
                            {"rows": rows[start:start + ROWS_PER_STATEMENT]}, write=True)
            count += int(res["n"].iloc[0]) if len(res) else 0
        summary.nodes[prop] = count
    return summary


def _convert(text: str, kind: str, prop: str) -> Any:
    if kind == "STRING":
        return text
    if not _parses(text):
        raise ExportError(f"{prop} is a {kind} property in the store; {text!r} is not a number")
    number = _number(text)
    if number is None:
        return None
    if kind in ("INT64", "INT32"):
        if not number.is_integer():
            raise ExportError(f"{prop} is an integer property in the store; {text!r} is not an integer")
        return int(number)
    if kind == "BOOLEAN":
        raise ExportError(f"{prop} is a BOOLEAN property in the store; annotate writes numbers or text")
    return number
