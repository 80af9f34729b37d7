"""ONNX ModelProto → GraphBuilder: one node per operator, slot-exact edges, nested scopes.

Rules (docs/formats.md has the user-facing version):
- Every operator is a node; graph inputs and outputs (of the main graph and of every subgraph) are
  `input`/`output` nodes. Initializers (dense and sparse) are not nodes: the consuming operator
  records, per input slot, dtype and shape.
- One edge per (producer output slot → consumer input slot): `Mul(x, x)` has two edges, and two
  tensors between one pair of operators are two edges. Empty (omitted optional) inputs make none.
- If/Loop/Scan bodies are extracted under scope `<parent idx>/<attribute>` (`/<k>` for GRAPHS
  attributes), nested as deep as the model goes; a name a body reads from an enclosing scope gives
  an edge from the outer producer into the body.
- Calls of model-local functions (FunctionProto) stay nodes; each call's body is extracted under
  `<call idx>/<domain>:<function>`, its formal inputs bound to the call's actual producers.
- Names that resolve to nothing (malformed models) make no edge and are counted as `num_dangling`.
- A cycle among the edges (malformed: ONNX graphs are acyclic) makes the model an error.
"""

from __future__ import annotations

from collections import ChainMap
from typing import Any

from onnx import AttributeProto, FunctionProto, GraphProto, ModelProto, NodeProto, ValueInfoProto

from younger_graph.canonical import dumps
from younger_graph.extract.attrs import attribute_value, dtype_name, sparse_summary, tensor_summary
from younger_graph.graph import GraphBuilder
from younger_graph.model import KIND_OPERATOR

MAX_NESTING = 64

# What a tensor name resolves to in a scope: a producer (node idx, output slot) or an initializer.
Producer = tuple[int, int]
Symbols = ChainMap  # name → Producer | dict (initializer summary)


class ExtractionError(ValueError):
    """A model that cannot be turned into a graph; the message is one sentence for the user."""


def _shape_json(vi: ValueInfoProto) -> tuple[str | None, str | None]:
    tp = vi.type
    if tp.WhichOneof("value") != "tensor_type":
        return None, None
    tt = tp.tensor_type
    dtype = dtype_name(tt.elem_type) if tt.elem_type else None
    if not tt.HasField("shape"):
        return dtype, None
    dims: list[Any] = []
    for d in tt.shape.dim:
        which = d.WhichOneof("value")
        dims.append(d.dim_value if which == "dim_value" else (d.dim_param if which == "dim_param" else None))
    return dtype, dumps(dims)


class _Walker:
    def __init__(self, model: ModelProto, builder: GraphBuilder) -> None:
        self.b = builder
        # Keyed like ONNX resolves calls: (domain, name, overload); overload is "" unless IR >= 10 sets it.
        self.functions: dict[tuple[str, str, str], FunctionProto] = {
            (f.domain, f.name, f.overload): f for f in model.functions
        }
        # Declared (dtype, shape) by name, scoped like the symbols: a subgraph's declarations must not
        # leak into the enclosing graph (a body value named like an outer one would retype its edges).
        self.tensor_types: ChainMap = ChainMap()

    # -- scopes ---------------------------------------------------------------------------------
    def walk_graph(self, graph: GraphProto, scope: str, outer: Symbols, depth: int, parent: int | None,
                   nest_label: str) -> None:
        if depth > MAX_NESTING:
            raise ExtractionError(f"subgraphs are nested deeper than {MAX_NESTING} levels")
        b = self.b
        symbols = outer.new_child()
        enclosing_types = self.tensor_types
        self.tensor_types = enclosing_types.new_child()
        for vi in (*graph.value_info, *graph.input, *graph.output):
            if vi.name:
                self.tensor_types[vi.name] = _shape_json(vi)
        for init in graph.initializer:
            symbols[init.name] = tensor_summary(init)
        for sparse in graph.sparse_initializer:
            symbols[sparse.values.name] = sparse_summary(sparse)
        b.num_initializers += len(graph.initializer) + len(graph.sparse_initializer)

        position = 0
        for vi in graph.input:
            if vi.name in symbols.maps[0]:  # IR < 4 lists initializers as inputs too
                continue
            idx = b.add_input(scope, vi.name, position)
            position += 1
            symbols[vi.name] = (idx, 0)
            if parent is not None:
                b.add_nesting(parent, idx, nest_label)
        self.walk_nodes(graph.node, scope, symbols, depth, parent, nest_label)
        for position, vi in enumerate(graph.output):
            idx = b.add_output(scope, vi.name, position)
            if parent is not None:
                b.add_nesting(parent, idx, nest_label)
            self.connect(vi.name, idx, 0, scope, symbols)
        self.tensor_types = enclosing_types

    def walk_nodes(self, nodes: Any, scope: str, symbols: Symbols, depth: int, parent: int | None,
                   nest_label: str) -> None:
        # Two passes: ONNX asks for topological order but real files break it; register every
        # output first so a consumer listed before its producer still gets its edge.
        b = self.b
        prefix = f"{scope}/" if scope else ""
        first = len(b.kind)
        for node in nodes:
            idx = self.add_operator(node, scope, prefix, self.initializer_slots(node, symbols))
            if parent is not None:
                b.add_nesting(parent, idx, nest_label)
            for slot, out in enumerate(node.output):
                if out:
                    symbols[out] = (idx, slot)
        for offset, node in enumerate(nodes):
            idx = first + offset
            for slot, name in enumerate(node.input):
                if name:
                    self.connect(name, idx, slot, scope, symbols)
            self.walk_subgraphs(node, idx, prefix, symbols, depth)
            function = self.functions.get((node.domain, node.op_type, node.overload))
            if function is not None:
                self.walk_function(function, node, idx, prefix, symbols, depth)

    def walk_subgraphs(self, node: NodeProto, idx: int, prefix: str, symbols: Symbols, depth: int) -> None:
        for attr in node.attribute:
            if attr.type == AttributeProto.GRAPH:
                self.b.num_subgraphs += 1
                self.walk_graph(attr.g, f"{prefix}{idx}/{attr.name}", symbols, depth + 1, idx, attr.name)
            elif attr.type == AttributeProto.GRAPHS:
                for k, g in enumerate(attr.graphs):
                    self.b.num_subgraphs += 1
                    label = f"{attr.name}/{k}"
                    self.walk_graph(g, f"{prefix}{idx}/{label}", symbols, depth + 1, idx, label)

    def walk_function(self, function: FunctionProto, call: NodeProto, idx: int, prefix: str,
                      symbols: Symbols, depth: int) -> None:
        if depth > MAX_NESTING:
            raise ExtractionError(f"function calls are nested deeper than {MAX_NESTING} levels")
        self.b.num_functions += 1
        # The body sees only its formal parameters, bound to whatever the call's actual inputs are.
        bound: dict[str, Any] = {}
        for formal, actual in zip(function.input, call.input):
            if actual and actual in symbols:
                bound[formal] = symbols[actual]
        scope = f"{prefix}{idx}/{function.domain}:{function.name}"
        # Types too: only what the function itself declares (the caller's names mean nothing inside).
        caller_types = self.tensor_types
        self.tensor_types = ChainMap({vi.name: _shape_json(vi) for vi in function.value_info if vi.name})
        self.walk_nodes(function.node, scope, ChainMap(bound), depth + 1, idx, f"fn:{function.name}")
        self.tensor_types = caller_types

    # -- nodes and edges ------------------------------------------------------------------------
    @staticmethod
    def initializer_slots(node: NodeProto, symbols: Symbols) -> dict[int, dict[str, Any]]:
        found = ((slot, symbols.get(name)) for slot, name in enumerate(node.input) if name)
        return {slot: init for slot, init in found if isinstance(init, dict)}

    def add_operator(self, node: NodeProto, scope: str, prefix: str, inits: dict[int, dict[str, Any]]) -> int:
        idx = len(self.b.kind)
        if not node.attribute:
            return self.b.add_node(KIND_OPERATOR, node.op_type, node.domain, scope, node.name, init_slots=inits)
        attrs: dict[str, Any] = {}
        hash_attrs: dict[str, Any] | None = None
        for attr in node.attribute:
            attrs[attr.name] = attribute_value(attr, lambda name, k: _graph_scope(prefix, idx, name, k))
            if attr.type in (AttributeProto.GRAPH, AttributeProto.GRAPHS):
                # Scope paths contain node indices, which must not reach the hash.
                hash_attrs = hash_attrs if hash_attrs is not None else {}
                hash_attrs[attr.name] = "subgraph"
        attrs_json = dumps(attrs)
        hash_json = dumps({**attrs, **hash_attrs}) if hash_attrs else None
        return self.b.add_node(
            KIND_OPERATOR, node.op_type, node.domain, scope, node.name, attrs_json, hash_json, inits
        )

    def connect(self, name: str, dst: int, dst_slot: int, scope: str, symbols: Symbols) -> None:
        """Edge from `name`'s producer into (dst, dst_slot); initializers were recorded on the node."""
        self.b.connect(symbols.get(name), dst, dst_slot, scope, name, self.tensor_types)


def _graph_scope(prefix: str, idx: int, name: str, k: int | None) -> str:
    return f"{prefix}{idx}/{name}" if k is None else f"{prefix}{idx}/{name}/{k}"


def model_to_builder(model: ModelProto) -> GraphBuilder:
    if not model.HasField("graph"):
        raise ExtractionError("the file parses as protobuf but holds no ONNX graph")
    if not model.graph.node and not model.graph.input and not model.graph.output:
        raise ExtractionError("the ONNX graph is empty (no nodes, inputs or outputs)")
    builder = GraphBuilder()
    _Walker(model, builder).walk_graph(model.graph, "", ChainMap(), 0, None, "")
    _reject_cycles(builder)
    return builder


def _reject_cycles(b: GraphBuilder) -> None:
    """ONNX graphs must be acyclic; a file whose nodes feed each other in a loop is malformed."""
    n = len(b.kind)
    indegree = [0] * n
    consumers: list[list[int]] = [[] for _ in range(n)]
    for src, dst in zip(b.e_src, b.e_dst):
        consumers[src].append(dst)
        indegree[dst] += 1
    ready = [i for i in range(n) if not indegree[i]]
    done = 0
    while ready:
        i = ready.pop()
        done += 1
        for j in consumers[i]:
            indegree[j] -= 1
            if not indegree[j]:
                ready.append(j)
    if done < n:
        stuck = next(i for i in range(n) if indegree[i])
        raise ExtractionError(
            f"the graph has a cycle ({n - done} nodes on or after it, e.g. {b.op_type[stuck]}"
            f" {b.name[stuck]!r}), but ONNX graphs must be acyclic"
        )
