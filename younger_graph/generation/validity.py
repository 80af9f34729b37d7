"""Is a generated DAG a well-formed architecture? The rule, and the DAG's conversion to ONNX.

A sample in the dense view (views.py: tokens + distinct flows, no slots, no weights) is **valid**
when all of these hold (docs/generation.md#validity); each failure is one reason:

1. `empty`: it has nodes;
2. `cycle`: its flows are acyclic;
3. `components`: it is one weakly connected component;
4. `token`: every token names an operator (not `<unk>` / `<mask>` / an empty row), and an operator
   of a standard ONNX domain has a schema, not deprecated, at the sample's opset (below);
5. `input` / `output`: it has at least one `Input` and one `Output` node; an `Input` has no incoming
   flow and at least one consumer; an `Output` has exactly one incoming flow and no consumer;
6. `arity`: an operator with a schema receives flows from at most `max_input` distinct producers,
   from at least one when its schema requires inputs (`min_input` ≥ 1), and has at least one
   consumer (its output reaches an operator or an `Output`). **Weight slots**: the dense view has no
   initializers, so required inputs beyond the flows are the slots weights fill in real models
   (`Conv`'s W, `Add`'s bias, `Reshape`'s shape): they are never missing flows. Parallel flows are
   collapsed in the view (`Mul(x, x)` has one producer), hence the lower bound of one producer.
   Operators without a schema (custom domains) only need a consumer;
7. `checker`: the sample converted to ONNX (`to_model`) passes `onnx.checker.check_model`.

The opset of a sample: the first of the reference store's opsets (most used first, then the
newest ONNX knows) at which every standard operator of the sample has a non-deprecated schema.

`to_model`: positions become nodes in their order (topological); an operator's producers fill its
input slots 0.. in position order, then zero placeholders (`w<i>_<k>`, float [1]) fill its remaining
required inputs; it declares `max(min_output, 1)` outputs and every consumer reads output 0; inputs
are float graph inputs without dims, outputs name their producer's tensor; attributes come from an
attrs token, and the schema's required attributes missing from it get a neutral value (INT 1, FLOAT
0, STRING "", lists of one of these, a scalar zero tensor, and for GRAPH a one-node body passing a
value through); tensor values are inline zeros (tensors.Placeholders without a weights file).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
from onnx import AttributeProto, GraphProto, ModelProto, NodeProto, TensorProto, helper

from younger_graph.generation import schemas
from younger_graph.generation.attributes import Lossy, make_attribute
from younger_graph.generation.tensors import Placeholders
from younger_graph.generation.views import ViewGraph

INPUT, OUTPUT = "Input", "Output"
NOT_OPERATORS = ("<unk>", "<mask>", "<none>")
UNBOUNDED = 2**31 - 1
# Rule codes in the order they are checked (the summary counts samples per code).
RULES = ("empty", "cycle", "components", "token", "input", "output", "arity", "checker")


@dataclass
class Verdict:
    valid: bool
    reasons: list[tuple[str, str]] = field(default_factory=list)  # (rule code, sentence)
    opsets: dict[str, int] = field(default_factory=dict)


@dataclass
class Reference:
    """What the rule learns from the reference graphs: candidate opsets per domain key (`ai.onnx`,
    `ai.onnx.ml`; most used first) and the operator types real graphs feed from weights alone
    (operators with no producer in the view: the Identity torch puts on shared weights, the
    DequantizeLinear of quantized weights, Constant...)."""

    candidates: dict[str, list[int]]
    weight_fed: set[tuple[str, str]] = field(default_factory=set)

    @classmethod
    def from_reference(cls, opsets_json: Sequence[str | None], graphs: Sequence[ViewGraph] = ()) -> Reference:
        counts: dict[str, Counter[int]] = {}
        for text in opsets_json:
            try:
                value = json.loads(text) if text else {}
            except ValueError:
                continue
            for key, version in (value.items() if isinstance(value, dict) else ()):
                if isinstance(version, int):
                    counts.setdefault(str(key), Counter())[version] += 1
        out: dict[str, list[int]] = {}
        for key in ("ai.onnx", "ai.onnx.ml", *sorted(counts)):
            seen = counts.get(key, Counter())
            ranked = [v for v, _ in sorted(seen.items(), key=lambda kv: (-kv[1], -kv[0]))]
            latest = _latest(key)
            out[key] = ranked + ([latest] if latest and latest not in ranked else [])
        return cls(out, weight_fed_operators(graphs))

    def choose(self, ops: set[tuple[str, str]]) -> tuple[dict[str, int], list[str]]:
        """({domain key: version}, operators with no usable schema) for a sample's (op_type, domain)s."""
        chosen: dict[str, int] = {}
        unknown: list[str] = []
        by_domain: dict[str, list[str]] = {}
        for op, domain in ops:
            by_domain.setdefault(schemas.opset_key(domain), []).append(op)
        for key, names in sorted(by_domain.items()):
            if not schemas.is_standard(schemas.import_domain(key)):
                chosen[key] = 1
                continue
            versions = self.candidates.get(key) or [_latest(key) or 1]
            fits = [v for v in versions if all(_usable(op, key, v) for op in names)]
            if fits:
                chosen[key] = fits[0]
            else:
                chosen[key] = versions[0]
                unknown += sorted(op for op in set(names) if not _usable(op, key, versions[0]))
        return chosen, unknown


def weight_fed_operators(graphs: Sequence[ViewGraph]) -> set[tuple[str, str]]:
    """(op_type, domain) of the operators that have no producer somewhere in these graphs."""
    out: set[tuple[str, str]] = set()
    for g in graphs:
        fed = np.zeros(g.n, dtype=bool)
        fed[g.dst] = True
        for i in np.flatnonzero(~fed).tolist():
            op, domain, _ = split_token(g.tokens[i])
            if op not in (INPUT, OUTPUT):
                out.add((op, domain))
    return out


@lru_cache(maxsize=16)
def _latest(key: str) -> int | None:
    from onnx import defs

    if key == schemas.DEFAULT_DOMAIN:
        return int(defs.onnx_opset_version())
    versions = [s.since_version for s in defs.get_all_schemas_with_history() if (s.domain or "ai.onnx") == key]
    return max(versions) if versions else None


def _usable(op: str, key: str, version: int) -> bool:
    s = schemas.schema(op, schemas.import_domain(key), version)
    return s is not None and not s.deprecated


def split_token(tok: str) -> tuple[str, str, str | None]:
    """(op_type, domain, attrs JSON or None) of a token."""
    parts = tok.split("|", 2)
    op = parts[0]
    domain = parts[1] if len(parts) > 1 else ""
    return op, domain, parts[2] if len(parts) > 2 else None


# -- the rule ------------------------------------------------------------------------------------------
def check(g: ViewGraph, reference: Reference, *, run_checker: bool = True) -> Verdict:
    """The verdict on one sample (module docstring)."""
    reasons: list[tuple[str, str]] = []
    n = g.n
    if n == 0:
        return Verdict(False, [("empty", "the sample has no nodes")])
    preds: list[set[int]] = [set() for _ in range(n)]
    succs: list[set[int]] = [set() for _ in range(n)]
    for s, d in zip(g.src.tolist(), g.dst.tolist()):
        preds[d].add(s)
        succs[s].add(d)
    parsed = [split_token(t) for t in g.tokens]
    if _has_cycle(n, succs):
        reasons.append(("cycle", "the flows form a cycle"))
    reasons += _component_reasons(parsed, g.src, g.dst)
    ops = {(op, d) for op, d, _ in parsed if op not in (INPUT, OUTPUT) and op not in NOT_OPERATORS}
    chosen, unknown = reference.choose(ops)
    for i, (op, _d, _a) in enumerate(parsed):
        if op in NOT_OPERATORS or not op:
            reasons.append(("token", f"node {i} is {op or 'an empty row'}, not an operator"))
    for op in unknown:
        reasons.append(("token", f"{op} has no (non-deprecated) schema at the sample's opset"))
    reasons += _io_reasons(parsed, preds, succs)
    reasons += _arity_reasons(parsed, preds, succs, chosen, reference.weight_fed)
    if not reasons and run_checker:
        error = schemas.checker_error(to_model(g, chosen))
        if error:
            reasons.append(("checker", error))
    return Verdict(not reasons, reasons, chosen)


def _has_cycle(n: int, succs: list[set[int]]) -> bool:
    indeg = [0] * n
    for s in succs:
        for d in s:
            indeg[d] += 1
    ready = [i for i in range(n) if not indeg[i]]
    done = 0
    while ready:
        i = ready.pop()
        done += 1
        for d in succs[i]:
            indeg[d] -= 1
            if not indeg[d]:
                ready.append(d)
    return done < n


def _component_reasons(parsed: list[tuple[str, str, str | None]], src: np.ndarray,
                       dst: np.ndarray) -> list[tuple[str, str]]:
    """Components other than lone Input nodes must each hold an Output: one component, or several
    the way flattened If/Loop bodies are (joined to their graph only by what they read from it)."""
    n = len(parsed)
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for s, d in zip(src.tolist(), dst.tolist()):
        a, b = find(s), find(d)
        if a != b:
            parent[a] = b
    members: dict[int, list[int]] = {}
    for i in range(n):
        members.setdefault(find(i), []).append(i)
    groups = [m for m in members.values() if not (len(m) == 1 and parsed[m[0]][0] == INPUT)]
    without = [m for m in groups if not any(parsed[i][0] == OUTPUT for i in m)]
    if len(groups) > 1 and without:
        return [("components", f"{len(groups)} weakly connected components, {len(without)} without an Output "
                               f"(e.g. the one holding node {without[0][0]})")]
    return []


def _io_reasons(parsed: list[tuple[str, str, str | None]], preds: list[set[int]],
                succs: list[set[int]]) -> list[tuple[str, str]]:
    out = []
    kinds = [op for op, _, _ in parsed]
    if INPUT not in kinds:
        out.append(("input", "no Input node"))
    if OUTPUT not in kinds:
        out.append(("output", "no Output node"))
    bad_in = [i for i, op in enumerate(kinds) if op == INPUT and preds[i]]
    bad_out = [i for i, op in enumerate(kinds) if op == OUTPUT and (len(preds[i]) != 1 or succs[i])]
    if bad_in:
        out.append(("input", f"{len(bad_in)} Input nodes have incoming flows (e.g. node {bad_in[0]})"))
    if bad_out:
        i = bad_out[0]
        out.append(("output", f"{len(bad_out)} Output nodes do not have exactly one producer and no consumer "
                              f"(e.g. node {i}: {len(preds[i])} producers, {len(succs[i])} consumers)"))
    return out


def _arity_reasons(parsed: list[tuple[str, str, str | None]], preds: list[set[int]], succs: list[set[int]],
                   chosen: dict[str, int], weight_fed: set[tuple[str, str]]) -> list[tuple[str, str]]:
    too_many, unfed, unused = [], [], []
    for i, (op, domain, _a) in enumerate(parsed):
        if op in (INPUT, OUTPUT) or op in NOT_OPERATORS:
            continue
        p = len(preds[i])
        s = schemas.schema(op, domain, chosen.get(schemas.opset_key(domain), 1))
        if s is not None and p > s.max_input:
            too_many.append(f"{op} (node {i}): {p} producers, at most {s.max_input}")
        if p == 0 and (s is None or s.min_input > 0) and (op, domain) not in weight_fed:
            unfed.append(f"{op} (node {i})")
        if not succs[i]:
            unused.append(f"{op} (node {i})")
    out = []
    for items, what in ((too_many, "more producers than the schema takes"),
                        (unfed, "no producer, and real graphs never feed this operator from weights alone"),
                        (unused, "no consumer")):
        if items:
            out.append(("arity", f"{len(items)} operators with {what}: {', '.join(items[:3])}"
                                 + (" …" if len(items) > 3 else "")))
    return out


# -- conversion to ONNX -------------------------------------------------------------------------------
def to_model(g: ViewGraph, opsets: dict[str, int]) -> ModelProto:
    """The sample as an ONNX model (module docstring); nodes in the sample's order."""
    preds: list[list[int]] = [[] for _ in range(g.n)]
    for s, d in sorted(zip(g.src.tolist(), g.dst.tolist())):
        preds[d].append(s)
    parsed = [split_token(t) for t in g.tokens]
    placeholders = Placeholders(None)  # inline: the model is checked in memory, never saved
    inputs, outputs, nodes, inits = [], [], [], []
    for i, (op, domain, attrs) in enumerate(parsed):
        if op == INPUT:
            vi = helper.make_tensor_value_info(f"t{i}", TensorProto.FLOAT, None)
            vi.type.tensor_type.shape.SetInParent()
            inputs.append(vi)
        elif op == OUTPUT:
            name = f"t{preds[i][0]}" if preds[i] else f"t{i}"
            vi = helper.make_tensor_value_info(name, TensorProto.FLOAT, None)
            vi.type.tensor_type.shape.SetInParent()
            outputs.append(vi)
        else:
            node, weights = _node(i, op, domain, attrs, preds[i], opsets, placeholders)
            nodes.append(node)
            inits += weights
    graph = helper.make_graph(nodes, "sample", inputs, outputs, inits)
    imports = [helper.make_opsetid(schemas.import_domain(k), v) for k, v in sorted(opsets.items())]
    return helper.make_model(graph, opset_imports=imports, producer_name="younger-graph check-generated")


def _node(i: int, op: str, domain: str, attrs: str | None, preds: list[int], opsets: dict[str, int],
          placeholders: Placeholders) -> tuple[NodeProto, list[TensorProto]]:
    s = schemas.schema(op, domain, opsets.get(schemas.opset_key(domain), 1))
    names = [f"t{p}" for p in preds]
    weights = []
    required = s.min_input if s is not None else 0
    for k in range(len(names), required):
        weights.append(placeholders.tensor(f"w{i}_{k}", {"dtype": "float", "shape": [1]}))
        names.append(weights[-1].name)
    n_out = max(s.min_output if s is not None else 1, 1)
    node = helper.make_node(op, names, [f"t{i}"] + [f"t{i}_{k}" for k in range(1, n_out)], name=f"n{i}",
                            domain=domain)
    given = _token_attributes(i, op, attrs, s, placeholders, names)
    node.attribute.extend(given)
    have = {a.name for a in given}
    if s is not None:
        for name, spec in sorted(s.attributes.items()):
            if spec.required and name not in have:
                node.attribute.append(_neutral(name, int(spec.type), names, placeholders, i, op))
    return node, weights


def _token_attributes(i: int, op: str, attrs: str | None, s: Any, placeholders: Placeholders,
                      names: list[str]) -> list[AttributeProto]:
    if not attrs:
        return []
    try:
        value = json.loads(attrs)
    except ValueError:
        return []
    out = []
    for name, v in sorted(value.items() if isinstance(value, dict) else ()):
        if v == "subgraph":
            out.append(_neutral(name, AttributeProto.GRAPH, names, placeholders, i, op))
            continue
        try:
            out.append(make_attribute(name, v, schemas.attribute_type(s, name), placeholders,
                                      lambda a, _scope: _pass_through_body(f"n{i}_{a}", names, op == "Loop"),
                                      f"n{i}.{name}"))
        except Lossy:
            continue
    return out


def _neutral(name: str, kind: int, names: list[str], placeholders: Placeholders, i: int, op: str) -> AttributeProto:
    a = AttributeProto()
    a.name, a.type = name, kind
    if kind == AttributeProto.INT:
        a.i = 1
    elif kind == AttributeProto.FLOAT:
        a.f = 0.0
    elif kind == AttributeProto.STRING:
        a.s = b""
    elif kind == AttributeProto.INTS:
        a.ints.append(0)
    elif kind == AttributeProto.FLOATS:
        a.floats.append(0.0)
    elif kind == AttributeProto.STRINGS:
        a.strings.append(b"")
    elif kind == AttributeProto.TENSOR:
        a.t.CopyFrom(placeholders.tensor(f"n{i}.{name}", {"dtype": "float", "shape": []}))
    elif kind == AttributeProto.GRAPH:
        a.g.CopyFrom(_pass_through_body(f"n{i}_{name}", names, op == "Loop"))
    elif kind == AttributeProto.GRAPHS:
        a.graphs.append(_pass_through_body(f"n{i}_{name}", names, op == "Loop"))
    return a


def _pass_through_body(name: str, outer: list[str], loop: bool) -> GraphProto:
    """A one-node body: Identity of the holder's first input (read from the outer scope), or of a
    constant when it has none; a Loop body also declares the iteration number and condition inputs.
    Names are prefixed by the holder (`n<i>_<attr>`): names are unique across the whole model."""
    body_inputs = []
    if loop:
        body_inputs = [helper.make_tensor_value_info(f"{name}_iter", TensorProto.INT64, []),
                       helper.make_tensor_value_info(f"{name}_cond", TensorProto.BOOL, [])]
    nodes = []
    source = body_inputs[1].name if body_inputs else (outer[0] if outer else f"{name}_const")
    if not outer and not body_inputs:
        nodes.append(helper.make_node("Constant", [], [source], value=helper.make_tensor("v", TensorProto.FLOAT, [],
                                                                                          [0.0])))
    nodes.append(helper.make_node("Identity", [source], [f"{name}_out"]))
    return helper.make_graph(nodes, f"{name}_body", body_inputs,
                             [helper.make_tensor_value_info(f"{name}_out", TensorProto.UNDEFINED, None)])
