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
- A cycle among the edges (malformed: ONNX graphs are acyclic) makes the model an error, and so does
  a node without an op_type (ONNX's checker refuses it too).
- Before anything is built, the model's expanded size is counted (`expanded_node_count`): a model
  whose function bodies and subgraphs expand past MAX_NODES nodes fails instead of exhausting memory
  (functions that call each other twice per level grow exponentially from a few KB of file).
- Every string read from the proto goes through `walk.text` (invalid UTF-8 → `\\xNN` escapes).
"""

from __future__ import annotations

from typing import Any

from onnx import AttributeProto, FunctionProto, GraphProto, ModelProto, NodeProto, ValueInfoProto

from younger_graph.canonical import dumps
from younger_graph.errors import ExtractionError
from younger_graph.graph import GraphBuilder, initializer_columns
from younger_graph.schema import KIND_OPERATOR
from younger_graph.walk.attrs import attribute_value, dtype_name, sparse_summary, tensor_summary
from younger_graph.walk.scopes import (
    MAX_NESTING,
    MAX_NODES,
    SymbolTable,
    check_nesting,
    function_scope,
    nesting_label,
    subgraph_scope,
)
from younger_graph.walk.text import text, texts

__all__ = ["ExtractionError", "expanded_node_count", "may_exceed_budget", "model_to_builder"]

_GRAPH_TYPES = (AttributeProto.GRAPH, AttributeProto.GRAPHS)

# What a tensor name resolves to in a scope: a producer (node idx, output slot), or an initializer,
# held as its canonical JSON summary (a str) so a node's `initializers` JSON is a concatenation.
Producer = tuple[int, int]
Symbol = Producer | str
TensorType = tuple[str | None, str | None]  # declared (dtype, shape JSON)
_ABSENT = SymbolTable.ABSENT

# Canonical attribute JSON by the serialized attributes of a node (same bytes, same JSON): most
# operators of a model, and of a corpus, repeat a few attribute sets. Subgraph attributes are never
# cached (their JSON names scopes, which contain node indices); long attribute bytes are not kept.
_ATTRS_CACHE: dict[tuple[bytes, ...], str] = {}
_CACHE_MAX_KEY_BYTES = 1024
_CACHE_MAX_ENTRIES = 20_000  # ~100 bytes each: a few MiB at most


def _shape_json(vi: ValueInfoProto) -> TensorType:
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
        dims.append(d.dim_value if which == "dim_value" else (text(d.dim_param) if which == "dim_param" else None))
    return dtype, dumps(dims)


class _Walker:
    def __init__(self, model: ModelProto, builder: GraphBuilder) -> None:
        self.b = builder
        # Keyed like ONNX resolves calls: (domain, name, overload); overload is "" unless IR >= 10 sets it.
        self.functions: dict[tuple[str, str, str], FunctionProto] = function_table(model)
        self.symbols = SymbolTable()
        # Declared (dtype, shape) by name, scoped like the symbols: a subgraph's declarations must not
        # leak into the enclosing graph (a body value named like an outer one would retype its edges).
        self.types = SymbolTable()

    # -- scopes ---------------------------------------------------------------------------------
    def walk_graph(self, graph: GraphProto, scope: str, depth: int, parent: int | None, nest_label: str) -> None:
        check_nesting(depth)
        b = self.b
        with self.types.scope() as types, self.symbols.scope() as symbols:
            for vi in (*graph.value_info, *graph.input, *graph.output):
                if vi.name:
                    types.define(text(vi.name), _shape_json(vi))
            local: set[str] = set()  # names defined by this graph itself so far
            for init in graph.initializer:
                name = text(init.name)
                symbols.define(name, dumps(tensor_summary(init)))
                local.add(name)
            for sparse in graph.sparse_initializer:
                name = text(sparse.values.name)
                symbols.define(name, dumps(sparse_summary(sparse)))
                local.add(name)
            b.num_initializers += len(graph.initializer) + len(graph.sparse_initializer)

            position = 0
            for vi in graph.input:
                name = text(vi.name)
                if name in local:  # IR < 4 lists initializers as inputs too
                    continue
                local.add(name)
                idx = b.add_input(scope, name, position)
                position += 1
                symbols.define(name, (idx, 0))
                if parent is not None:
                    b.add_nesting(parent, idx, nest_label)
            self.walk_nodes(graph.node, scope, depth, parent, nest_label)
            for position, vi in enumerate(graph.output):
                name = text(vi.name)
                idx = b.add_output(scope, name, position)
                if parent is not None:
                    b.add_nesting(parent, idx, nest_label)
                b.connect(symbols.get(name), idx, 0, scope, name, types.names)

    def walk_nodes(self, nodes: Any, scope: str, depth: int, parent: int | None, nest_label: str) -> None:
        # Two passes: ONNX asks for topological order but real files break it; register every
        # output first so a consumer listed before its producer still gets its edge.
        b = self.b
        symbols, undo = self.symbols.names, self.symbols.log
        prefix = f"{scope}/" if scope else ""
        added: list[tuple[int, NodeProto, list[str], bool]] = []
        for node in nodes:
            inputs = texts(node.input)
            idx, nested = self.add_operator(node, scope, prefix, self.initializer_slots(inputs))
            if parent is not None:
                b.add_nesting(parent, idx, nest_label)
            for slot, out in enumerate(node.output):
                if out:  # SymbolTable.define, inlined: once per tensor of the model
                    if type(out) is not str:
                        out = text(out)
                    undo.append((out, symbols.get(out, _ABSENT)))
                    symbols[out] = (idx, slot)
            added.append((idx, node, inputs, nested))
        connect, types, functions = b.connect, self.types.names, self.functions
        for idx, node, inputs, nested in added:
            for slot, name in enumerate(inputs):
                if name:
                    connect(symbols.get(name), idx, slot, scope, name, types)
            if nested:
                self.walk_subgraphs(node, idx, prefix, depth)
            if functions:
                function = functions.get(call_key(node))
                if function is not None:
                    self.walk_function(function, inputs, idx, prefix, depth)

    def walk_subgraphs(self, node: NodeProto, idx: int, prefix: str, depth: int) -> None:
        for attr in node.attribute:
            if attr.type == AttributeProto.GRAPH:
                self.b.num_subgraphs += 1
                name = text(attr.name)
                self.walk_graph(attr.g, subgraph_scope(prefix, idx, name), depth + 1, idx, name)
            elif attr.type == AttributeProto.GRAPHS:
                name = text(attr.name)
                for k, g in enumerate(attr.graphs):
                    self.b.num_subgraphs += 1
                    self.walk_graph(g, subgraph_scope(prefix, idx, name, k), depth + 1, idx,
                                    nesting_label(name, k))

    def walk_function(self, function: FunctionProto, call_inputs: list[str], idx: int, prefix: str,
                      depth: int) -> None:
        check_nesting(depth, "function calls")
        self.b.num_functions += 1
        # The body sees only its formal parameters, bound to whatever the call's actual inputs are.
        caller = self.symbols.names
        bound: dict[str, Symbol] = {}
        for formal, actual in zip(texts(function.input), call_inputs):
            if actual and actual in caller:
                bound[formal] = caller[actual]
        scope = function_scope(prefix, idx, text(function.domain), text(function.name))
        # Types too: only what the function itself declares (the caller's names mean nothing inside).
        declared = {text(vi.name): _shape_json(vi) for vi in function.value_info if vi.name}
        with self.symbols.isolated(bound), self.types.isolated(declared):
            self.walk_nodes(function.node, scope, depth + 1, idx, f"fn:{text(function.name)}")

    # -- nodes ----------------------------------------------------------------------------------
    def initializer_slots(self, inputs: list[str]) -> dict[int, str] | None:
        """Input slot → canonical JSON of the initializer it reads (None when it reads none)."""
        found = None
        symbols = self.symbols.names
        for slot, name in enumerate(inputs):
            if name:
                symbol = symbols.get(name)
                if type(symbol) is str:
                    if found is None:
                        found = {}
                    found[slot] = symbol
        return found

    def add_operator(self, node: NodeProto, scope: str, prefix: str, inits: dict[int, str] | None) -> tuple[int, bool]:
        """Append the operator; returns its idx and whether it has subgraph attributes."""
        b = self.b
        idx = len(b.kind)
        op_type, domain, name = node.op_type, node.domain, node.name
        if type(op_type) is not str or type(domain) is not str or type(name) is not str:
            op_type, domain, name = text(op_type), text(domain), text(name)
        if not op_type:
            raise ExtractionError("has a node without an op_type, which ONNX does not allow")
        attrs_json, hash_json, nested = _attributes_json(node, prefix, idx) if node.attribute else ("{}", None, False)
        inits_json, slots = initializer_columns(inits)
        b.append_node(KIND_OPERATOR, op_type, domain, scope, name, attrs_json, hash_json, inits_json, slots, None)
        return idx, nested


def _attributes_json(node: NodeProto, prefix: str, idx: int) -> tuple[str, str | None, bool]:
    """(canonical attributes JSON, the same with subgraph references hashed as "subgraph" or None,
    whether there are subgraph attributes), from the cache when the same attributes were seen."""
    key = tuple([attr.SerializeToString() for attr in node.attribute])
    cached = _ATTRS_CACHE.get(key)
    if cached is not None:
        return cached, None, False
    attrs: dict[str, Any] = {}
    hash_attrs: dict[str, Any] = {}
    for attr in node.attribute:
        name = text(attr.name)
        attrs[name] = attribute_value(attr, lambda name, k: subgraph_scope(prefix, idx, name, k))
        if attr.type in _GRAPH_TYPES:
            # Scope paths contain node indices, which must not reach the hash.
            hash_attrs[name] = "subgraph"
    attrs_json = dumps(attrs)
    if hash_attrs:
        return attrs_json, dumps({**attrs, **hash_attrs}), True
    if sum(map(len, key)) <= _CACHE_MAX_KEY_BYTES:
        if len(_ATTRS_CACHE) >= _CACHE_MAX_ENTRIES:
            _ATTRS_CACHE.clear()
        _ATTRS_CACHE[key] = attrs_json
    return attrs_json, None, False


def model_to_builder(model: ModelProto, size_hint: int | None = None) -> GraphBuilder:
    """The model's DAG. `size_hint`: the length of the bytes it was parsed from, when known (it
    spares the size check a serialization, see `may_exceed_budget`)."""
    if not model.HasField("graph"):
        raise ExtractionError("the file parses as protobuf but holds no ONNX graph")
    if not model.graph.node and not model.graph.input and not model.graph.output:
        raise ExtractionError("the ONNX graph is empty (no nodes, inputs or outputs)")
    if may_exceed_budget(model, size_hint):
        expanded_node_count(model)  # raises past MAX_NODES, before anything is built
    builder = GraphBuilder()
    _Walker(model, builder).walk_graph(model.graph, "", 0, None, "")
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


# -- the expanded size, before walking ------------------------------------------------------------
FunctionKey = tuple[str, str, str]


def function_table(model: ModelProto) -> dict[FunctionKey, FunctionProto]:
    """Model-local functions keyed like ONNX resolves calls: (domain, name, overload); overload is ""
    unless IR >= 10 sets it."""
    return {(text(f.domain), text(f.name), text(f.overload)): f for f in model.functions}


def call_key(node: NodeProto) -> FunctionKey:
    return text(node.domain), text(node.op_type), text(node.overload)


def too_many_nodes() -> ExtractionError:
    return ExtractionError(f"has more than {MAX_NODES:,} nodes once function bodies and subgraphs are expanded "
                           "(the limit per model)")


def may_exceed_budget(model: ModelProto, size_hint: int | None = None) -> bool:
    """False when the model provably expands to at most MAX_NODES nodes, so counting can be skipped
    (it costs a tenth of a walk): without functions nothing is expanded, so every node the walk makes
    is a NodeProto or ValueInfoProto of its own in the serialized model, at least 2 bytes each (tag and
    length). A model of at most 2 * MAX_NODES bytes cannot hold more; the outcome is the count's."""
    if model.functions:
        return True
    limit = 2 * MAX_NODES
    if size_hint is not None and size_hint <= limit:
        return False
    return model.ByteSize() > limit


def expanded_node_count(model: ModelProto) -> int:
    """The number of nodes the walk will make: per graph (and subgraph), its inputs not named by an
    initializer and its outputs, plus one per operator, plus the bodies of its subgraph attributes
    and of the model-local functions it calls (counted once per function, memoised).

    Raises ExtractionError past MAX_NODES (as soon as a running total passes it), and when a
    function calls itself, directly or through others (the walk would stop at MAX_NESTING anyway,
    after expanding each level)."""
    return _Counter(function_table(model)).graph(model.graph)


class _Counter:
    def __init__(self, functions: dict[FunctionKey, FunctionProto]) -> None:
        self.functions = functions
        self.memo: dict[FunctionKey, int] = {}
        self.active: list[FunctionKey] = []  # the chain of function bodies being counted

    def graph(self, graph: GraphProto) -> int:
        defined = {text(i.name) for i in graph.initializer} | {text(s.values.name) for s in graph.sparse_initializer}
        inputs = {text(vi.name) for vi in graph.input} - defined
        return self.nodes(graph.node, len(inputs) + len(graph.output))

    def nodes(self, nodes: Any, total: int) -> int:
        total += len(nodes)
        if total > MAX_NODES:
            raise too_many_nodes()
        functions = self.functions
        for node in nodes:
            for attr in node.attribute:
                kind = attr.type
                if kind == AttributeProto.GRAPH:
                    total += self.graph(attr.g)
                elif kind == AttributeProto.GRAPHS:
                    for g in attr.graphs:
                        total += self.graph(g)
            if functions:
                key = call_key(node)
                if key in functions:
                    total += self.function(key)
            if total > MAX_NODES:
                raise too_many_nodes()
        return total

    def function(self, key: FunctionKey) -> int:
        count = self.memo.get(key)
        if count is not None:
            return count
        if key in self.active or len(self.active) >= MAX_NESTING:
            raise ExtractionError(f"function calls are nested deeper than {MAX_NESTING} levels")
        self.active.append(key)
        count = self.nodes(self.functions[key].node, 0)
        self.active.pop()
        self.memo[key] = count
        return count
