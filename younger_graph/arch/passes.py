"""The normalisation passes of the architecture view (docs/arch.md), each a small function over a
`WorkGraph` that rewrites it in place.

Every pass is conservative: it changes a node only when the rewrite is provably the same
architecture from what the columns hold (op types, attributes, constant inputs' dtype and shape,
declared tensor shapes); a pattern it cannot prove is left as it is. `PASSES` is the order
`arch_view` runs them in; each is tested alone in tests/test_arch_view.py.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from math import prod
from typing import Any

import numpy as np

from younger_graph.arch.defaults import DEFAULTS
from younger_graph.arch.graph import Source, WorkGraph
from younger_graph.schema import KIND_OPERATOR, KIND_OUTPUT

Pass = Callable[[WorkGraph], None]

_DEFAULTS: dict[str, dict[str, Any]] = {k: json.loads(v) for k, v in DEFAULTS.items()}
# Numerical constants of a layer that are not its architecture (two exporters, or two checkpoints,
# spell them differently).
NUMERIC_ATTRIBUTES = frozenset({"epsilon", "momentum", "stash_type", "training_mode",
                                # how a shape parameter is read, or the count of outputs a Split has anyway
                                "allowzero", "num_outputs"})

# Input slots that carry shapes, axes, sizes, indices of slices or quantisation parameters: how a
# tensor is reshaped or stored, not what the network computes. Their edges and constants are dropped,
# so the subgraphs that only compute them become dead and go.
PARAMETER_SLOTS: dict[str, frozenset[int]] = {
    op: frozenset(slots) for op, slots in {
        "Reshape": (1,), "Expand": (1,), "Unsqueeze": (1,), "Squeeze": (1,), "Tile": (1,),
        "ReduceMean": (1,), "ReduceSum": (1,), "ReduceMax": (1,), "ReduceMin": (1,), "ReduceProd": (1,),
        "ReduceL1": (1,), "ReduceL2": (1,), "ReduceLogSum": (1,), "ReduceLogSumExp": (1,),
        "ReduceSumSquare": (1,), "Slice": (1, 2, 3, 4), "Pad": (1, 2, 3), "Resize": (1, 2, 3),
        "Upsample": (1,), "Split": (1,), "ConstantOfShape": (0,), "TopK": (1,), "OneHot": (1, 2),
        "CumSum": (1,), "Trilu": (1,), "Clip": (1, 2), "Dropout": (1, 2), "Range": (0, 1, 2),
        "NonMaxSuppression": (2, 3, 4), "QuantizeLinear": (1, 2), "DequantizeLinear": (1, 2),
        "DynamicQuantizeLinear": (), "CenterCropPad": (1,), "RoiAlign": (), "GridSample": (),
        "Shape": (0,), "Size": (0,), "BlackmanWindow": (0,), "HannWindow": (0,), "HammingWindow": (0,),
        "DFT": (1, 2), "STFT": (1, 2, 3),
    }.items()
}

# Ops whose output is their first input, unchanged, in inference.
PASS_THROUGH = frozenset({"Identity", "Dropout", "QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear",
                          "Optional", "OptionalGetElement"})
# Operators of any number of inputs that return their only input when given one.
VARIADIC = frozenset({"Concat", "Sum", "Max", "Min", "Mean"})
# No-input ops that make a value out of nothing but their attributes.
# (Shape and Size count: their input is read for its static shape only, a parameter, see above.)
CONSTANT_OPS = frozenset({"Constant", "ConstantOfShape", "Range", "EyeLike", "Shape", "Size"})
# Ops that never fold into a constant (their output is not a function of their inputs alone).
NEVER_CONSTANT = frozenset({"RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike",
                            "Multinomial", "Bernoulli", "If", "Loop", "Scan"})
# Constant summaries that keep their input's dtype/shape (elementwise unary, casts, (de)quantisation).
SHAPE_PRESERVING = frozenset({"Identity", "Cast", "CastLike", "Neg", "Sqrt", "Reciprocal", "Abs", "Exp", "Log",
                              "DequantizeLinear", "QuantizeLinear", "Dropout", "Relu", "Sigmoid", "Tanh"})

# Quantised operators (ONNX QOperator and onnxruntime's com.microsoft) → the float operator and which
# of their input slots carry the data (old slot → new slot); every other slot is a quantisation
# parameter.
QUANTIZED: dict[tuple[str, str], tuple[str, dict[int, int]]] = {
    ("", "QLinearConv"): ("Conv", {0: 0, 3: 1, 8: 2}),
    ("", "QLinearMatMul"): ("MatMul", {0: 0, 3: 1}),
    ("", "ConvInteger"): ("Conv", {0: 0, 1: 1}),
    ("", "MatMulInteger"): ("MatMul", {0: 0, 1: 1}),
    ("com.microsoft", "QLinearAdd"): ("Add", {0: 0, 3: 1}),
    ("com.microsoft", "QLinearMul"): ("Mul", {0: 0, 3: 1}),
    ("com.microsoft", "QLinearSigmoid"): ("Sigmoid", {0: 0}),
    ("com.microsoft", "QLinearLeakyRelu"): ("LeakyRelu", {0: 0}),
    ("com.microsoft", "QLinearSoftmax"): ("Softmax", {0: 0}),
    ("com.microsoft", "QLinearGlobalAveragePool"): ("GlobalAveragePool", {0: 0}),
    ("com.microsoft", "QLinearAveragePool"): ("AveragePool", {0: 0}),
    ("com.microsoft", "QLinearReduceMean"): ("ReduceMean", {0: 0}),
    ("com.microsoft", "QGemm"): ("Gemm", {0: 0, 3: 1, 6: 2}),
    ("com.microsoft", "MatMulIntegerToFloat"): ("MatMul", {0: 0, 1: 1}),
    ("com.microsoft", "DynamicQuantizeMatMul"): ("MatMul", {0: 0, 1: 1}),
    ("com.microsoft", "QuantizeLinear"): ("QuantizeLinear", {0: 0}),
    ("com.microsoft", "DequantizeLinear"): ("DequantizeLinear", {0: 0}),
    ("com.microsoft", "FusedMatMul"): ("MatMul", {0: 0, 1: 1}),
    ("com.microsoft", "Gelu"): ("Gelu", {0: 0}),
    ("com.microsoft", "BiasGelu"): ("Gelu", {0: 0}),
    ("com.microsoft", "FastGelu"): ("Gelu", {0: 0}),
}
_QUANTIZED_OPS = frozenset(op for _, op in QUANTIZED)
# Attributes a quantised operator has that its float twin does not (or that mean nothing after).
QUANTIZED_ONLY_ATTRIBUTES = frozenset({"channels_last", "transA", "transB", "alpha", "output_dtype"})
# ...and the attributes to give the float operator.
QUANTIZED_ATTRIBUTES: dict[tuple[str, str], dict[str, Any]] = {
    ("com.microsoft", "FastGelu"): {"approximate": "tanh"},
}

ACTIVATIONS = frozenset({"Relu", "Sigmoid", "Tanh", "LeakyRelu", "HardSigmoid", "HardSwish", "Clip", "Elu"})


# -- attributes -----------------------------------------------------------------------------------
def _is_default(op: str, name: str, value: Any, defaults: dict[str, Any]) -> bool:
    if name in defaults and defaults[name] == value:
        return True
    if isinstance(value, list) and value and all(isinstance(x, int) for x in value):
        if name in ("strides", "dilations") and all(x == 1 for x in value):
            return True
        if name == "pads" and all(x == 0 for x in value):
            return True
    return False


def canonical_attributes(g: WorkGraph) -> None:
    """Drop attributes equal to their ONNX default (exporters differ in spelling defaults out:
    `auto_pad: NOTSET`, `transA: 0`, strides of ones, pads of zeros) and numerical constants that are
    not architecture (`epsilon`, `momentum`, `stash_type`). Each distinct attribute dict is
    canonicalised once."""
    done: dict[int, dict[str, Any]] = {}
    for v, attrs in enumerate(g.attrs):
        if not attrs or not g.alive[v] or g.kind[v] != KIND_OPERATOR:
            continue
        key = id(attrs) ^ hash((g.domain[v], g.op_type[v]))
        out = done.get(key)
        if out is None:
            op = g.op_type[v] if g.domain[v] == "" else f"{g.domain[v]}:{g.op_type[v]}"
            defaults = _DEFAULTS.get(op, {})
            out = {k: x for k, x in attrs.items()
                   if k not in NUMERIC_ATTRIBUTES and not _is_default(op, k, x, defaults)}
            out = attrs if len(out) == len(attrs) else out
            done[key] = out
        g.attrs[v] = out


# -- quantisation and contrib operators -------------------------------------------------------------
def dequantize(g: WorkGraph) -> None:
    """Quantised operators become their float operator: QLinearConv/ConvInteger → Conv,
    QLinearMatMul/MatMulInteger/MatMulIntegerToFloat → MatMul, com.microsoft QLinearAdd → Add, ...
    (`QUANTIZED`); their data inputs move to the float operator's slots and scales and zero points
    are dropped. Also onnxruntime's renamed float operators (FusedMatMul, BiasGelu, FastGelu)."""
    if not g.present(_QUANTIZED_OPS):
        return
    changed = False
    for v in g.nodes(*_QUANTIZED_OPS, domain=None):
        key = (g.domain[v], g.op_type[v])
        if key not in QUANTIZED:
            continue
        op, slots = QUANTIZED[key]
        for e in g.in_edges(v):
            old = int(g.dst_slot[e])
            if old in slots:
                g.dst_slot[e] = slots[old]
            else:
                g.e_alive[e] = False
        g.inits[v] = {str(slots[int(s)]): x for s, x in g.inits[v].items() if int(s) in slots}
        attrs = {k: x for k, x in g.attrs[v].items() if k not in QUANTIZED_ONLY_ATTRIBUTES or op == "Gemm"}
        g.attrs[v] = {**attrs, **QUANTIZED_ATTRIBUTES.get(key, {})}
        g.set_op(v, op)
        changed = True
    if changed:
        g.reindex()


# -- parameters, constants, identities, dead code ---------------------------------------------------
def drop_parameter_inputs(g: WorkGraph) -> None:
    """Inputs that only parameterise an operator (a Reshape's target shape, a Reduce's axes, Slice
    bounds, quantisation scales: `PARAMETER_SLOTS`) leave the view, edges and constants alike; the
    Shape → Gather → Unsqueeze → Concat chains that computed them become dead (`drop_dead`)."""
    dropped = []
    for v in g.nodes(*PARAMETER_SLOTS):
        slots = PARAMETER_SLOTS[g.op_type[v]]
        if not slots:
            continue
        dropped.extend(e for e in g.in_edges(v) if int(g.dst_slot[e]) in slots)
        if g.inits[v] and any(int(s) in slots for s in g.inits[v]):
            g.inits[v] = {s: x for s, x in g.inits[v].items() if int(s) not in slots}
    if dropped:
        g.drop_edges(dropped)
        g.reindex()


def _constant_summary(g: WorkGraph, v: int) -> dict[str, Any]:
    """What a constant node's output looks like: a Constant's value, a shape-preserving op's input,
    else unknown (the consumer's declared input shape is used when there is one)."""
    op = g.op_type[v]
    if op == "Constant":
        for key in ("value", "sparse_value"):
            tensor = g.attrs[v].get(key)
            if isinstance(tensor, dict) and isinstance(tensor.get("tensor"), dict):
                return dict(tensor["tensor"])
        for key, dtype in (("value_float", "float"), ("value_int", "int64"), ("value_string", "string")):
            if key in g.attrs[v]:
                return {"dtype": dtype, "shape": []}
        for key, dtype in (("value_floats", "float"), ("value_ints", "int64"), ("value_strings", "string")):
            if isinstance(g.attrs[v].get(key), list):
                return {"dtype": dtype, "shape": [len(g.attrs[v][key])]}
    if op in SHAPE_PRESERVING and "0" in g.inits[v]:
        summary = dict(g.inits[v]["0"])
        if op in ("DequantizeLinear", "Cast"):
            summary["dtype"] = "float" if op == "DequantizeLinear" else summary.get("dtype")
        summary.pop("sparse", None)
        return summary
    if op == "Transpose" and "0" in g.inits[v]:
        summary = dict(g.inits[v]["0"])
        perm, shape = g.attrs[v].get("perm"), summary.get("shape")
        if isinstance(shape, list):
            summary["shape"] = [shape[p] for p in perm] if isinstance(perm, list) and len(perm) == len(shape) \
                else shape[::-1]
        return summary
    return {"dtype": None, "shape": None}


def _foldable(g: WorkGraph, v: int) -> bool:
    """v may become a constant once its flow inputs are (an operator that is not random, not control
    flow, and feeds no graph output)."""
    if g.kind[v] != KIND_OPERATOR or g.op_type[v] in NEVER_CONSTANT or g.domain[v] not in ("", "com.microsoft"):
        return False
    if g.attrs[v] and any(isinstance(x, dict) and "graph" in x for x in g.attrs[v].values()):
        return False
    return not any(g.kind[int(g.dst[e])] == KIND_OUTPUT for e in g.out_edges(v))  # a graph output stays


def fold_constants(g: WorkGraph) -> None:
    """Nodes whose every input is a constant (Constant, ConstantOfShape, Identity or
    DequantizeLinear of an initializer, a Transpose of a weight, a constant computed from constants...)
    are folded into their consumers, which then hold that input as a constant like an initializer.
    One sweep in topological order: a node whose flow inputs all come from folded nodes folds too."""
    live_in = np.bincount(g.dst[g.e_alive], minlength=g.n)
    # A graph without input nodes (not a valid model: a synthetic or truncated one) would fold whole:
    # there, only constants proper fold (no Conv of weights alone).
    limited = "input" not in g.kind
    ready = [v for v in np.flatnonzero(g.alive & g.is_operator & (live_in == 0)).tolist()
             if (g.inits[v] or g.op_type[v] in CONSTANT_OPS) and _foldable(g, v)
             and (not limited or g.op_type[v] in CONSTANT_OPS | PASS_THROUGH | SHAPE_PRESERVING)]
    if not ready:
        return
    remaining = live_in.tolist()
    through: dict[int, Source] = {}
    held: dict[int, dict[str, Any]] = {}  # constants a node reads from folded nodes, until it folds too
    while ready:
        v = ready.pop()
        if v in held:  # its inputs are all constants now: the summary reads them
            g.inits[v] = {**g.inits[v], **held.pop(v)}
        summary = through[v] = _constant_summary(g, v)
        for e in g.out_edges(v):
            if not g.e_alive[e]:
                continue
            w = int(g.dst[e])
            remaining[w] -= 1
            if remaining[w] == 0 and g.kind[w] == KIND_OPERATOR and _foldable(g, w) and (
                    not limited or g.op_type[w] in CONSTANT_OPS | PASS_THROUGH | SHAPE_PRESERVING):
                ready.append(w)
            if g.kind[w] == KIND_OPERATOR:
                held.setdefault(w, {})[str(int(g.dst_slot[e]))] = summary
    g.remove(through)
    g.reindex()


# ONNX TensorProto element types by number (Cast's `to`), for the dtype inference below.
ELEMENT_TYPES = {1: "float", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32", 7: "int64", 8: "string",
                 9: "bool", 10: "float16", 11: "double", 12: "uint32", 13: "uint64", 16: "bfloat16"}
BOOLEAN_OPS = frozenset({"Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "Not", "And", "Or", "Xor",
                         "IsNaN", "IsInf"})
INT64_OPS = frozenset({"Shape", "Size", "ArgMax", "ArgMin", "NonZero"})


def node_dtype(g: WorkGraph, v: int, memo: dict[int, str | None]) -> str | None:
    """The element type of v's first output where it can be told: declared on an edge, a Cast's
    target, booleans from comparisons, int64 from Shape/ArgMax..., else the type of its first input
    (elementwise arithmetic, matrix products, normalisations and reshapes keep it). Walks up first
    inputs until one is known; `memo` keeps every answer."""
    path: list[int] = []
    found: str | None = None
    u: int | None = v
    while u is not None:
        if u in memo:
            found = memo[u]
            break
        path.append(u)
        declared = next((g.e_dtype[e] for e in g.out_edges(u) if g.src_slot[e] == 0 and g.e_dtype[e]), None)
        op = g.op_type[u]
        if declared:
            found = declared
            break
        if g.kind[u] != KIND_OPERATOR or g.domain[u] != "":
            if g.kind[u] == KIND_OUTPUT:
                u = g.producer(u, 0)
                continue
            break
        if op == "Cast" and g.attrs[u].get("to") in ELEMENT_TYPES:
            found = ELEMENT_TYPES[g.attrs[u]["to"]]
            break
        if op in BOOLEAN_OPS:
            found = "bool"
            break
        if op in INT64_OPS:
            found = "int64"
            break
        first = g.producer(u, 0)
        if first is None:
            found = (g.inits[u].get("0") or {}).get("dtype")
            break
        if len(path) > g.n:  # cannot happen in a DAG; a guard against malformed input
            break
        u = first
    for w in path:
        memo[w] = found
    return found


def _input_dtype(g: WorkGraph, v: int, memo: dict[int, str | None]) -> str | None:
    for e in g.in_edges(v):
        if g.dst_slot[e] == 0:
            return g.e_dtype[e] or node_dtype(g, int(g.src[e]), memo)
    return None


def _same_shape(a: list[Any] | None, b: list[Any] | None) -> bool:
    return a is not None and b is not None and len(a) == len(b) and all(
        x == y and x is not None for x, y in zip(a, b))


def drop_identities(g: WorkGraph) -> None:
    """Operators that pass their first input through unchanged are bypassed: Identity, Dropout,
    (Dynamic)QuantizeLinear/DequantizeLinear on activations (the arithmetic, not the storage, is the
    architecture), a Concat (Sum, Max, Min, Mean) of a single input, a Cast to the dtype its input
    already has (declared, or inferred by
    `node_dtype`), and Reshape/Expand/Squeeze/Unsqueeze/Flatten whose declared input and output
    shapes are equal (only when both are declared)."""
    through: dict[int, Source] = {}
    dtypes: dict[int, str | None] = {}
    for v in g.nodes(*PASS_THROUGH, *VARIADIC, "Cast", "Reshape", "Expand", "Squeeze", "Unsqueeze", "Flatten"):
        op = g.op_type[v]
        if op in PASS_THROUGH:
            pass
        elif op in VARIADIC:
            if len(g.in_edges(v)) + len(g.inits[v]) != 1 or (g.inits[v] and "0" not in g.inits[v]):
                continue  # a Concat (Sum, Max...) of one input is that input
        elif op == "Cast":
            to = ELEMENT_TYPES.get(g.attrs[v].get("to"))
            if to is None or to != _input_dtype(g, v, dtypes):
                continue
        elif op in ("Reshape", "Expand", "Squeeze", "Unsqueeze", "Flatten"):
            if not _same_shape(g.input_shape(v, 0), g.output_shape(v)):
                continue
        else:
            continue
        if any(int(g.src_slot[e]) != 0 for e in g.out_edges(v)) and op != "DynamicQuantizeLinear":
            continue  # a second output (Dropout's mask) is used: not a plain pass-through
        producer = g.producer(v, 0)
        if producer is not None:
            slot = next(int(g.src_slot[e]) for e in g.in_edges(v) if g.dst_slot[e] == 0)
            through[v] = (producer, slot)
        elif "0" in g.inits[v]:
            through[v] = dict(g.inits[v]["0"])
        else:
            through[v] = None
    if through:
        g.remove(through)
        g.reindex()


def drop_dead(g: WorkGraph) -> None:
    """Operators whose results reach no output node (after parameter inputs were dropped: shape
    computations; also dead code a model shipped with) are removed, with the bodies of removed
    control-flow operators: operators without consumers are peeled off until none is left. (In a graph
    without output nodes the operators that fed nothing in the exact graph count as its results.)"""
    out_deg = np.bincount(g.src[g.e_alive], minlength=g.n)
    candidates = g.alive & g.is_operator & (out_deg == 0)
    if not g.has_outputs():
        # A graph without output nodes (not a valid model, e.g. a synthetic or truncated one): its
        # results are the operators that fed nothing in the exact graph; keep those.
        candidates &= g.exact_out_degree > 0
    stack = np.flatnonzero(candidates).tolist()
    if not stack:
        return
    out_deg = out_deg.tolist()
    dead: list[int] = []
    while stack:
        v = stack.pop()
        dead.append(v)
        for e in g.in_edges(v):
            u = int(g.src[e])
            if g.e_alive[e] and g.alive[u]:
                out_deg[u] -= 1
                if out_deg[u] == 0 and g.kind[u] == KIND_OPERATOR:
                    stack.append(u)
    through: dict[int, Source] = dict.fromkeys(dead)
    parents = [v for v in dead if any(isinstance(x, (dict, list)) for x in g.attrs[v].values())]
    if parents:  # the bodies of dead control-flow operators go with them
        prefixes = tuple(f"{g.scope[v] + '/' if g.scope[v] else ''}{v}/" for v in parents)
        for u in range(g.n):
            if g.alive[u] and g.scope[u] and g.scope[u].startswith(prefixes):
                through[u] = None
    g.remove(through)
    g.reindex()


# -- fusions --------------------------------------------------------------------------------------
def _reach(g: WorkGraph, start: int, forward: bool, depth: int) -> set[int]:
    """Nodes within `depth` flows of start (downstream or upstream); graph inputs and outputs are
    reached (an input can be the x of a fusion) but not gone through."""
    seen, frontier = {start}, [start]
    for _ in range(depth):
        nxt = []
        for v in frontier:
            for e in (g.out_edges(v) if forward else g.in_edges(v)):
                w = int(g.dst[e] if forward else g.src[e])
                if w not in seen and g.e_alive[e] and g.alive[w]:
                    seen.add(w)
                    if g.kind[w] == KIND_OPERATOR:
                        nxt.append(w)
        frontier = nxt
    return seen


def _region(g: WorkGraph, x: int, exit_: int, between: set[int]) -> set[int] | None:
    """The nodes on paths from x (excluded) to exit_ (included), `between` (those reachable from x
    and reaching exit_), when they form a closed island: each reads only x, constants and the island,
    and each but exit_ feeds only the island."""
    inside = between - {x}
    if exit_ not in inside:
        return None
    x_slots = set()
    for r in inside:
        if not g.alive[r] or g.kind[r] != KIND_OPERATOR or g.domain[r] != "":
            return None
        for e in g.in_edges(r):
            if not g.e_alive[e]:
                continue
            p = int(g.src[e])
            if p == x:
                x_slots.add(int(g.src_slot[e]))
            elif p not in inside:
                return None
        if r != exit_ and any(g.e_alive[e] and (int(g.dst[e]) not in inside or g.kind[int(g.dst[e])] != KIND_OPERATOR)
                              for e in g.out_edges(r)):
            return None
    return inside if len(x_slots) == 1 else None


def _fuse(g: WorkGraph, region: set[int], x: int, exit_: int, op_type: str, attrs: dict[str, Any],
          inits: dict[str, Any], removed: dict[int, Source], into: dict[int, int]) -> None:
    """Replace a closed island by one node (the exit keeps its idx and its consumers) reading x; the
    other nodes are queued in `removed`/`into` for one `WorkGraph.remove` of every fusion."""
    x_slot = next(int(g.src_slot[e]) for r in region for e in g.in_edges(r) if int(g.src[e]) == x and g.e_alive[e])
    g.drop_edges(g.in_edges(exit_))
    for r in region - {exit_}:
        removed[r] = None
        into[r] = exit_
    g.set_op(exit_, op_type)
    g.attrs[exit_], g.inits[exit_] = attrs, inits
    g.add_edge(x, x_slot, exit_, 0)


# A fusion: its anchor op types, and a classifier from the island's op counts (and the graph) to the
# fused (op_type, attrs), or None when the island is something else.
Classifier = Callable[[Counter[str]], tuple[str, dict[str, Any]] | None]


def _gelu(c: Counter[str]) -> tuple[str, dict[str, Any]] | None:
    allowed = {"Erf", "Tanh", "Add", "Mul", "Div", "Pow"}
    if set(c) - allowed:
        return None
    scale = c["Mul"] + c["Div"]
    if c["Erf"] == 1 and c["Tanh"] == 0 and c["Add"] == 1 and c["Pow"] == 0 and scale == 3:
        return "Gelu", {}
    if c["Tanh"] == 1 and c["Erf"] == 0 and c["Add"] == 2 and 4 <= c["Pow"] + scale <= 7:
        return "Gelu", {"approximate": "tanh"}
    return None


def _gate(c: Counter[str]) -> tuple[str, dict[str, Any]] | None:
    ops = frozenset(c.elements())
    if sum(c.values()) == 2 and ops == {"Sigmoid", "Mul"}:
        return "Swish", {}
    if sum(c.values()) == 2 and ops == {"HardSigmoid", "Mul"}:
        return "HardSwish", {}
    if sum(c.values()) == 4 and c == Counter({"Add": 1, "Clip": 1, "Div": 1, "Mul": 1}):
        return "HardSwish", {}
    if sum(c.values()) == 3 and c == Counter({"Softplus": 1, "Tanh": 1, "Mul": 1}):
        return "Mish", {}
    return None


def _norm(c: Counter[str]) -> tuple[str, dict[str, Any]] | None:
    allowed = {"ReduceMean", "Sub", "Pow", "Mul", "Add", "Sqrt", "Div", "Reciprocal", "Cast"}
    if set(c) - allowed or c["Sqrt"] != 1:
        return None
    size = sum(c.values()) - c["Cast"]
    if c["ReduceMean"] == 2 and c["Sub"] == 1 and 6 <= size <= 10:
        return "LayerNormalization", {}
    if c["ReduceMean"] == 1 and c["Sub"] == 0 and 4 <= size <= 8 and c["Pow"] + c["Mul"] >= 2:
        return "RMSNormalization", {}
    return None


def _softmax(c: Counter[str]) -> tuple[str, dict[str, Any]] | None:
    if c["Exp"] == 1 and c["ReduceSum"] == 1 and c["Div"] == 1 and not set(c) - {"Exp", "ReduceSum", "Div",
                                                                                  "ReduceMax", "Sub"}:
        return "Softmax", {}
    return None


# (anchor op types, classifier, how far x may be above the anchor, how far the exit below it)
FUSIONS: list[tuple[tuple[str, ...], Classifier, int, int]] = [
    (("Erf", "Tanh"), _gelu, 4, 4),
    (("Clip", "Softplus"), _gate, 2, 2),
    (("Sqrt",), _norm, 5, 4),
    (("Exp",), _softmax, 2, 2),
]


def fuse_gates(g: WorkGraph) -> None:
    """x·sigmoid(x) → Swish (SiLU) and x·hardsigmoid(x) → HardSwish: the Sigmoid/HardSigmoid reads x
    and feeds only a Mul whose other input is the same x (a fast path for the most frequent
    fusion; `fuse_decompositions` finds the longer forms)."""
    removed: dict[int, Source] = {}
    into: dict[int, int] = {}
    for a in g.nodes("Sigmoid", "HardSigmoid"):
        ins = g.in_edges(a)
        mul = g.sole_consumer(a)
        if len(ins) != 1 or g.inits[a] or not g.is_op(mul, "Mul") or mul in into or a in into:
            continue
        x, x_slot = int(g.src[ins[0]]), int(g.src_slot[ins[0]])
        mul_ins = g.in_edges(mul)
        if len(mul_ins) != 2 or g.inits[mul] or any(int(g.src[e]) not in (a, x) for e in mul_ins) \
                or not any(int(g.src[e]) == x and int(g.src_slot[e]) == x_slot for e in mul_ins):
            continue
        if g.op_type[a] == "HardSigmoid" and g.attrs[a] not in ({}, {"alpha": 0.16666667}):
            continue  # HardSwish is x·HardSigmoid(alpha=1/6, beta=1/2)(x)
        removed[a], into[a] = None, mul
        g.drop_edges(mul_ins)
        g.set_op(mul, "Swish" if g.op_type[a] == "Sigmoid" else "HardSwish")
        g.attrs[mul] = {}
        g.add_edge(x, x_slot, mul, 0)
    if removed:
        g.remove(removed, into)
        g.reindex()


def _norm_constants(g: WorkGraph, region: set[int]) -> dict[str, Any]:
    """A fused normalisation's scale (slot 1) and bias (slot 2): the constants of the affine Mul and
    Add at its end (weights of one dimension or more; eps and the exponent are scalars)."""
    found: dict[str, Any] = {}
    for r in sorted(region):
        for summary in g.inits[r].values():
            shape = summary.get("shape")
            if isinstance(shape, list) and shape and prod(d if isinstance(d, int) else 2 for d in shape) > 1:
                slot = "1" if g.op_type[r] == "Mul" and "1" not in found else "2" if g.op_type[r] == "Add" else None
                if slot:
                    found[slot] = summary
    return found


def _plausible_anchor(g: WorkGraph, a: int) -> bool:
    """A cheap look at an anchor's neighbours before the island search (most Exp, Tanh, Clip...
    are not part of a decomposition): what each fusion needs right next to its anchor."""
    op = g.op_type[a]
    before = g.producer(a, 0)
    after = g.consumers(a)
    if op == "Erf":
        return g.is_op(before, "Div", "Mul")
    if op == "Tanh":
        return g.is_op(before, "Mul", "Add") and any(g.is_op(w, "Add", "Mul") for w in after)
    if op == "Clip":
        return g.is_op(before, "Add") and any(g.is_op(w, "Div", "Mul") for w in after)
    if op == "Softplus":
        return any(g.is_op(w, "Tanh") for w in after)
    if op == "Sqrt":
        return g.is_op(before, "Add") and g.is_op(g.producer(before, 0), "ReduceMean")
    if op == "Exp":
        return any(g.is_op(w, "ReduceSum") for w in after)
    return True


def fuse_decompositions(g: WorkGraph) -> None:
    """The decompositions exporters (older opsets above all) emit are fused into the ONNX operator
    they compute: Gelu (erf and tanh forms), Swish (x·sigmoid(x), SiLU), HardSwish (x·hardsigmoid(x)
    and x·relu6(x+3)/6), Mish, LayerNormalization (mean, variance, sqrt, divide, affine),
    RMSNormalization and Softmax (exp / sum). A candidate is a closed island between an input x and
    an exit around an anchor op (Erf, Tanh, Sigmoid, Sqrt, Exp...) whose op counts match; the island
    must read only x and constants and feed the rest of the graph only from its exit."""
    anchors = {op: (classify, up, down) for ops, classify, up, down in FUSIONS for op in ops}
    used: set[int] = set()
    removed: dict[int, Source] = {}
    into: dict[int, int] = {}
    for a in g.nodes(*anchors):
        if a in used or not g.alive[a] or not _plausible_anchor(g, a):
            continue
        classify, up, down = anchors[g.op_type[a]]
        best = None
        ups = sorted(_reach(g, a, False, up) - {a})
        downs = [d for d in sorted(_reach(g, a, True, down)) if g.kind[d] == KIND_OPERATOR]
        below = {d: _reach(g, d, False, up + down) for d in downs}
        for x in ups:
            above = _reach(g, x, True, up + down)
            for exit_ in downs:
                if exit_ not in above:
                    continue
                region = _region(g, x, exit_, above & below[exit_])
                if region is None or a not in region or region & used:
                    continue
                found = classify(Counter(g.op_type[r] for r in region))
                if found and (best is None or len(region) > len(best[0])):
                    best = (region, x, exit_, found)
        if best is None:
            continue
        region, x, exit_, (op, attrs) = best
        inits = _norm_constants(g, region) if op in ("LayerNormalization", "RMSNormalization") else {}
        _fuse(g, region, x, exit_, op, attrs, inits, removed, into)
        used |= region | {x}
    if used:
        g.remove(removed, into)
        g.reindex()


def fold_batch_norm(g: WorkGraph) -> None:
    """A BatchNormalization right after a Conv, ConvTranspose, Gemm or MatMul (its only consumer)
    is folded into it, as exporters in eval mode do or do not: the layer is the same."""
    through: dict[int, Source] = {}
    into: dict[int, int] = {}
    for v in g.nodes("BatchNormalization"):
        p = g.producer(v, 0)
        if g.is_op(p, "Conv", "ConvTranspose", "Gemm", "MatMul") and g.sole_consumer(p) == v \
                and not any(int(g.src_slot[e]) for e in g.out_edges(v)):
            through[v], into[v] = (p, 0), p
    if through:
        g.remove(through, into)
        g.reindex()


# -- canonical forms ------------------------------------------------------------------------------
def _elements(shape: Any) -> int | None:
    if not isinstance(shape, list) or not all(isinstance(d, int) for d in shape):
        return None
    return prod(shape)


def canonical_linear(g: WorkGraph) -> None:
    """One spelling of a linear layer: Gemm (alpha = beta = 1, no transA) becomes MatMul with its
    constant weight as [in, out] (transposed when transB); the bias Add after a MatMul with a
    constant weight (a one-dimensional constant) is folded into it; the bias input of Conv,
    ConvTranspose and MatMul is dropped (whether a bias exists depends on BatchNorm folding and on
    the weights, not on the architecture)."""
    for v in g.nodes("Gemm"):
        attrs = g.attrs[v]
        if set(attrs) - {"transB"} or (attrs.get("transB") and not g.has_constant(v, 1)):
            continue
        weight = g.inits[v].get("1")
        if attrs.get("transB") and isinstance(weight, dict) and isinstance(weight.get("shape"), list):
            g.set_init(v, 1, {**weight, "shape": weight["shape"][::-1]})
        g.set_op(v, "MatMul")
        g.attrs[v] = {}
        g.drop_edges(e for e in g.in_edges(v) if int(g.dst_slot[e]) == 2)
        g.set_init(v, 2, None)
    g.reindex()
    through: dict[int, Source] = {}
    into: dict[int, int] = {}
    for v in g.nodes("Add"):
        ins = g.in_edges(v)
        if len(ins) != 1 or len(g.inits[v]) != 1:
            continue
        p = int(g.src[ins[0]])
        bias = next(iter(g.inits[v].values()))
        shape = bias.get("shape") if isinstance(bias, dict) else None
        if g.is_op(p, "MatMul") and g.has_constant(p, 1) and g.sole_consumer(p) == v \
                and isinstance(shape, list) and len(shape) == 1:
            through[v], into[v] = (p, int(g.src_slot[ins[0]])), p
    g.remove(through, into)
    for v in g.nodes("Conv", "ConvTranspose", "MatMul"):
        if "2" in g.inits[v]:
            g.set_init(v, 2, None)
        g.drop_edges(e for e in g.in_edges(v) if int(g.dst_slot[e]) == 2)
    g.reindex()


def canonical_pooling(g: WorkGraph) -> None:
    """A ReduceMean over every spatial axis keeping dims is a GlobalAveragePool (ReduceMax: a
    GlobalMaxPool), and a Reshape to [N, rest] is a Flatten, when the declared shapes prove it."""
    for v in g.nodes("ReduceMean", "ReduceMax"):
        shape_in, shape_out = g.input_shape(v, 0), g.output_shape(v)
        if g.attrs[v].get("keepdims", 1) != 1 or shape_in is None or shape_out is None:
            continue
        if len(shape_in) >= 3 and len(shape_out) == len(shape_in) and shape_out[:2] == shape_in[:2] \
                and all(d == 1 for d in shape_out[2:]) and shape_in[0] is not None:
            g.set_op(v, "GlobalAveragePool" if g.op_type[v] == "ReduceMean" else "GlobalMaxPool")
            g.attrs[v] = {}
    for v in g.nodes("Reshape"):
        shape_in, shape_out = g.input_shape(v, 0), g.output_shape(v)
        if shape_in is None or shape_out is None or len(shape_out) != 2 or len(shape_in) < 2:
            continue
        rest = _elements(shape_in[1:])
        if shape_in[0] is not None and shape_in[0] == shape_out[0] and rest is not None and rest == shape_out[1]:
            g.set_op(v, "Flatten")
            g.attrs[v] = {}


RESHAPES = ("Reshape", "Flatten", "Squeeze", "Unsqueeze")
# Elementwise operators: a constant operand is broadcast, its shape is not the layer's (the view's
# hash labels record that there is one, not its shape). The commutative ones put it at slot 1.
COMMUTATIVE = frozenset({"Add", "Mul", "And", "Or", "Xor", "Max", "Min", "Sum", "Mean", "Equal", "BitwiseAnd",
                         "BitwiseOr", "BitwiseXor"})
ELEMENTWISE = COMMUTATIVE | frozenset({"Sub", "Div", "Pow", "Where", "Less", "Greater", "LessOrEqual",
                                       "GreaterOrEqual", "Mod", "PRelu", "BitShift"})


def canonical_operands(g: WorkGraph) -> None:
    """A commutative binary operator (Add, Mul, And, Max...) reading one tensor and one constant
    reads the tensor at slot 0 and the constant at slot 1 (x + b and b + x are one layer)."""
    changed = False
    for v in g.nodes(*COMMUTATIVE):
        ins = g.in_edges(v)
        if len(ins) == 1 and int(g.dst_slot[ins[0]]) == 1 and set(g.inits[v]) == {"0"}:
            g.dst_slot[ins[0]] = 0
            g.inits[v] = {"1": g.inits[v]["0"]}
            changed = True
    if changed:
        g.reindex()


def merge_reshapes(g: WorkGraph) -> None:
    """A chain of reshapes (Reshape, Flatten, Squeeze, Unsqueeze, each the only consumer of the one
    before) is one Reshape: exporters split or merge them freely."""
    through: dict[int, Source] = {}
    into: dict[int, int] = {}
    for v in g.nodes(*RESHAPES):
        c = g.sole_consumer(v)
        if g.is_op(c, *RESHAPES) and g.producer(c, 0) == v:
            through[v] = (g.producer(v, 0), next(int(g.src_slot[e]) for e in g.in_edges(v) if g.dst_slot[e] == 0)) \
                if g.producer(v, 0) is not None else dict(g.inits[v].get("0", {}))
            into[v] = c
    if not through:
        return
    for c in into.values():
        target = c
        while target in into:
            target = into[target]
        g.set_op(target, "Reshape")
        g.attrs[target] = {}
    g.remove(through, into)
    g.reindex()


PASSES: list[tuple[str, Pass]] = [
    ("dequantize", dequantize),
    ("canonical_attributes", canonical_attributes),
    ("drop_parameter_inputs", drop_parameter_inputs),
    ("drop_dead", drop_dead),
    ("fold_constants", fold_constants),
    ("drop_identities", drop_identities),
    ("fuse_gates", fuse_gates),
    ("fuse_decompositions", fuse_decompositions),
    ("fold_batch_norm", fold_batch_norm),
    ("canonical_linear", canonical_linear),
    ("canonical_pooling", canonical_pooling),
    ("merge_reshapes", merge_reshapes),
    ("canonical_operands", canonical_operands),
]
