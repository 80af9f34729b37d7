"""One stored graph (its operator and flow rows, its models' opsets) → a weightless `onnx.ModelProto`.

What the store keeps is exactly what the architecture hash reads, so the rebuilt model hashes to the
stored `graph_id` (docs/generation.md states the rules; tests check them on every corpus):

- operators become nodes, in a topological order of each graph (a node holding a subgraph comes
  after every producer its bodies read from its graph); node names are `n<idx>`;
- tensors are named after their producer and output slot, `n<idx>_<slot>` (an input node's tensor
  is `n<idx>_0`), so every name is defined once in the whole model; each flow becomes the consumer's
  input at its exact `dst_slot`; slots without a flow or initializer stay empty (`""`);
- graph inputs / outputs of every scope are the input / output nodes in idx order (their position);
  their types are the declared dtype and shape of their flows (unknown: float, no dims);
- GRAPH(S) attributes are rebuilt from the scopes they name (`<idx>/<attr>`, `<idx>/<attr>/<k>`),
  model-local function bodies (`<idx>/<domain>:<name>`) become one FunctionProto per distinct
  function, its formal inputs `x<k>` bound the way the call's input slots are;
- initializers (the consumers' `initializers` JSON) and TENSOR attributes are declared-shape
  placeholders (tensors.py);
- opset imports and the IR version come from the graph's first model row (by model_id).

What cannot come back is reported per graph (`Rebuilt.problems`): attributes stored cut or
truncated, initializers without a stored dtype or shape, required inputs with neither a flow nor an
initializer (sources such as Younger releases lose some). Function outputs are not stored (a body
has no flow out of it): the last unconsumed outputs of its nodes are used, which does not change
the hash.
"""

from __future__ import annotations

import heapq
import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from onnx import (
    FunctionProto,
    GraphProto,
    ModelProto,
    NodeProto,
    OperatorSetIdProto,
    TensorProto,
    ValueInfoProto,
    helper,
)

from younger_graph.canonical import dumps
from younger_graph.export.vocab import canonical_attrs
from younger_graph.generation import schemas
from younger_graph.generation.attributes import Lossy, best_effort, make_attribute
from younger_graph.generation.tensors import Placeholders, dtype_value
from younger_graph.schema import KIND_INPUT, KIND_OPERATOR, KIND_OUTPUT

PRODUCER = "younger-graph"
FIRST_IR_WITHOUT_INITIALIZER_INPUTS = 4  # before IR 4 every initializer is also a graph input
FIRST_IR_WITH_OVERLOADS = 10


@dataclass
class StoredGraph:
    """A graph as the store holds it: node columns in idx order, flows, and its models' opsets."""

    graph_id: str
    kind: list[str]
    op_type: list[str]
    domain: list[str]
    scope: list[str]
    attrs: list[str]
    initializers: list[str]
    src: np.ndarray
    dst: np.ndarray
    src_slot: np.ndarray
    dst_slot: np.ndarray
    dtype: list[str | None] | None = None
    shape: list[str | None] | None = None
    opsets: dict[str, int] = field(default_factory=dict)
    ir_version: int | None = None

    @classmethod
    def from_frames(cls, graph_id: str, ops: pd.DataFrame, flows: pd.DataFrame,
                    model: dict[str, Any] | None = None) -> StoredGraph:
        """From one graph's rows of read_operators (sorted by idx) and read_flow_types, and a model row."""
        def col(df: pd.DataFrame, name: str) -> list[Any]:
            return [None if v is None or (isinstance(v, float) and np.isnan(v)) else v for v in df[name]] \
                if name in df.columns else [None] * len(df)

        def ints(name: str) -> np.ndarray:
            return pd.to_numeric(flows[name], errors="coerce").fillna(0).to_numpy(np.int64)

        opsets, ir = parse_model_row(model)
        return cls(graph_id, [str(v or "") for v in ops["kind"]], [str(v or "") for v in ops["op_type"]],
                   [str(v or "") for v in ops["domain"]], [str(v or "") for v in ops["scope"]],
                   [str(v or "{}") for v in ops["attrs"]], [str(v or "{}") for v in ops["initializers"]],
                   ints("src"), ints("dst"), ints("src_slot"), ints("dst_slot"),
                   col(flows, "dtype"), col(flows, "shape"), opsets, ir)


def parse_model_row(model: dict[str, Any] | None) -> tuple[dict[str, int], int | None]:
    """(opsets, ir_version) of a models row; unreadable values are left out."""
    if not model:
        return {}, None
    opsets: dict[str, int] = {}
    try:
        raw = json.loads(model.get("opsets") or "{}")
        opsets = {str(k): int(v) for k, v in raw.items()} if isinstance(raw, dict) else {}
    except (TypeError, ValueError):
        opsets = {}
    try:
        ir = int(model["ir_version"]) if model.get("ir_version") is not None else None
    except (TypeError, ValueError):
        ir = None
    return opsets, ir


@dataclass
class Rebuilt:
    model: ModelProto
    problems: list[str]
    weights_bytes: int  # length of the external weights file the model refers to (0: none)


def tensor_name(idx: int, slot: int) -> str:
    return f"n{idx}_{slot}"


def rebuild(g: StoredGraph, weights_location: str = "weights.bin") -> Rebuilt:
    """The ModelProto of a stored graph (module docstring), its problems and its weights length."""
    return _Rebuilder(g, weights_location).model()


class _Rebuilder:
    def __init__(self, g: StoredGraph, location: str) -> None:
        self.g = g
        n = len(g.kind)
        self.tensors = Placeholders(location)
        self.problems: list[str] = []
        self.opsets = {schemas.opset_key(k): v for k, v in g.opsets.items()}
        self.inputs_of: list[dict[int, tuple[int, int, int]]] = [{} for _ in range(n)]
        self.max_out = np.full(n, -1, dtype=np.int64)
        self.first_flow: dict[tuple[int, int], int] = {}  # (producer, slot) → its first flow
        for f, (s, d, ss, ds) in enumerate(zip(g.src.tolist(), g.dst.tolist(), g.src_slot.tolist(),
                                               g.dst_slot.tolist())):
            self.inputs_of[d][ds] = (s, ss, f)
            self.max_out[s] = max(self.max_out[s], ss)
            self.first_flow.setdefault((s, ss), f)
        self.members: dict[str, list[int]] = defaultdict(list)
        for i, s in enumerate(g.scope):
            self.members[s].append(i)
        self._attrs: dict[int, dict[str, Any]] = {}
        self.owner: dict[str, int] = {}  # body scope → the operator holding it
        self.bodies: dict[int, list[str]] = defaultdict(list)  # operator → the scopes of its bodies
        self.function_scope: dict[int, str] = {}  # call idx → its function body's scope
        self._find_bodies()
        self.function_scopes = set(self.function_scope.values())
        self.functions: dict[tuple[str, str, str], FunctionProto] = {}  # (domain, name, overload)
        self.overload = self._overloads()
        self.graph_inits: list[list[TensorProto | Any]] = []  # initializers of the graphs being built
        self.function_refs: list[set[str]] = []  # attribute references met in the functions being built

    # -- structure --------------------------------------------------------------------------------
    def attrs(self, i: int) -> dict[str, Any]:
        if i not in self._attrs:
            try:
                value = json.loads(self.g.attrs[i] or "{}")
            except ValueError:
                value = {}
                self.problems.append(f"operator {i}: its attributes are not JSON")
            self._attrs[i] = value if isinstance(value, dict) else {}
        return self._attrs[i]

    def _find_bodies(self) -> None:
        g = self.g
        for i, (kind, text) in enumerate(zip(g.kind, g.attrs)):
            if kind != KIND_OPERATOR:
                continue
            if '"graph"' in text:
                for value in self.attrs(i).values():
                    refs = value if isinstance(value, list) else [value]
                    for ref in refs:
                        if isinstance(ref, dict) and set(ref) == {"graph"}:
                            self.owner[str(ref["graph"])] = i
                            self.bodies[i].append(str(ref["graph"]))
            prefix = f"{g.scope[i]}/" if g.scope[i] else ""
            body = f"{prefix}{i}/{g.domain[i]}:{g.op_type[i]}"
            if body in self.members:
                self.owner[body] = i
                self.bodies[i].append(body)
                self.function_scope[i] = body

    def _overloads(self) -> dict[int, str]:
        """Call idx → the overload its FunctionProto gets: "" unless calls of one (domain, name) have
        different bodies (overloads are not stored: the bodies' operators tell them apart)."""
        g = self.g
        variants: dict[tuple[str, str], list[tuple[Any, ...]]] = defaultdict(list)
        out = {}
        for call, scope in sorted(self.function_scope.items()):
            inside = sorted(self._subtree(scope))
            body = tuple((g.op_type[j], g.domain[j], canonical_attrs(g.attrs[j]), g.initializers[j]) for j in inside)
            seen = variants[(g.domain[call], g.op_type[call])]
            if body not in seen:
                seen.append(body)
            k = seen.index(body)
            out[call] = f"yg{k}" if k else ""
        return out

    def order(self, scope: str, ops: list[int]) -> list[int]:
        """Topological order of a scope's operators (smallest idx first among the ready ones), counting
        what their bodies read from this scope; nodes on a cycle (malformed) in idx order."""
        wanted = set(ops)
        after: dict[int, list[int]] = defaultdict(list)
        indeg = dict.fromkeys(ops, 0)
        for i in ops:
            for d in self._body_and_self(i):
                for s, _ss, _f in self.inputs_of[d].values():
                    if s in wanted and s != i:
                        after[s].append(i)
                        indeg[i] += 1
        heap = [i for i in ops if not indeg[i]]
        heapq.heapify(heap)
        out: list[int] = []
        placed: set[int] = set()
        while len(out) < len(ops):
            if not heap:
                heap.append(min(i for i in ops if i not in placed))
            i = heapq.heappop(heap)
            if i in placed:
                continue
            placed.add(i)
            out.append(i)
            for j in after[i]:
                indeg[j] -= 1
                if indeg[j] == 0 and j not in placed:
                    heapq.heappush(heap, j)
        return out

    def _body_and_self(self, i: int) -> list[int]:
        """Node i and every node nested in its bodies, at any depth."""
        out, stack = [i], [i]
        while stack:
            for scope in self.bodies.get(stack.pop(), ()):
                for k in self.members.get(scope, []):
                    out.append(k)
                    if self.g.kind[k] == KIND_OPERATOR:
                        stack.append(k)
        return out

    def _subtree(self, scope: str) -> list[int]:
        """Every node of a scope and of the bodies nested in it, at any depth."""
        out: list[int] = []
        stack = [scope]
        while stack:
            for k in self.members.get(stack.pop(), []):
                out.append(k)
                stack.extend(self.bodies.get(k, ()))
        return out

    def enclosing_function(self, scope: str) -> str | None:
        """The innermost function body a scope lies in (itself included), if any."""
        while scope:
            holder = self.owner.get(scope)
            if holder is None:
                return None
            if self.function_scope.get(holder) == scope:
                return scope
            scope = self.g.scope[holder]
        return None

    # -- names --------------------------------------------------------------------------------------
    def flow_input(self, consumer: int, producer: int, slot: int) -> str:
        """The name a consumer reads a flow by: the producer's tensor, or inside a function body whose
        call receives that tensor, the formal input bound to it."""
        function = self.enclosing_function(self.g.scope[consumer])
        if function is None or self._within(producer, function):
            return tensor_name(producer, slot)
        call = self.owner[function]
        for k, (s, ss, _f) in sorted(self.inputs_of[call].items()):
            if (s, ss) == (producer, slot):
                return f"x{k}"
        self.problems.append(f"operator {consumer} reads a tensor its function call does not pass")
        return tensor_name(producer, slot)

    def _within(self, node: int, scope: str) -> bool:
        s = self.g.scope[node]
        return s == scope or s.startswith(scope + "/")

    def initializer_input(self, consumer: int, slot: int, summary: dict[str, Any]) -> str:
        """An initializer slot: a placeholder in the consumer's graph; directly inside a function body
        (which has no initializers), the formal input whose call slot holds the same initializer."""
        scope = self.g.scope[consumer]
        if scope in self.function_scopes:
            call = self.owner[scope]
            wanted = dumps(summary)
            for k, other in sorted(self._initializer_slots(call).items()):
                if dumps(other) == wanted:
                    return f"x{k}"
            self.problems.append(f"operator {consumer} reads an initializer its function call does not pass")
        name = f"w{consumer}_{slot}"
        if summary.get("dtype") is None or summary.get("shape") is None:
            self.problems.append(f"operator {consumer}: the initializer at slot {slot} has no stored dtype or shape "
                                 "(its source did not keep them)")
        if summary.get("sparse"):
            self.graph_inits[-1].append(self.tensors.sparse(name, summary))
        else:
            self.graph_inits[-1].append(self.tensors.tensor(name, summary))
        return name

    def _initializer_slots(self, i: int) -> dict[int, dict[str, Any]]:
        text = self.g.initializers[i]
        if not text or text == "{}":
            return {}
        try:
            value = json.loads(text)
            return {int(k): v for k, v in value.items()}
        except (ValueError, AttributeError):
            self.problems.append(f"operator {i}: its initializers are not JSON")
            return {}

    # -- nodes and graphs ---------------------------------------------------------------------------
    def num_outputs(self, i: int) -> int:
        s = self.schema(i)
        declared = s.min_output if s is not None else 1
        return int(max(self.max_out[i] + 1, declared, 1))

    def schema(self, i: int) -> Any | None:
        """The operator's schema at the model's opset (the opset this rebuild imports, i.e. ONNX's latest
        for the default domain when the source recorded none)."""
        g = self.g
        key = schemas.opset_key(g.domain[i])
        version = self.opsets.get(key, _default_version(key))
        return schemas.schema(g.op_type[i], g.domain[i], version)

    def node(self, i: int) -> NodeProto:
        g = self.g
        n = NodeProto()
        n.op_type, n.domain, n.name = g.op_type[i], g.domain[i], f"n{i}"
        flows = self.inputs_of[i]
        inits = self._initializer_slots(i)
        count = max([*flows, *inits, -1]) + 1
        for k in range(count):
            if k in flows:
                n.input.append(self.flow_input(i, flows[k][0], flows[k][1]))
            elif k in inits:
                n.input.append(self.initializer_input(i, k, inits[k]))
            else:
                n.input.append("")
        n.output.extend(tensor_name(i, s) for s in range(self.num_outputs(i)))
        s = self.schema(i)
        missing = [k for k in range(s.min_input if s is not None else 0) if k >= count or not n.input[k]]
        if missing:
            self.problems.append(f"operator {i} ({g.op_type[i]}): required input {missing[0]} has no stored producer "
                                 "or initializer (lost by its source): the model cannot pass onnx.checker")
        for name, value in sorted(self.attrs(i).items()):
            if isinstance(value, dict) and "ref" in value and self.function_refs:
                self.function_refs[-1].add(str(value["ref"]))
            try:
                a = make_attribute(name, value, schemas.attribute_type(s, name), self.tensors,
                                   lambda attr, scope, i=i: self.graph(scope, f"n{i}_{attr}"), f"n{i}.{name}")
            except Lossy as exc:
                self.problems.append(f"operator {i} ({g.op_type[i]}): {exc}")
                a = best_effort(name, value)
                if a is None:
                    continue
            n.attribute.append(a)
        if i in self.function_scope:
            n.overload = self.overload[i]
            self.function(i)
        return n

    def graph(self, scope: str, name: str) -> GraphProto:
        g = self.g
        members = self.members.get(scope, [])
        self.graph_inits.append([])
        ops = [i for i in members if g.kind[i] == KIND_OPERATOR]
        nodes = [self.node(i) for i in self.order(scope, ops)]
        inputs = [self.value_info(tensor_name(i, 0), self.outgoing_type(i), scope == "")
                  for i in members if g.kind[i] == KIND_INPUT]
        outputs = [self.output_info(i, scope == "") for i in members if g.kind[i] == KIND_OUTPUT]
        inits = self.graph_inits.pop()
        dense = [t for t in inits if isinstance(t, TensorProto)]
        sparse = [t for t in inits if not isinstance(t, TensorProto)]
        if (self.g.ir_version or 99) < FIRST_IR_WITHOUT_INITIALIZER_INPUTS:
            inputs += [helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)) for t in dense]
        graph = helper.make_graph(nodes, name, inputs, outputs, dense, sparse_initializer=sparse)
        graph.value_info.extend(self.value_infos(ops))
        return graph

    def function(self, call: int) -> None:
        """The FunctionProto of a call's function (once per domain and name), from this call's body."""
        g = self.g
        key = (g.domain[call], g.op_type[call], self.overload[call])
        if key in self.functions:
            return
        scope = self.function_scope[call]
        self.functions[key] = FunctionProto()  # placeholder: a recursive call must not build it twice
        calls = [i for i in self.function_scope if (g.domain[i], g.op_type[i], self.overload[i]) == key]
        num_inputs = max(max([*self.inputs_of[i], *self._initializer_slots(i), -1]) + 1 for i in calls)
        num_outputs = max(self.num_outputs(i) for i in calls)
        ops = self.order(scope, list(self.members[scope]))
        self.function_refs.append(set())
        self.graph_inits.append([])  # stays empty: a function body's initializers are its formal inputs
        nodes = [self.node(i) for i in ops]
        self.graph_inits.pop()
        refs = self.function_refs.pop()
        f = self.functions[key]
        f.name, f.domain, f.overload = g.op_type[call], g.domain[call], self.overload[call]
        f.input.extend(f"x{k}" for k in range(num_inputs))
        f.output.extend(self.function_outputs(ops, nodes, num_outputs))
        f.attribute.extend(sorted(refs))
        f.node.extend(nodes)
        f.opset_import.extend(self.opset_imports())
        f.doc_string = f"rebuilt from operator {call}'s body ({scope}); outputs are not stored and were chosen"

    def function_outputs(self, ops: list[int], nodes: list[NodeProto], count: int) -> list[str]:
        """The last `count` outputs of the body nodes that nothing in the body consumes (the stored
        graph has no edge out of a body, so its true outputs are unknown; they do not enter the hash)."""
        consumed = {name for n in nodes for name in n.input}
        produced = [name for n in nodes for name in n.output]
        free = [name for name in produced if name not in consumed]
        chosen = free[-count:]
        if len(chosen) < count:  # too few free outputs: the last produced ones, then the formal inputs
            chosen = free + [p for p in produced if p not in free][len(free) - count:]
        while len(chosen) < count:
            chosen.append(f"x{len(chosen)}")
        return chosen[:count]

    # -- types --------------------------------------------------------------------------------------
    def outgoing_type(self, i: int) -> tuple[str | None, str | None]:
        f = self.first_flow.get((i, 0))
        return (None, None) if f is None else self.flow_type(f)

    def flow_type(self, f: int) -> tuple[str | None, str | None]:
        g = self.g
        dtype = g.dtype[f] if g.dtype is not None else None
        shape = g.shape[f] if g.shape is not None else None
        return dtype, shape

    def output_info(self, i: int, main: bool) -> ValueInfoProto:
        flow = self.inputs_of[i].get(0)
        if flow is None:  # the output of an initializer, or of nothing (malformed): a placeholder of that name
            name = f"o{i}"
            self.graph_inits[-1].append(self.tensors.tensor(name, {"dtype": "float", "shape": []}))
            return self.value_info(name, ("float", "[]"), main)
        s, ss, f = flow
        return self.value_info(self.flow_input(i, s, ss), self.flow_type(f), main)

    def value_info(self, name: str, declared: tuple[str | None, str | None], main: bool) -> ValueInfoProto:
        dtype, shape = declared
        dims = _dims(shape)
        if dtype is None and dims is None and not main:
            vi = ValueInfoProto()
            vi.name = name
            return vi
        vi = helper.make_tensor_value_info(name, dtype_value(dtype), dims)
        if dims is None:
            vi.type.tensor_type.shape.SetInParent()  # the checker wants a shape on main graph values
        return vi

    def value_infos(self, ops: list[int]) -> list[ValueInfoProto]:
        """Declared types of the tensors these operators produce (first flow of each), when known."""
        g = self.g
        if g.dtype is None:
            return []
        out = []
        for i in ops:
            for slot in range(int(self.max_out[i]) + 1):
                f = self.first_flow.get((i, slot))
                if f is None or not g.dtype[f]:
                    continue
                dims = _dims(g.shape[f] if g.shape is not None else None)
                if dims is not None:
                    out.append(helper.make_tensor_value_info(tensor_name(i, slot), dtype_value(g.dtype[f]), dims))
        return out

    # -- the model ----------------------------------------------------------------------------------
    def opset_imports(self) -> list[OperatorSetIdProto]:
        used = {schemas.opset_key(d) for d in self.g.domain}
        opsets = dict(self.opsets)
        for key in used:
            if key not in opsets:
                opsets[key] = _default_version(key)
        return [helper.make_opsetid(schemas.import_domain(k), v) for k, v in sorted(opsets.items())]

    def model(self) -> Rebuilt:
        graph = self.graph("", "main")
        functions = [f for _, f in sorted(self.functions.items())]
        model = helper.make_model(graph, opset_imports=self.opset_imports(), functions=functions,
                                  producer_name=PRODUCER)
        if self.g.ir_version:
            model.ir_version = int(self.g.ir_version)
        if any(self.overload.values()):
            model.ir_version = max(model.ir_version, FIRST_IR_WITH_OVERLOADS)
        model.doc_string = f"rebuilt by younger-graph from graph {self.g.graph_id} (weights are placeholders)"
        return Rebuilt(model, list(dict.fromkeys(self.problems)), self.tensors.offset)


def _default_version(key: str) -> int:
    if key == schemas.DEFAULT_DOMAIN:
        from onnx import defs

        return int(defs.onnx_opset_version())
    return 1


def _dims(shape: str | None) -> list[Any] | None:
    if shape is None:
        return None
    try:
        value = json.loads(shape)
    except (TypeError, ValueError):
        return None
    if not isinstance(value, list):
        return None
    return [d if isinstance(d, (int, str)) and not isinstance(d, bool) else None for d in value]
