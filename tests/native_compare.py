"""Side-by-side extraction with the Python walker and the native core, for the parity tests.

`python_side` / `native_side` return the same shape for one model (file or bytes):
`Side(error, header, graph_row, operators, edges)` where `error` is the models-row error text (or
None), `header` the (ir_version, opsets, producer) header fields, `graph_row` the graphs.parquet row
and `operators` / `edges` pyarrow Tables in OPERATORS_SCHEMA / EDGES_SCHEMA.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from conftest import native_core
from younger_graph.loaders.onnx_files import extract_bytes, extract_file
from younger_graph.loaders.results import new_row

from younger_graph.schema import EDGES_SCHEMA, GRAPHS_SCHEMA, OPERATORS_SCHEMA

native = native_core()


@dataclass
class Side:
    error: str | None
    header: tuple[Any, Any, Any] | None
    graph_row: dict[str, Any] | None
    operators: pa.Table | None
    edges: pa.Table | None
    sha256: str | None = None
    num_bytes: int | None = None


def _from_result(result, sha256=None, num_bytes=None) -> Side:
    row = result.row
    header = None if row["ir_version"] is None else (row["ir_version"], row["opsets"], row["producer"])
    if result.graph is None:
        return Side(row["error"] or None, header, None, None, None, sha256, num_bytes)
    g = result.graph
    return Side(None, header, dict(g.graph_row), g.operators, g.edges, sha256, num_bytes)


def python_bytes(data: bytes, name: str = "m.onnx") -> Side:
    """What extract_file does once the file is read, on the Python walker."""
    return _from_result(extract_bytes(data, new_row(name, name), name, use_native=False))


def python_file(path: str | os.PathLike) -> Side:
    result = extract_file(str(path), use_native=False)
    return _from_result(result, result.row["content_sha256"], result.row["num_bytes"])


def native_bytes(data: bytes, name: str = "m.onnx") -> Side:
    """The same through the native core, by the path extraction takes (loaders.onnx_files)."""
    return _from_result(extract_bytes(data, new_row(name, name), name, use_native=True))


def native_file(path: str | os.PathLike) -> Side:
    """The native core reading the file itself (`extract_path`: sha256 overlapped with parsing), its
    result converted as extraction converts it (younger_graph.walk.native.convert)."""
    from younger_graph.walk.native import convert

    sha, size, result = native.extract_path(str(path))
    found = convert(result, os.path.basename(str(path)))
    head = None if found.header is None else (found.header["ir_version"], found.header["opsets"],
                                              found.header["producer"])
    if found.graph is None:
        return Side(found.error, head, None, None, None, sha, size)
    g = found.graph
    return Side(None, head, dict(g.graph_row), g.operators, g.edges, sha, size)


def differences(py: Side, nat: Side) -> list[str]:
    """Human-readable differences (empty when the two sides agree exactly)."""
    out = []
    if py.error != nat.error:
        out.append(f"error: python {py.error!r} native {nat.error!r}")
    if py.header != nat.header:
        out.append(f"header: python {py.header!r} native {nat.header!r}")
    if py.sha256 != nat.sha256 or py.num_bytes != nat.num_bytes:
        out.append(f"file: python {(py.sha256, py.num_bytes)} native {(nat.sha256, nat.num_bytes)}")
    if (py.graph_row is None) != (nat.graph_row is None):
        out.append("one side has no graph")
        return out
    if py.graph_row is None:
        return out
    for k in GRAPHS_SCHEMA.names:
        a, b = py.graph_row[k], nat.graph_row[k]
        if a != b or type(a) is not type(b):
            out.append(f"graph.{k}: python {a!r} native {b!r}")
    for label, a, b, schema in (
        ("operators", py.operators, nat.operators, OPERATORS_SCHEMA),
        ("edges", py.edges, nat.edges, EDGES_SCHEMA),
    ):
        if not b.schema.equals(schema):
            out.append(f"{label}: native schema {b.schema}")
        if not a.equals(b):
            out.append(f"{label}: {first_row_difference(a, b)}")
    return out


def first_row_difference(a: pa.Table, b: pa.Table) -> str:
    if a.num_rows != b.num_rows:
        return f"{a.num_rows} rows vs {b.num_rows}"
    ra, rb = a.to_pylist(), b.to_pylist()
    for i, (x, y) in enumerate(zip(ra, rb)):
        if x != y:
            diff = {k: (x[k], y[k]) for k in x if x[k] != y.get(k)}
            return f"row {i}: {diff}"
    return "tables differ (types or chunks?)"


def assert_same(py: Side, nat: Side, what: str = "") -> None:
    diff = differences(py, nat)
    assert not diff, f"{what}: " + "; ".join(diff[:5])
