"""The architecture view of one extracted graph, and its hash (`yg-arch-1`, docs/arch.md).

`arch_view(...)` takes a graph's columns as the tables hold them, runs the normalisation passes of
`younger_graph.arch.passes` in order and returns an `ArchView`: the surviving nodes renumbered
0..n-1 in the order of their exact idx, their edges, and for every exact node the arch node it was
folded into (-1 when it was removed: Identity, constants, shape computations, dead code).

`arch_hash(view)` is the Weisfeiler-Lehman hash of `younger_graph.hashing` over the view, with
labels that leave out what the view treats as non-architecture: `kind|domain|op_type|position|
attributes|weight shapes`, where weight shapes are the shapes of constant inputs with two or more
elements (their dtype is storage: int8 and float weights are the same layer); an elementwise
operator's constants (a broadcast operand) are only marked as present.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from math import prod
from typing import Any

import numpy as np

from younger_graph import hashing
from younger_graph.arch.graph import WorkGraph, render_attrs, scope_parent
from younger_graph.arch.passes import ELEMENTWISE, PASSES
from younger_graph.canonical import dumps
from younger_graph.schema import KIND_INPUT, KIND_OUTPUT

ARCH_HASH_VERSION = "yg-arch-1"


@dataclass
class ArchView:
    """One graph's architecture view: node columns (like operators.parquet), edge columns (like
    edges.parquet) and the mapping back to the exact graph."""

    kind: list[str]
    op_type: list[str]
    domain: list[str]
    scope: list[str]
    name: list[str]
    attrs: list[str]
    initializers: list[str]
    origin: np.ndarray  # arch node → the exact idx it stands for (a fused group's exit)
    fused: np.ndarray  # arch node → how many exact nodes it stands for
    src: np.ndarray
    src_slot: np.ndarray
    dst: np.ndarray
    dst_slot: np.ndarray
    e_scope: list[str]
    e_tensor: list[str | None]
    e_dtype: list[str | None]
    e_shape: list[str | None]
    node_of: np.ndarray  # exact idx → arch node, -1 when removed
    labels: list[str] = field(default_factory=list)

    @property
    def num_nodes(self) -> int:
        return len(self.kind)

    @property
    def num_edges(self) -> int:
        return len(self.src)


def work_graph(kind: Sequence[str], op_type: Sequence[str], domain: Sequence[str], scope: Sequence[str],
               name: Sequence[str], attrs: Sequence[str], initializers: Sequence[str], src: Sequence[int],
               src_slot: Sequence[int], dst: Sequence[int], dst_slot: Sequence[int],
               dtype: Sequence[str | None] | None = None, shape: Sequence[str | None] | None = None,
               tensor: Sequence[str | None] | None = None) -> WorkGraph:
    return WorkGraph.from_columns(kind, op_type, domain, scope, name, attrs, initializers, src, src_slot, dst,
                                  dst_slot, dtype, shape, tensor)


def arch_view(kind: Sequence[str], op_type: Sequence[str], domain: Sequence[str], scope: Sequence[str],
              name: Sequence[str], attrs: Sequence[str], initializers: Sequence[str], src: Sequence[int],
              src_slot: Sequence[int], dst: Sequence[int], dst_slot: Sequence[int],
              dtype: Sequence[str | None] | None = None, shape: Sequence[str | None] | None = None,
              tensor: Sequence[str | None] | None = None, *, passes: Sequence[str] | None = None) -> ArchView:
    """The architecture view of one graph given as its table columns (see the module docstring);
    `passes` restricts the normalisation to the named passes (tests, ablations)."""
    g = work_graph(kind, op_type, domain, scope, name, attrs, initializers, src, src_slot, dst, dst_slot, dtype,
                   shape, tensor)
    for pass_name, run in PASSES:
        if passes is None or pass_name in passes or pass_name.removesuffix("_again") in passes:
            run(g)
    return compact(g)


_SEGMENT = re.compile(r"\d+")


def _remap_scope(scope: str, node_of: np.ndarray, cache: dict[str, str]) -> str:
    """A scope path with its operator indices renumbered (`7/then_branch` → `3/then_branch`)."""
    if not scope:
        return scope
    found = cache.get(scope)
    if found is not None:
        return found
    parts = scope.split("/")
    out, i, expect_idx = [], 0, True
    while i < len(parts):
        part = parts[i]
        if expect_idx and _SEGMENT.fullmatch(part):
            mapped = int(node_of[int(part)]) if int(part) < len(node_of) else -1
            out.append(str(mapped))
            expect_idx = False
        else:
            out.append(part)
            # after an attribute: a GRAPHS index k (digits followed by digits or by nothing)
            nxt = parts[i + 1] if i + 1 < len(parts) else None
            after = parts[i + 2] if i + 2 < len(parts) else None
            if not expect_idx and nxt is not None and _SEGMENT.fullmatch(nxt) and (
                    after is None or _SEGMENT.fullmatch(after)):
                out.append(nxt)
                i += 1
            expect_idx = True
        i += 1
    cache[scope] = found = "/".join(out)
    return found


def _remap_graph_refs(attrs: dict[str, Any], node_of: np.ndarray, cache: dict[str, str]) -> dict[str, Any]:
    def fix(x: Any) -> Any:
        if isinstance(x, dict) and set(x) == {"graph"} and isinstance(x["graph"], str):
            return {"graph": _remap_scope(x["graph"], node_of, cache)}
        if isinstance(x, list):
            return [fix(y) for y in x]
        return x

    if not any(isinstance(x, (dict, list)) for x in attrs.values()):
        return attrs
    return {k: fix(x) for k, x in attrs.items()}


def compact(g: WorkGraph) -> ArchView:
    """The live nodes renumbered in exact idx order, their live edges, and the exact → arch mapping."""
    keep = np.flatnonzero(g.alive)
    keep = keep[keep < g.n_exact]  # (nodes are only ever removed, never added)
    new_of = np.full(g.n, -1, dtype=np.int64)
    new_of[keep] = np.arange(len(keep))
    owner = g.owner[: g.n_exact]
    node_of = np.where(owner >= 0, new_of[np.maximum(owner, 0)], -1)
    cache: dict[str, str] = {}
    live = np.flatnonzero(g.e_alive & g.alive[g.src] & g.alive[g.dst]) if len(g.src) else np.zeros(0, np.int64)
    order = live[np.lexsort((g.src_slot[live], g.src[live], g.dst_slot[live], g.dst[live]))]
    rendered: dict[int, str] = {}

    def attrs_text(v: int) -> str:
        a = g.attrs[v]
        if not a:
            return "{}"
        key = id(a)
        text = rendered.get(key)
        if text is None:
            text = rendered[key] = render_attrs(_remap_graph_refs(a, new_of, cache))
        return text

    kl = keep.tolist()
    init_text: dict[int, str] = {}

    def inits_text(v: int) -> str:
        i = g.inits[v]
        if not i:
            return "{}"
        text = init_text.get(id(i))
        if text is None:
            text = init_text[id(i)] = dumps(i)
        return text

    scopes = [_remap_scope(g.scope[v], new_of, cache) for v in kl]
    view = ArchView(
        kind=[g.kind[v] for v in kl], op_type=[g.op_type[v] for v in kl], domain=[g.domain[v] for v in kl],
        scope=scopes, name=[g.name[v] for v in kl], attrs=[attrs_text(v) for v in kl],
        initializers=[inits_text(v) for v in kl],
        origin=keep.astype(np.int64), fused=g.fused[keep].astype(np.int64),
        src=new_of[g.src[order]], src_slot=g.src_slot[order].copy(), dst=new_of[g.dst[order]],
        dst_slot=g.dst_slot[order].copy(), e_scope=[], e_tensor=[g.e_tensor[e] for e in order.tolist()],
        e_dtype=[g.e_dtype[e] for e in order.tolist()],
        e_shape=[g.e_shape[e] for e in order.tolist()], node_of=node_of,
    )
    view.e_scope = [scopes[d] for d in view.dst.tolist()]
    view.labels = arch_labels(view, [g.attrs[v] for v in kl], [g.inits[v] for v in kl])
    return view


def _weights(op_type: str, inits: dict[str, Any]) -> str:
    """{slot: shape} of the constant inputs with two or more elements (or a symbolic dimension);
    an elementwise operator's constants are marked `const`, whatever their shape."""
    if op_type in ELEMENTWISE:
        return dumps(dict.fromkeys(inits, "const")) if inits else ""
    out = {}
    for slot, summary in inits.items():
        shape = summary.get("shape") if isinstance(summary, dict) else None
        if not isinstance(shape, list):
            continue
        if prod(d if isinstance(d, int) else 2 for d in shape) >= 2:
            out[slot] = shape
    return dumps(out) if out else ""


def _is_graph_ref(x: Any) -> bool:
    return (isinstance(x, dict) and "graph" in x) or (
        isinstance(x, list) and bool(x) and isinstance(x[0], dict) and "graph" in x[0])


def _hash_attrs(attrs: dict[str, Any]) -> str:
    """Attributes as hashed: subgraph references (scope paths, node indices) become `subgraph`."""
    if not attrs:
        return "{}"
    if any(_is_graph_ref(x) for x in attrs.values()):
        attrs = {k: "subgraph" if _is_graph_ref(x) else x for k, x in attrs.items()}
    return dumps(attrs)


def arch_labels(view: ArchView, attrs: list[dict[str, Any]], inits: list[dict[str, Any]]) -> list[str]:
    """The hash label of every arch node (module docstring); inputs and outputs carry their position
    among the inputs (outputs) of their scope, as in the exact hash."""
    position: dict[tuple[str, str], int] = {}
    labels = []
    attr_text: dict[int, str] = {}
    weight_text: dict[tuple[str, int], str] = {}
    for v, kind in enumerate(view.kind):
        pos = ""
        if kind in (KIND_INPUT, KIND_OUTPUT):
            key = (kind, view.scope[v])
            pos = str(position.get(key, 0))
            position[key] = int(pos) + 1
        a = attrs[v]
        text = attr_text.get(id(a))
        if text is None:
            text = attr_text[id(a)] = _hash_attrs(a)
        key = (view.op_type[v], id(inits[v]))
        weights = weight_text.get(key)
        if weights is None:
            weights = weight_text[key] = _weights(view.op_type[v], inits[v])
        labels.append(f"{kind}|{view.domain[v]}|{view.op_type[v]}|{pos}|{text}|{weights}")
    return labels


def nesting(view: ArchView) -> tuple[list[int], list[int], list[str]]:
    """Nesting links (parent operator → node of its body) read from the arch scopes."""
    parents, children, labels = [], [], []
    for v, scope in enumerate(view.scope):
        found = scope_parent(scope)
        if found is not None and 0 <= found[0] < view.num_nodes:
            parents.append(found[0])
            children.append(v)
            labels.append(found[1])
    return parents, children, labels


def arch_hash(view: ArchView) -> str:
    """`graph_id_arch`: the yg-wl refinement over the view's labels, flows and nesting, digested under
    its own version tag (so it never equals an exact graph_id by construction)."""
    if not view.num_nodes:
        return hashing.graph_hash([], ((), (), (), ()), ((), (), ()))  # the empty graph
    flows = (view.src, view.src_slot, view.dst, view.dst_slot)
    return hashing.graph_hashes([[ARCH_HASH_VERSION + "|" + s for s in view.labels]], flows, nesting(view))[0]


def arch_id(*columns: Sequence[Any]) -> str | None:
    """`arch_hash(arch_view(*columns))`, or None when the view cannot be computed: the view is an
    addition to a graph, so a pattern the passes trip on never fails the model's extraction
    (tests run every pass over the shipped sample and the Younger fixtures)."""
    try:
        return arch_hash(arch_view(*columns))
    except Exception:  # any failure of the view leaves only its hash null
        return None


__all__ = ["ARCH_HASH_VERSION", "ArchView", "arch_hash", "arch_id", "arch_labels", "arch_view", "compact", "work_graph"]
