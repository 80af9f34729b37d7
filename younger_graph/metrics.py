"""Per-graph structural aggregates, computed once at extraction and stored on the graph's row.

`graph_metrics` is a pure function of a graph's node columns (kind, op_type, domain) and its flow
edges (src → dst node indices). It is vectorised with numpy so a 100k-operator graph costs a few
milliseconds: degrees by `np.bincount`, weakly connected components by hook-and-compress
union-find over the edge list, topological levels by frontiers (Kahn's algorithm one whole level at
a time). The values become columns of graphs.parquet (docs/formats.md) and thus Graph node
properties, so corpus statistics (`younger-graph stats`) never rescan operators or edges.

Definitions (all over the stored DAG: every node, including input/output nodes and subgraph
bodies; every flow edge, parallel flows counted):

- `num_components`: weakly connected components (an isolated node is one); 0 for an empty graph;
- `max_in_degree`, `max_out_degree`: the largest number of incoming / outgoing flow edges of a node;
- `depth`: the number of nodes on a longest path along flow edges (1 for nodes without edges, 0 for
  an empty graph), -1 when the flow edges form a cycle (a malformed model);
- `width`: the largest number of nodes on one topological level (level = length of the longest
  path reaching the node), -1 when there is a cycle;
- `num_op_types`: distinct `op_type` values among operator nodes (kind `operator`);
- `op_type_entropy`: Shannon entropy in bits of the op_type distribution of operator nodes;
- `has_control_flow`: an operator `If`, `Loop` or `Scan` of the standard ONNX domain is present;
- `has_custom_domain`: an operator's domain is none of `""`, `ai.onnx`, `ai.onnx.ml`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from itertools import compress
from typing import Any

import numpy as np

from younger_graph.schema import KIND_OPERATOR

CONTROL_FLOW_OPS = frozenset({"If", "Loop", "Scan"})
_NARROW = 64  # frontier size above which a level is processed with numpy
DEFAULT_DOMAINS = frozenset({"", "ai.onnx"})
STANDARD_DOMAINS = frozenset({"", "ai.onnx", "ai.onnx.ml"})

def graph_metrics(
    kind: Sequence[str],
    op_type: Sequence[str],
    domain: Sequence[str],
    src: Sequence[int] | np.ndarray,
    dst: Sequence[int] | np.ndarray,
) -> dict[str, Any]:
    """The aggregates of one graph (see the module docstring); plain Python values."""
    n = len(kind)
    src_a = np.asarray(src, dtype=np.int64)
    dst_a = np.asarray(dst, dtype=np.int64)
    in_deg = np.bincount(dst_a, minlength=n) if n else np.zeros(0, np.int64)
    out_deg = np.bincount(src_a, minlength=n) if n else np.zeros(0, np.int64)
    depth, width = _levels(n, src_a, dst_a, in_deg)
    is_op = [k == KIND_OPERATOR for k in kind]
    ops = list(compress(op_type, is_op))
    op_counts = Counter(ops)
    pairs = set(zip(ops, compress(domain, is_op)))
    control_flow = any(t in CONTROL_FLOW_OPS and d in DEFAULT_DOMAINS for t, d in pairs)
    custom = any(d not in STANDARD_DOMAINS for _, d in pairs)
    return {
        "num_components": _components(n, src_a, dst_a),
        "max_in_degree": int(in_deg.max()) if n else 0,
        "max_out_degree": int(out_deg.max()) if n else 0,
        "depth": depth,
        "width": width,
        "num_op_types": len(op_counts),
        "op_type_entropy": entropy_bits(list(op_counts.values())),
        "has_control_flow": control_flow,
        "has_custom_domain": custom,
    }


def entropy_bits(counts: Sequence[int] | np.ndarray) -> float:
    """Shannon entropy (bits) of a distribution given by positive counts; 0.0 when empty."""
    c = np.sort(np.asarray(counts, dtype=np.float64))  # sorted: the same bits whatever the node order
    c = c[c > 0]
    if c.size == 0:
        return 0.0
    p = c / c.sum()
    return float(-(p * np.log2(p)).sum()) + 0.0  # + 0.0 turns -0.0 into 0.0


def _components(n: int, src: np.ndarray, dst: np.ndarray) -> int:
    """Weakly connected components by hook-and-compress: every parent points to a smaller index,
    so hooking roots onto smaller roots never makes a cycle; pointer jumping flattens the trees."""
    if n == 0:
        return 0
    if src.size == 0:
        return n
    parent = np.arange(n, dtype=np.int64)
    while True:
        a, b = parent[src], parent[dst]
        differ = a != b
        if not differ.any():
            break
        a, b = a[differ], b[differ]
        np.minimum.at(parent, np.maximum(a, b), np.minimum(a, b))
        while True:  # compress: every node points at its root
            grand = parent[parent]
            if np.array_equal(grand, parent):
                break
            parent = grand
    return int(np.count_nonzero(parent == np.arange(n)))


def _levels(n: int, src: np.ndarray, dst: np.ndarray, in_deg: np.ndarray) -> tuple[int, int]:
    """(depth, width) by frontiers: level 0 holds the nodes without incoming edges; a node joins
    the next frontier when its last incoming edge has been consumed. (-1, -1) on a cycle.

    A wide level is processed with numpy in one go; a narrow one (chains: most of a transformer's
    depth) with a plain loop, which costs far less than a dozen numpy calls per level."""
    if n == 0:
        return 0, 0
    order = np.argsort(src, kind="stable")
    targets = dst[order]
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(src, minlength=n), out=offsets[1:])
    remaining = in_deg.astype(np.int64, copy=True)
    frontier: np.ndarray | list[int] = np.flatnonzero(remaining == 0)
    targets_l: list[int] = []
    offsets_l: list[int] = []
    seen = depth = width = 0
    while len(frontier):
        size = len(frontier)
        seen += size
        depth += 1
        width = max(width, size)
        if size > _NARROW:
            front = np.asarray(frontier, dtype=np.int64)
            starts = offsets[front]
            counts = offsets[front + 1] - starts
            total = int(counts.sum())
            # The out-edge positions of every frontier node, concatenated (a vectorised multi-range).
            shift = np.repeat(starts - (np.cumsum(counts) - counts), counts)
            reached = targets[np.arange(total, dtype=np.int64) + shift]
            nodes, hits = np.unique(reached, return_counts=True)
            remaining[nodes] -= hits
            frontier = nodes[remaining[nodes] == 0]
        else:
            if not offsets_l:
                targets_l, offsets_l = targets.tolist(), offsets.tolist()
            nxt: list[int] = []
            for u in frontier.tolist() if isinstance(frontier, np.ndarray) else frontier:
                for v in targets_l[offsets_l[u]:offsets_l[u + 1]]:
                    remaining[v] -= 1
                    if remaining[v] == 0:
                        nxt.append(v)
            frontier = nxt
    if seen < n:
        return -1, -1
    return depth, width
