"""The working graph the architecture-view passes rewrite, built from an extracted graph's columns.

`WorkGraph.from_columns` takes exactly what the tables hold for one graph (operators: kind, op_type,
domain, scope, name, attrs JSON, initializers JSON; edges: src, src_slot, dst, dst_slot, dtype,
shape), so every walker (Python, native) and every reader (tables, store) gets the same view.

Nodes keep their exact idx while passes run: a removed node is marked dead, a fused group keeps one
representative node (its output end) whose op_type/attrs change, and `owner[i]` says which surviving
node exact node i was folded into (-1: removed without a trace, e.g. Identity or a shape computation).
Edges are numpy columns with a live mask; passes remove nodes and edges and add edges in batches,
then `reindex()` rebuilds the adjacency (CSR by destination and by source).

Parsed attributes and initializer summaries are shared between nodes with the same JSON text (a
graph repeats a few distinct strings over many nodes); a pass that changes one copies it first.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from younger_graph.canonical import dumps
from younger_graph.schema import KIND_INPUT, KIND_OPERATOR, KIND_OUTPUT

# A constant a removed node stood for: its summary ({"dtype", "shape"}, either may be None).
Constant = dict[str, Any]
# Where the value of a removed node's output comes from: a live (node, output slot), a constant, or
# nothing (its consumers lose that input).
Source = tuple[int, int] | Constant | None

_SCOPE_PARENT = re.compile(r"^(?:(.*)/)?(\d+)/([^/]+?)(?:/(\d+))?$")


def _parse_cache(texts: Sequence[str]) -> list[Any]:
    """json.loads of each text, parsed once per distinct text (the parsed objects are shared)."""
    cache: dict[str, Any] = {}
    out = []
    for t in texts:
        v = cache.get(t)
        if v is None:
            v = cache[t] = json.loads(t) if t and t != "{}" else {}
        out.append(v)
    return out


def scope_parent(scope: str) -> tuple[int, str] | None:
    """(parent operator idx, nesting label) of a scope path, None for the main graph (or a path this
    grammar does not know). `3/body/1/then_branch` → (1, "then_branch"); `7/branches/2` →
    (7, "branches/2"); `4/custom:f` → (4, "fn:f")."""
    if not scope:
        return None
    m = _SCOPE_PARENT.match(scope)
    if not m:
        return None
    _, idx, attr, k = m.groups()
    if k is not None:
        return int(idx), f"{attr}/{k}"
    if ":" in attr:
        return int(idx), "fn:" + attr.split(":", 1)[1]
    return int(idx), attr


@dataclass
class WorkGraph:
    kind: list[str]
    op_type: list[str]
    domain: list[str]
    scope: list[str]
    name: list[str]
    attrs: list[dict[str, Any]]
    inits: list[dict[str, Any]]  # input slot (as text, like the JSON) → summary
    alive: np.ndarray
    owner: np.ndarray  # exact idx → the node it was folded into (itself while alive), -1 when removed
    fused: np.ndarray  # per node: how many exact nodes it stands for (1 for a plain node)
    src: np.ndarray
    src_slot: np.ndarray
    dst: np.ndarray
    dst_slot: np.ndarray
    e_alive: np.ndarray
    e_dtype: list[str | None]
    e_shape: list[str | None]
    e_tensor: list[str | None]
    n_exact: int = 0
    _pending: list[tuple[Any, ...]] = field(default_factory=list)
    _is_op: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    _types: dict[str, set[int]] | None = None
    exact_out_degree: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    # -- construction ---------------------------------------------------------------------------
    @classmethod
    def from_columns(cls, kind: Sequence[str], op_type: Sequence[str], domain: Sequence[str],
                     scope: Sequence[str], name: Sequence[str], attrs: Sequence[str], initializers: Sequence[str],
                     src: Sequence[int], src_slot: Sequence[int], dst: Sequence[int], dst_slot: Sequence[int],
                     dtype: Sequence[str | None] | None = None, shape: Sequence[str | None] | None = None,
                     tensor: Sequence[str | None] | None = None) -> WorkGraph:
        n, m = len(kind), len(src)
        g = cls(
            kind=list(kind), op_type=list(op_type), domain=["" if d == "ai.onnx" else d for d in domain],
            scope=list(scope), name=list(name), attrs=_parse_cache(attrs), inits=_parse_cache(initializers),
            alive=np.ones(n, dtype=bool), owner=np.arange(n, dtype=np.int64), fused=np.ones(n, dtype=np.int64),
            src=np.asarray(src, dtype=np.int64), src_slot=np.asarray(src_slot, dtype=np.int64),
            dst=np.asarray(dst, dtype=np.int64), dst_slot=np.asarray(dst_slot, dtype=np.int64),
            e_alive=np.ones(m, dtype=bool),
            e_dtype=list(dtype) if dtype is not None else [None] * m,
            e_shape=list(shape) if shape is not None else [None] * m,
            e_tensor=list(tensor) if tensor is not None else [None] * m,
            n_exact=n,
        )
        g.exact_out_degree = np.bincount(g.src, minlength=n) if m else np.zeros(n, dtype=np.int64)
        g.reindex()
        return g

    def has_outputs(self) -> bool:
        """Whether the graph has output nodes (every valid model does)."""
        return "output" in self.kind

    @property
    def is_operator(self) -> np.ndarray:
        """Per node: of kind operator (a mask)."""
        if len(self._is_op) != self.n:
            self._is_op = np.array([k == KIND_OPERATOR for k in self.kind], dtype=bool)
        return self._is_op

    @property
    def n(self) -> int:
        return len(self.kind)

    def reindex(self) -> None:
        """Merge queued edges and rebuild the adjacency from the live edges (after a pass changed them)."""
        self._merge_pending()
        live = np.flatnonzero(self.e_alive)
        n = self.n
        # Keys packed into one int64 (slots < 2^15, nodes < 2^24 in any real graph; else lexsort).
        if n < (1 << 24) and (not len(live) or max(int(self.dst_slot.max()), int(self.src_slot.max())) < (1 << 15)):
            by_dst = live[np.argsort((self.dst[live] << 16) | self.dst_slot[live], kind="stable")]
            by_src = live[np.argsort((self.src[live] << 40) | (self.src_slot[live] << 24) | self.dst[live],
                                     kind="stable")]
        else:
            by_dst = live[np.lexsort((self.dst_slot[live], self.dst[live]))]
            by_src = live[np.lexsort((self.dst[live], self.src_slot[live], self.src[live]))]
        in_ptr = np.zeros(n + 1, dtype=np.int64)
        out_ptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(self.dst[live], minlength=n), out=in_ptr[1:])
        np.cumsum(np.bincount(self.src[live], minlength=n), out=out_ptr[1:])
        # Plain lists: passes read a few edges of many nodes, where list slices beat numpy's.
        self._in_l, self._out_l = by_dst.tolist(), by_src.tolist()
        self._in_pl, self._out_pl = in_ptr.tolist(), out_ptr.tolist()

    # -- reading --------------------------------------------------------------------------------
    def in_edges(self, v: int) -> list[int]:
        """Live edge ids into v, by input slot."""
        return self._in_l[self._in_pl[v]:self._in_pl[v + 1]]

    def out_edges(self, v: int) -> list[int]:
        return self._out_l[self._out_pl[v]:self._out_pl[v + 1]]

    def producer(self, v: int, slot: int = 0) -> int | None:
        """The node feeding input `slot` of v by a flow edge (None: an initializer, or nothing)."""
        for e in self.in_edges(v):
            if self.dst_slot[e] == slot:
                return int(self.src[e])
        return None

    def data_producers(self, v: int) -> list[int]:
        """The nodes feeding v by flow edges, one entry per edge (in slot order)."""
        return [int(self.src[e]) for e in self.in_edges(v)]

    def consumers(self, v: int) -> list[int]:
        """The nodes v feeds, one entry per flow edge."""
        return [int(self.dst[e]) for e in self.out_edges(v)]

    def sole_consumer(self, v: int) -> int | None:
        """The one node v feeds when it feeds exactly one input of one node (and no graph output)."""
        out = self.out_edges(v)
        if len(out) != 1:
            return None
        w = int(self.dst[out[0]])
        return w if self.kind[w] == KIND_OPERATOR else None

    def is_op(self, v: int | None, *op_types: str) -> bool:
        return (v is not None and self.alive[v] and self.kind[v] == KIND_OPERATOR and self.domain[v] == ""
                and self.op_type[v] in op_types)

    def has_constant(self, v: int, slot: int | None = None) -> bool:
        """v reads a constant (initializer or folded constant) at `slot`, or at any slot when None."""
        return bool(self.inits[v]) if slot is None else str(slot) in self.inits[v]

    def _by_type(self) -> dict[str, set[int]]:
        if self._types is None:
            types: dict[str, set[int]] = {}
            for v, t in enumerate(self.op_type):
                types.setdefault(t, set()).add(v)
            self._types = types
        return self._types

    def nodes(self, *op_types: str, domain: str | None = "") -> list[int]:
        """Live operator nodes with one of these op types (of the default domain unless `domain` says
        otherwise; None: any domain), in idx order."""
        types = self._by_type()
        found: list[int] = []
        for t in op_types:
            found.extend(types.get(t, ()))
        found.sort()
        return [v for v in found if self.alive[v] and self.kind[v] == KIND_OPERATOR
                and (domain is None or self.domain[v] == domain)]

    def present(self, op_types: frozenset[str] | set[str] | dict[str, Any]) -> bool:
        """Whether some node (alive or not) has one of these op types: lets a pass skip a graph."""
        return not self._by_type().keys().isdisjoint(op_types)

    def set_op(self, v: int, op_type: str, domain: str = "") -> None:
        """Change a node's operator (keeps the op-type index right)."""
        if self._types is not None:
            self._types[self.op_type[v]].discard(v)
            self._types.setdefault(op_type, set()).add(v)
        self.op_type[v], self.domain[v] = op_type, domain

    def edge_shape(self, e: int) -> list[Any] | None:
        text = self.e_shape[e]
        if not text or not isinstance(text, str):
            return None
        try:
            value = json.loads(text)
        except ValueError:
            return None
        return value if isinstance(value, list) else None

    def output_shape(self, v: int) -> list[Any] | None:
        """The declared shape of v's output slot 0 (from any of its out-edges), None when undeclared."""
        for e in self.out_edges(v):
            if self.src_slot[e] == 0:
                found = self.edge_shape(e)
                if found is not None:
                    return found
        return None

    def input_shape(self, v: int, slot: int = 0) -> list[Any] | None:
        for e in self.in_edges(v):
            if self.dst_slot[e] == slot:
                return self.edge_shape(e)
        return None

    # -- writing --------------------------------------------------------------------------------
    def set_attrs(self, v: int, attrs: dict[str, Any]) -> None:
        self.attrs[v] = attrs

    def set_init(self, v: int, slot: int, summary: Constant | None) -> None:
        """Give v a constant at `slot` (copy-on-write: the parsed dict may be shared), or drop it."""
        inits = dict(self.inits[v])
        if summary is None:
            inits.pop(str(slot), None)
        else:
            inits[str(slot)] = summary
        self.inits[v] = inits

    def add_edge(self, src: int, src_slot: int, dst: int, dst_slot: int, dtype: str | None = None,
                 shape: str | None = None, tensor: str | None = None) -> None:
        """Queue a new edge; it joins the columns (and the adjacency) at the next `reindex()`."""
        self._pending.append((src, src_slot, dst, dst_slot, dtype, shape, tensor))

    def _merge_pending(self) -> None:
        if not self._pending:
            return
        cols = list(zip(*self._pending))
        self._pending = []
        self.src = np.concatenate([self.src, np.asarray(cols[0], dtype=np.int64)])
        self.src_slot = np.concatenate([self.src_slot, np.asarray(cols[1], dtype=np.int64)])
        self.dst = np.concatenate([self.dst, np.asarray(cols[2], dtype=np.int64)])
        self.dst_slot = np.concatenate([self.dst_slot, np.asarray(cols[3], dtype=np.int64)])
        self.e_alive = np.concatenate([self.e_alive, np.ones(len(cols[0]), dtype=bool)])
        self.e_dtype.extend(cols[4])
        self.e_shape.extend(cols[5])
        self.e_tensor.extend(cols[6])

    def drop_edges(self, edges: Iterable[int]) -> None:
        ids = np.fromiter(edges, dtype=np.int64)
        if len(ids):
            self.e_alive[ids] = False

    def remove(self, through: dict[int, Source], into: dict[int, int] | None = None) -> None:
        """Remove the nodes keyed in `through`, all at once, and reconnect their consumers.

        `through[v]` says what v's outputs carried: a (node, slot) the consumers now read instead,
        a constant summary they now hold as a constant input, or None (the inputs are dropped).
        A source that is itself removed is followed to its own source. `into[v]` names the node v
        is folded into (its `owner`), when it is not simply gone. Call `reindex()` afterwards."""
        if not through:
            return
        resolved: dict[int, Source] = {}

        def resolve(v: int) -> Source:
            seen = []
            s: Source = through[v]
            while isinstance(s, tuple) and s[0] in through and s[0] not in resolved:
                seen.append(s[0])
                if len(seen) > len(through):  # a cycle among removed nodes: drop the value
                    s = None
                    break
                s = through[s[0]]
            if isinstance(s, tuple) and s[0] in resolved:
                s = resolved[s[0]]
            for u in seen:
                resolved[u] = s
            return s

        for v in through:
            resolved[v] = resolve(v)
        e_alive = self.e_alive
        for v, s in resolved.items():
            self.alive[v] = False
            for e in self.in_edges(v):
                e_alive[e] = False
            for e in self.out_edges(v):
                self.e_alive[e] = False
                w, slot = int(self.dst[e]), int(self.dst_slot[e])
                if w in resolved:
                    continue
                if isinstance(s, tuple):
                    self.add_edge(s[0], s[1], w, slot, self.e_dtype[e], self.e_shape[e], self.e_tensor[e])
                elif s is not None and self.kind[w] == KIND_OPERATOR:
                    summary = dict(s)
                    if summary.get("shape") is None and self.e_shape[e]:  # the declared shape, when known
                        summary["shape"] = self.edge_shape(e)
                        summary.setdefault("dtype", self.e_dtype[e])
                    self.set_init(w, slot, summary)
        self._reassign(resolved, into or {})

    def _reassign(self, removed: dict[int, Source], into: dict[int, int]) -> None:
        """Exact nodes owned by removed nodes move to their new owner (or to none)."""
        targets = np.arange(self.n, dtype=np.int64)
        for v in removed:
            t = into.get(v, -1)
            while t >= 0 and not self.alive[t] and t in into and into[t] != t:
                t = into[t]
            targets[v] = t
            if t >= 0:
                self.fused[t] += self.fused[v]
        owned = self.owner >= 0
        self.owner[owned] = targets[self.owner[owned]]

    def live_nodes(self) -> np.ndarray:
        return np.flatnonzero(self.alive)

    def is_io(self, v: int) -> bool:
        return self.kind[v] in (KIND_INPUT, KIND_OUTPUT)


def render_attrs(attrs: dict[str, Any]) -> str:
    return dumps(attrs) if attrs else "{}"
