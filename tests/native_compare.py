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
import pytest

from younger_graph.extract.model_file import _row, extract_file, extract_model, parse_model
from younger_graph.extract.onnx_graph import ExtractionError
from younger_graph.metrics import entropy_bits
from younger_graph.model import EDGES_SCHEMA, GRAPHS_SCHEMA, OPERATORS_SCHEMA

native = pytest.importorskip("younger_graph.walk._native", reason="the native extension is not built")


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


def python_bytes(data: bytes, name: str = "m.onnx", reference: bool = True) -> Side:
    """What extract_file does once the file is read (model_file.py). With `reference`, the bad-input
    decisions the native core already implements (invalid UTF-8 decoded with backslashreplace, the
    2,000,000-node budget, recursion, empty op_type) are applied around the Python walker."""
    row = _row(name, name, None, None)
    try:
        model = parse_model(data)
    except ExtractionError as exc:
        return Side(f"{name} {exc}", None, None, None, None)
    if not reference:
        return _from_result(extract_model(model, row))
    decode_invalid_strings(model)
    return _from_result(reference_extract_model(model, row))


# -- the bad-input decisions, applied around the current Python walker (a test reference) ---------
def decode_invalid_strings(message) -> None:
    """upb hands proto2 strings that are not UTF-8 to Python as bytes; decode them the way the
    native core does (`bytes.decode("utf-8", errors="backslashreplace")`), in place."""
    for field, value in message.ListFields():
        if field.type == field.TYPE_STRING:
            if field.is_repeated:
                for i, v in enumerate(value):
                    if isinstance(v, bytes):
                        value[i] = v.decode("utf-8", errors="backslashreplace")
            elif isinstance(value, bytes):
                setattr(message, field.name, value.decode("utf-8", errors="backslashreplace"))
        elif field.type == field.TYPE_MESSAGE:
            for v in value if field.is_repeated else [value]:
                decode_invalid_strings(v)


MAX_NODES = 2_000_000
_GRAPH, _GRAPHS = 5, 10


class _Recursion(Exception):
    pass


def expanded_count(model) -> int:
    """Nodes once every call of a model-local function and every subgraph is expanded."""
    functions = {(f.domain, f.name, f.overload): f for f in model.functions}
    memo: dict[tuple[str, str, str], int] = {}
    active: set[tuple[str, str, str]] = set()

    def nodes(ns) -> int:
        n = 0
        for node in ns:
            n += 1
            for a in node.attribute:
                if a.type == _GRAPH:
                    n += graph(a.g)
                elif a.type == _GRAPHS:
                    n += sum(graph(g) for g in a.graphs)
            key = (node.domain, node.op_type, node.overload)
            if key in functions:
                n += function(key)
        return n

    def function(key) -> int:
        if key in memo:
            return memo[key]
        if key in active:
            raise _Recursion
        active.add(key)
        memo[key] = nodes(functions[key].node)
        active.discard(key)
        return memo[key]

    def graph(g) -> int:
        local = {i.name for i in g.initializer} | {s.values.name for s in g.sparse_initializer}
        inputs = 0
        for vi in g.input:
            if vi.name not in local:
                local.add(vi.name)
                inputs += 1
        return inputs + len(g.output) + nodes(g.node)

    return graph(model.graph)


def reference_extract_model(model, row):
    """extract_model with the budget, recursion and empty-op_type decisions."""
    import younger_graph.extract.onnx_graph as og
    from younger_graph.extract.model_file import _fail

    if model.HasField("graph") and (model.graph.node or model.graph.input or model.graph.output):
        try:
            count = expanded_count(model)
        except _Recursion:
            count = None
        message = None
        if count is None:
            message = "function calls are nested deeper than 64 levels"
        elif count > MAX_NODES:
            message = (
                "has more than 2,000,000 nodes once function bodies and subgraphs are expanded (the limit per model)"
            )
        if message is not None:
            row["ir_version"] = int(model.ir_version)
            row["opsets"] = og.dumps({o.domain or "ai.onnx": int(o.version) for o in model.opset_import})
            row["producer"] = " ".join(p for p in (model.producer_name, model.producer_version) if p)
            return _fail(row, message)
    original = og._Walker.add_operator

    def add_operator(self, node, scope, prefix, inits):
        if not node.op_type:
            raise og.ExtractionError("has a node without an op_type, which ONNX does not allow")
        return original(self, node, scope, prefix, inits)

    og._Walker.add_operator = add_operator
    try:
        return extract_model(model, row)
    finally:
        og._Walker.add_operator = original


def python_file(path: str | os.PathLike) -> Side:
    result = extract_file(str(path))
    return _from_result(result, result.row["content_sha256"], result.row["num_bytes"])


def _native_side(result, sha256=None, num_bytes=None) -> Side:
    header, error, graph, ops, edges = result
    head = None if header is None else (header["ir_version"], header["opsets"], header["producer"])
    if error is not None:
        assert graph is None and ops is None and edges is None
        return Side(error, head, None, None, None, sha256, num_bytes)
    row = dict(graph)
    row["op_type_entropy"] = entropy_bits(row.pop("op_type_counts"))
    row["num_models"] = 0
    assert set(row) == set(GRAPHS_SCHEMA.names), set(row) ^ set(GRAPHS_SCHEMA.names)
    return Side(None, head, row, pa.Table.from_batches([ops]), pa.Table.from_batches([edges]), sha256, num_bytes)


def native_bytes(data: bytes, name: str = "m.onnx") -> Side:
    return _native_side(native.extract_bytes(data, name))


def native_file(path: str | os.PathLike) -> Side:
    sha, size, result = native.extract_path(str(path))
    return _native_side(result, sha, size)


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
