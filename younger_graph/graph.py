"""An operator DAG being built, column by column, and its conversion to table rows.

Every source (ONNX files, zoo exports, Younger releases) fills a `GraphBuilder`; `finish()` hashes
it and returns Arrow tables in the schemas of `model.py`. Columns are plain lists so building a
100k-operator graph creates no per-node Python objects beyond the values themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from younger_graph import arrays, hashing
from younger_graph.arch.view import arch_hash, arch_view
from younger_graph.canonical import dumps
from younger_graph.metrics import graph_metrics
from younger_graph.schema import (
    ARCH_EDGES_SCHEMA,
    ARCH_OPERATORS_SCHEMA,
    EDGES_SCHEMA,
    GRAPHS_SCHEMA,
    INPUT_OP_TYPE,
    KIND_INPUT,
    KIND_OPERATOR,
    KIND_OUTPUT,
    OPERATORS_SCHEMA,
    OUTPUT_OP_TYPE,
)
from younger_graph.views import view_tables


@dataclass
class ExtractedGraph:
    graph_id: str
    graph_id_noattr: str
    graph_row: dict[str, Any]
    operators: pa.Table
    edges: pa.Table
    # The architecture view (younger_graph.arch): rows of arch_operators / arch_edges (empty when the
    # view could not be computed: then graph_id_arch is null too).
    arch_operators: pa.Table | None = None
    arch_edges: pa.Table | None = None


def initializer_columns(inits: Mapping[int, str] | None) -> tuple[str, str]:
    """(`initializers` JSON, slot list) of a node from input slot → the initializer's canonical JSON:
    the JSON `dumps` gives for {slot: summary}, assembled from the already rendered summaries (keys
    sorted as text, as canonical JSON sorts them: "10" before "2")."""
    if not inits:
        return "{}", ""
    keys = sorted(str(slot) for slot in inits)
    return "{" + ",".join(f'"{k}":{inits[int(k)]}' for k in keys) + "}", ",".join(str(s) for s in sorted(inits))


@dataclass
class GraphBuilder:
    kind: list[str] = field(default_factory=list)
    op_type: list[str] = field(default_factory=list)
    domain: list[str] = field(default_factory=list)
    scope: list[str] = field(default_factory=list)
    name: list[str] = field(default_factory=list)
    attrs: list[str] = field(default_factory=list)
    initializers: list[str] = field(default_factory=list)
    label: list[str] = field(default_factory=list)
    label_noattr: list[str] = field(default_factory=list)

    e_src: list[int] = field(default_factory=list)
    e_src_slot: list[int] = field(default_factory=list)
    e_dst: list[int] = field(default_factory=list)
    e_dst_slot: list[int] = field(default_factory=list)
    e_scope: list[str] = field(default_factory=list)
    e_tensor: list[str] = field(default_factory=list)
    e_dtype: list[str | None] = field(default_factory=list)
    e_shape: list[str | None] = field(default_factory=list)

    # Nesting (parent operator → node inside its subgraph or function body) is hashed, not stored:
    # the scope column already records it.
    s_parent: list[int] = field(default_factory=list)
    s_child: list[int] = field(default_factory=list)
    s_label: list[str] = field(default_factory=list)

    num_subgraphs: int = 0
    num_functions: int = 0
    num_initializers: int = 0
    num_dangling: int = 0

    def add_node(
        self,
        kind: str,
        op_type: str,
        domain: str,
        scope: str,
        name: str,
        attrs_json: str = "{}",
        hash_attrs_json: str | None = None,
        init_slots: dict[int, dict[str, Any]] | None = None,
        position: int | None = None,
    ) -> int:
        """Append a node and return its idx. `position` orders graph inputs/outputs in the hash."""
        rendered = {k: dumps(v) for k, v in init_slots.items()} if init_slots else None
        inits_json, slots = initializer_columns(rendered)
        return self.append_node(kind, op_type, domain, scope, name, attrs_json, hash_attrs_json, inits_json, slots,
                                position)

    def append_node(self, kind: str, op_type: str, domain: str, scope: str, name: str, attrs_json: str,
                    hash_attrs_json: str | None, inits_json: str, slots: str, position: int | None) -> int:
        """add_node with the initializer JSON and slot list already rendered (the ONNX walker's path)."""
        idx = len(self.kind)
        pos = "" if position is None else str(position)
        self.kind.append(kind)
        self.op_type.append(op_type)
        self.domain.append(domain)
        self.scope.append(scope)
        self.name.append(name)
        self.attrs.append(attrs_json)
        self.initializers.append(inits_json)
        self.label.append(f"{kind}|{domain}|{op_type}|{pos}|{hash_attrs_json or attrs_json}|{inits_json}")
        self.label_noattr.append(f"{kind}|{domain}|{op_type}|{pos}|{slots}")
        return idx

    def add_input(self, scope: str, name: str, position: int) -> int:
        return self.add_node(KIND_INPUT, INPUT_OP_TYPE, "", scope, name, position=position)

    def add_output(self, scope: str, name: str, position: int) -> int:
        return self.add_node(KIND_OUTPUT, OUTPUT_OP_TYPE, "", scope, name, position=position)

    def add_edge(
        self,
        src: int,
        src_slot: int,
        dst: int,
        dst_slot: int,
        scope: str,
        tensor: str,
        dtype: str | None = None,
        shape: str | None = None,
    ) -> None:
        self.e_src.append(src)
        self.e_src_slot.append(src_slot)
        self.e_dst.append(dst)
        self.e_dst_slot.append(dst_slot)
        self.e_scope.append(scope)
        self.e_tensor.append(tensor)
        self.e_dtype.append(dtype)
        self.e_shape.append(shape)

    def connect(self, producer: tuple[int, int] | Any, dst: int, dst_slot: int, scope: str, tensor: str,
                types: Mapping[str, tuple[str | None, str | None]]) -> None:
        """Edge for a tensor name resolved in its scope: `producer` is (node idx, output slot), None
        (dangling: counted) or anything else for an initializer (recorded on the consumer, no edge)."""
        if type(producer) is tuple:
            dtype, shape = types.get(tensor, (None, None))
            self.add_edge(producer[0], producer[1], dst, dst_slot, scope, tensor, dtype, shape)
        elif producer is None:
            self.num_dangling += 1

    def add_nesting(self, parent: int, child: int, label: str) -> None:
        self.s_parent.append(parent)
        self.s_child.append(child)
        self.s_label.append(label)

    def hash_ids(self) -> tuple[str, str]:
        flows = (self.e_src, self.e_src_slot, self.e_dst, self.e_dst_slot)
        nesting = (self.s_parent, self.s_child, self.s_label)
        graph_id, graph_id_noattr = hashing.graph_hashes([self.label, self.label_noattr], flows, nesting)
        return graph_id, graph_id_noattr

    def finish(self) -> ExtractedGraph:
        graph_id, graph_id_noattr = self.hash_ids()
        n = len(self.kind)
        operators = arrays.table(
            [arrays.repeated_string(graph_id, n), np.arange(n, dtype=np.int32), self.kind, self.op_type,
             self.domain, self.scope, self.name, self.attrs, self.initializers],
            OPERATORS_SCHEMA,
        )
        m = len(self.e_src)
        edges = arrays.table(
            [arrays.repeated_string(graph_id, m), self.e_src, self.e_src_slot, self.e_dst, self.e_dst_slot,
             self.e_scope, self.e_tensor, self.e_dtype, self.e_shape],
            EDGES_SCHEMA,
        )
        row = {
            "graph_id": graph_id,
            "graph_id_noattr": graph_id_noattr,
            "num_nodes": n,
            "num_operators": sum(1 for k in self.kind if k == KIND_OPERATOR),
            "num_edges": m,
            "num_inputs": sum(1 for k, s in zip(self.kind, self.scope) if k == KIND_INPUT and not s),
            "num_outputs": sum(1 for k, s in zip(self.kind, self.scope) if k == KIND_OUTPUT and not s),
            "num_subgraphs": self.num_subgraphs,
            "num_functions": self.num_functions,
            "num_initializers": self.num_initializers,
            "num_dangling": self.num_dangling,
            "num_models": 0,
            **graph_metrics(self.kind, self.op_type, self.domain, self.e_src, self.e_dst),
            "graph_id_arch": None,
        }
        assert set(row) == set(GRAPHS_SCHEMA.names)
        extracted = ExtractedGraph(graph_id, graph_id_noattr, row, operators, edges)
        columns = [self.kind, self.op_type, self.domain, self.scope, self.name, self.attrs, self.initializers,
                   self.e_src, self.e_src_slot, self.e_dst, self.e_dst_slot, self.e_dtype, self.e_shape, self.e_tensor]
        return with_arch_view(extracted, columns)


_VIEW_COLUMNS = ("kind", "op_type", "domain", "scope", "name", "attrs", "initializers",
                 "src", "src_slot", "dst", "dst_slot", "dtype", "shape", "tensor")


def with_arch_view(graph: ExtractedGraph, columns: list[Any] | None = None) -> ExtractedGraph:
    """The graph with its architecture view computed from its columns (every walker's output goes
    through here): `graph_id_arch` in its row and the view's rows. A pattern the passes trip on
    never fails the model's extraction: the hash stays null and the view empty (the load computes it
    again; tests run every pass over the shipped sample and the Younger fixtures)."""
    if columns is None:  # the columns as lists, in arch_view's order (GraphBuilder passes its own)
        columns = [graph.operators.column(c).to_pylist() for c in _VIEW_COLUMNS[:7]] + \
            [graph.edges.column(c).to_pylist() for c in _VIEW_COLUMNS[7:]]
    try:
        view = arch_view(*columns[:13], tensor=columns[13])
        graph.graph_row["graph_id_arch"] = arch_hash(view)
        graph.arch_operators, graph.arch_edges = view_tables(graph.graph_id, view)
    except Exception:  # the view is an addition to the graph: never the reason a model fails
        graph.graph_row["graph_id_arch"] = None
        graph.arch_operators = ARCH_OPERATORS_SCHEMA.empty_table()
        graph.arch_edges = ARCH_EDGES_SCHEMA.empty_table()
    return graph
