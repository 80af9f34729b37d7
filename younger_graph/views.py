"""Views of a graph: `exact` (what the model file says) and `arch` (its architecture: the exact graph
normalised by `younger_graph.arch`). The one module every consumer asks for a view (docs/arch.md).

* **Arrays**: `arch_chunk(operators, edges)` is the architecture view of a batch of graphs given as
  rows of operators.parquet and edges.parquet (grouped by graph): its nodes and edges as Arrow
  tables (`ARCH_OPERATORS_SCHEMA`, `ARCH_EDGES_SCHEMA`) and one row of per-graph properties
  (`VIEW_GRAPH_SCHEMA`: the view's sizes and structure metrics, `graph_id_arch`, the embedding).
  `arch_of(operators, edges)` is the `ArchView` of one graph.
* **Stores**: the view is materialised at load next to the exact graph (both stores):
  `(:Graph)-[:ARCH_CONTAINS]->(:ArchOperator)-[:ARCH_FLOWS]->(:ArchOperator)`, with the same
  property names as `Operator` / `FLOWS` (plus `origin`, `fused`), and the per-graph properties on
  the Graph node prefixed `arch_`. `cypher(text, view)` rewrites a query written for the exact view
  (labels `Operator`, `FLOWS`, `CONTAINS`; Graph properties `num_nodes`, `depth`...) into the same
  query on the architecture view, like `dialect.py` does for backends; `VIEW_NAMES` lists them.

Which to use: `exact` for what a file contains (provenance, exporter behaviour, exact dedup,
training data that must round-trip to ONNX); `arch` for what a network is (statistics and patterns
without exporter plumbing, similarity, comparing models across exporters and quantisation).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from younger_graph import arrays
from younger_graph.errors import UsageError
from younger_graph.schema import ARCH_EDGES_SCHEMA, ARCH_OPERATORS_SCHEMA, KIND_OPERATOR

VIEWS = ("exact", "arch")
DEFAULT_VIEW = "exact"


@dataclass(frozen=True)
class ViewNames:
    """What a view is called in Cypher: node label, relationships, Graph property prefix."""

    operator: str
    flows: str
    contains: str
    graph_prefix: str


VIEW_NAMES: dict[str, ViewNames] = {
    "exact": ViewNames("Operator", "FLOWS", "CONTAINS", ""),
    "arch": ViewNames("ArchOperator", "ARCH_FLOWS", "ARCH_CONTAINS", "arch_"),
}

# Per-graph properties each view has: the exact view's are columns of graphs.parquet, the arch
# view's the same names prefixed `arch_` (computed at load from the view).
VIEW_GRAPH_PROPERTIES = ("num_nodes", "num_operators", "num_edges", "num_components", "max_in_degree",
                         "max_out_degree", "depth", "width", "num_op_types", "op_type_entropy",
                         "has_control_flow", "has_custom_domain")

_METRIC_TYPES = {"op_type_entropy": pa.float64(), "has_control_flow": pa.bool_(), "has_custom_domain": pa.bool_()}
VIEW_GRAPH_SCHEMA = pa.schema(
    [("graph_id", pa.string()), ("graph_id_arch", pa.string())]
    + [(f"arch_{p}", _METRIC_TYPES.get(p, pa.int64())) for p in VIEW_GRAPH_PROPERTIES]
    + [("embedding_arch", pa.list_(pa.float32())), ("embedding_exact", pa.list_(pa.float32())),
       ("embedding_version", pa.string())]
)
EMBEDDING_PROPERTY = {"arch": "embedding_arch", "exact": "embedding_exact"}


def check_view(view: str) -> str:
    if view not in VIEWS:
        raise UsageError(f"--view must be one of {', '.join(VIEWS)}, not {view!r}")
    return view


_LABELS = re.compile(r":\s*(Operator|FLOWS|CONTAINS)\b")
_GRAPH_PROPERTY = re.compile(r"\.(" + "|".join(VIEW_GRAPH_PROPERTIES) + r")\b")


def cypher(text: str, view: str) -> str:
    """A query written for the exact view, on `view`: `:Operator`, `:FLOWS`, `:CONTAINS` become the
    view's label and relationship types, and the per-graph properties (`g.num_nodes`, `g.depth`...)
    its own (`g.arch_num_nodes`...). Quoted text is left alone."""
    check_view(view)
    if view == "exact":
        return text
    names = VIEW_NAMES[view]
    mapping = {"Operator": names.operator, "FLOWS": names.flows, "CONTAINS": names.contains}
    parts = re.split(r"('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")", text)
    for i in range(0, len(parts), 2):  # even parts are outside quotes
        part = _LABELS.sub(lambda m: ":" + mapping[m.group(1)], parts[i])
        parts[i] = _GRAPH_PROPERTY.sub(lambda m: f".{names.graph_prefix}{m.group(1)}", part)
    return "".join(parts)


# -- arrays ---------------------------------------------------------------------------------------
def _columns(table: pa.Table, names: tuple[str, ...]) -> list[list[Any]]:
    return [table.column(n).to_pylist() for n in names]


_OP_COLUMNS = ("kind", "op_type", "domain", "scope", "name", "attrs", "initializers")
_EDGE_COLUMNS = ("src", "src_slot", "dst", "dst_slot", "dtype", "shape", "tensor")


def arch_of(operators: pa.Table, edges: pa.Table) -> Any:
    """The `ArchView` of one graph from its operators.parquet and edges.parquet rows."""
    from younger_graph.arch.view import arch_view

    ops = _columns(operators, _OP_COLUMNS)
    e = _columns(edges, _EDGE_COLUMNS) if edges.num_rows else [[]] * len(_EDGE_COLUMNS)
    return arch_view(*ops, *e[:6], tensor=e[6])


def view_tables(graph_id: str, view: Any) -> tuple[pa.Table, pa.Table]:
    """An ArchView as rows of arch_operators.parquet and arch_edges.parquet."""
    n, m = view.num_nodes, view.num_edges
    ops = arrays.table([
        arrays.repeated_string(graph_id, n), np.arange(n, dtype=np.int32), view.kind, view.op_type, view.domain,
        view.scope, view.name, view.attrs, view.initializers, view.origin.astype(np.int32),
        view.fused.astype(np.int32)], ARCH_OPERATORS_SCHEMA)
    edges = arrays.table([
        arrays.repeated_string(graph_id, m), view.src.astype(np.int32), view.src_slot.astype(np.int32),
        view.dst.astype(np.int32), view.dst_slot.astype(np.int32), view.e_scope, view.e_tensor, view.e_dtype,
        view.e_shape], ARCH_EDGES_SCHEMA)
    return ops, edges


@dataclass
class ViewChunk:
    """The architecture view of a batch of graphs, as rows for the stores."""

    operators: pa.Table  # ARCH_OPERATORS_SCHEMA
    edges: pa.Table  # ARCH_EDGES_SCHEMA
    graphs: pa.Table  # VIEW_GRAPH_SCHEMA, one row per graph, in the order given


def _graph_runs(table: pa.Table) -> dict[str, pa.Table]:
    if not table.num_rows:
        return {}
    encoded = pc.dictionary_encode(table.column("graph_id")).combine_chunks()
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    starts = np.concatenate([[0], np.flatnonzero(np.diff(codes)) + 1, [len(codes)]])
    return {encoded.dictionary[codes[a]].as_py(): table.slice(a, b - a)
            for a, b in zip(starts[:-1].tolist(), starts[1:].tolist())}


def arch_chunk(graph_ids: list[str], operators: pa.Table, edges: pa.Table,
               known_ids: dict[str, str | None] | None = None, stored: tuple[pa.Table, pa.Table] | None = None,
               warnings: list[str] | None = None) -> ViewChunk:
    """The architecture view of these graphs (their operators and edges rows, grouped by graph),
    with per-graph metrics, `graph_id_arch` (as extracted: `known_ids`; the load never invents one
    for a folder of format 1, so the store keeps graphs.parquet's values) and the embeddings of each
    (of the architecture view and of the exact graph).

    `stored`: the graphs' rows of arch_operators and arch_edges, as extracted (format 2): a graph
    found there is taken as it is; the others' view is computed here (folders of format 1). A graph
    whose view cannot be computed gets an empty one and a line in `warnings`."""
    from younger_graph.arch.embed import EMBED_VERSION, embed_tables
    from younger_graph.metrics import graph_metrics

    ops_by, edges_by = _graph_runs(operators), _graph_runs(edges)
    arch_ops_by, arch_edges_by = (_graph_runs(stored[0]), _graph_runs(stored[1])) if stored else ({}, {})
    empty_edges = edges.schema.empty_table()
    for gid in graph_ids:
        if gid in arch_ops_by:
            continue
        try:
            view = arch_of(ops_by.get(gid, operators.schema.empty_table()), edges_by.get(gid, empty_edges))
        except Exception as exc:  # a bug in a pass must not stop a load: the graph gets an empty view
            if warnings is not None:
                warnings.append(f"graph {gid}: no architecture view ({type(exc).__name__}: {exc})")
            arch_ops_by[gid], arch_edges_by[gid] = ARCH_OPERATORS_SCHEMA.empty_table(), ARCH_EDGES_SCHEMA.empty_table()
            continue
        arch_ops_by[gid], arch_edges_by[gid] = view_tables(gid, view)
    rows = []
    for gid in graph_ids:
        ops = arch_ops_by[gid]
        e = arch_edges_by.get(gid, ARCH_EDGES_SCHEMA.empty_table())
        kind = ops.column("kind").to_pylist()
        src, dst = e.column("src").to_numpy(), e.column("dst").to_numpy()
        metrics = graph_metrics(kind, ops.column("op_type").to_pylist(), ops.column("domain").to_pylist(), src, dst)
        rows.append({
            "graph_id": gid, "graph_id_arch": (known_ids or {}).get(gid),
            "arch_num_nodes": ops.num_rows, "arch_num_operators": sum(1 for k in kind if k == KIND_OPERATOR),
            "arch_num_edges": e.num_rows, **{f"arch_{k}": v for k, v in metrics.items()},
        })
    vectors = embed_tables(graph_ids, arch_ops_by, arch_edges_by)
    exact = embed_tables(graph_ids, ops_by, edges_by)
    for row, vector, exact_vector in zip(rows, vectors, exact):
        row["embedding_arch"] = vector.tolist()
        row["embedding_exact"] = exact_vector.tolist()
        row["embedding_version"] = EMBED_VERSION
    parts = [arch_ops_by[g] for g in graph_ids]
    edge_parts = [arch_edges_by[g] for g in graph_ids if g in arch_edges_by]
    return ViewChunk(
        pa.concat_tables(parts) if parts else ARCH_OPERATORS_SCHEMA.empty_table(),
        pa.concat_tables(edge_parts) if edge_parts else ARCH_EDGES_SCHEMA.empty_table(),
        pa.Table.from_pylist(rows, schema=VIEW_GRAPH_SCHEMA),
    )


__all__ = ["ARCH_EDGES_SCHEMA", "ARCH_OPERATORS_SCHEMA", "DEFAULT_VIEW", "EMBEDDING_PROPERTY", "VIEWS",
           "VIEW_GRAPH_PROPERTIES", "VIEW_GRAPH_SCHEMA", "VIEW_NAMES", "ViewChunk", "ViewNames", "arch_chunk",
           "arch_of", "check_view", "cypher"]
