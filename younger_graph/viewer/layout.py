"""A top-down layered drawing of one scope's DAG (Sugiyama style, like Netron's), in numpy and plain Python.

1. Layers: a topological order (cycles, which malformed models may have, are broken at the smallest
   remaining idx and their back edges left out of the layout); each node one layer below its lowest
   producer; producers without inputs of their own (constants, initializer copies) sink to just above
   their first consumer instead of floating at the top. Graph inputs stay on top.
2. Lanes: an edge spanning several layers gets a dummy node per layer it crosses (up to MAX_SPAN
   layers; longer edges are drawn straight), so long skip connections get their own lane.
3. Order within layers: barycentre sweeps, down and up.
4. x coordinates: per layer, the positions closest (least squares) to the mean x of each node's
   neighbours that keep the layer's order and spacing: an isotonic regression, solved exactly by
   pool-adjacent-violators; sweeps alternate down and up, so chains come out straight.

Everything is deterministic: the same graph gives the same drawing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NODE_HEIGHT = 26.0
ROW = 56.0  # vertical distance between layers
GAP = 16.0  # horizontal gap between neighbours
DUMMY_WIDTH = 4.0
DUMMY_GAP = 6.0
MAX_SPAN = 24  # layers an edge may cross with lanes; longer edges are drawn straight
SWEEPS = 4
PLACE_PASSES = 7  # odd: the last pass goes down
MARGIN = 20.0

__all__ = ["Layout", "layered_layout", "node_width"]


def node_width(label: str) -> float:
    """Width of a node box for a label drawn in the page's 12 px font (about 7 px a character)."""
    return max(48.0, 7.0 * len(label) + 18.0)


@dataclass
class Layout:
    x: np.ndarray  # centre x of each node
    y: np.ndarray  # top y of each node
    layer: np.ndarray
    width: float
    height: float
    edges: list[list[float]]  # per edge, a polyline x0, y0, x1, y1, ... (source bottom → target top)


def _csr(n: int, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Neighbours b of each a as (ptr, values): node v's are values[ptr[v]:ptr[v + 1]]."""
    order = np.argsort(a, kind="stable")
    return np.searchsorted(a[order], np.arange(n + 1)), b[order]


def _topological(n: int, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Kahn's order, smallest idx first; a cycle is broken at its smallest remaining node."""
    import heapq

    ptr, succ = _csr(n, src, dst)
    indeg = np.bincount(dst, minlength=n).astype(np.int64).tolist()
    succ_list, ptr_list = succ.tolist(), ptr.tolist()
    heap = [v for v in range(n) if indeg[v] == 0]
    heapq.heapify(heap)
    done = [False] * n
    order: list[int] = []
    pending = 0  # smallest node not yet placed, for breaking cycles
    while len(order) < n:
        if not heap:
            while done[pending]:
                pending += 1
            indeg[pending] = 0
            heapq.heappush(heap, pending)
        v = heapq.heappop(heap)
        if done[v]:
            continue
        done[v] = True
        order.append(v)
        for w in succ_list[ptr_list[v]:ptr_list[v + 1]]:
            indeg[w] -= 1
            if indeg[w] == 0 and not done[w]:
                heapq.heappush(heap, w)
    return np.asarray(order, dtype=np.int64)


def _layers(n: int, src: np.ndarray, dst: np.ndarray, rank: np.ndarray, pinned: np.ndarray) -> np.ndarray:
    """Longest path from the top; unpinned sources then sink to just above their first consumer."""
    order = np.argsort(rank)
    layer = np.zeros(n, dtype=np.int64)
    pptr, preds = _csr(n, dst, src)
    sptr, succs = _csr(n, src, dst)
    preds_l, pptr_l, succs_l, sptr_l = preds.tolist(), pptr.tolist(), succs.tolist(), sptr.tolist()
    lay = layer.tolist()
    for v in order.tolist():
        ps = preds_l[pptr_l[v]:pptr_l[v + 1]]
        if ps:
            lay[v] = max(lay[p] for p in ps) + 1
    for v in order[::-1].tolist():
        if pptr_l[v] == pptr_l[v + 1] and not pinned[v]:
            ss = succs_l[sptr_l[v]:sptr_l[v + 1]]
            if ss:
                lay[v] = max(min(lay[s] for s in ss) - 1, 0)
    return np.asarray(lay, dtype=np.int64)


def _isotonic(values: list[float], weights: list[float]) -> list[float]:
    """Weighted least-squares non-decreasing fit (pool adjacent violators)."""
    means: list[float] = []
    sizes: list[int] = []
    mass: list[float] = []
    for v, w in zip(values, weights):
        means.append(v)
        mass.append(w)
        sizes.append(1)
        while len(means) > 1 and means[-2] > means[-1]:
            m2, w2, s2 = means.pop(), mass.pop(), sizes.pop()
            total = mass[-1] + w2
            means[-1] = (means[-1] * mass[-1] + m2 * w2) / total
            mass[-1] = total
            sizes[-1] += s2
    out: list[float] = []
    for m, s in zip(means, sizes):
        out.extend([m] * s)
    return out


class _Lanes:
    """Real nodes plus one dummy per layer crossed by each lane edge, and the segments joining them."""

    def __init__(self, n: int, src: np.ndarray, dst: np.ndarray, layer: np.ndarray, widths: np.ndarray) -> None:
        self.n = n
        span = layer[dst] - layer[src]
        self.forward = span > 0
        lane = self.forward & (span > 1) & (span <= MAX_SPAN)
        count = np.where(lane, span - 1, 0)
        total = int(count.sum())
        self.dummy_start = np.concatenate([[0], np.cumsum(count)])[:-1] + n  # first dummy id per edge
        self.count = count
        edge_of = np.repeat(np.arange(len(src)), count)
        step = np.arange(total) - np.repeat(self.dummy_start - n, count)  # 0.. within the edge
        self.layer = np.concatenate([layer, layer[src][edge_of] + step + 1])
        self.width = np.concatenate([widths, np.full(total, DUMMY_WIDTH)])
        self.dummy = np.concatenate([np.zeros(n, bool), np.ones(total, bool)])
        # Segments between consecutive layers: direct edges of span 1, and each lane edge's chain.
        direct = self.forward & (span == 1)
        seg_u = [src[direct]]
        seg_v = [dst[direct]]
        if total:
            ids = np.arange(n, n + total)
            first = step == 0
            last = step == count[edge_of] - 1
            seg_u += [src[edge_of[first]], ids[~last]]
            seg_v += [ids[first], ids[~last] + 1]
            seg_u.append(ids[last])
            seg_v.append(dst[edge_of[last]])
        self.seg_u = np.concatenate(seg_u).astype(np.int64)
        self.seg_v = np.concatenate(seg_v).astype(np.int64)


def _order(lanes: _Lanes, rank: np.ndarray, src: np.ndarray) -> list[np.ndarray]:
    """Nodes of each layer, left to right, after barycentre sweeps."""
    n_all = len(lanes.layer)
    key = np.empty(n_all)
    key[:lanes.n] = rank
    if n_all > lanes.n:
        edge_of = np.repeat(np.arange(len(lanes.count)), lanes.count)
        key[lanes.n:] = rank[src[edge_of]] + 0.5
    depth = int(lanes.layer.max()) + 1 if n_all else 0
    by_layer = np.lexsort((key, lanes.layer))
    bounds = np.searchsorted(lanes.layer[by_layer], np.arange(depth + 1))
    layers = [by_layer[bounds[i]:bounds[i + 1]] for i in range(depth)]
    pos = np.empty(n_all)
    for nodes in layers:
        pos[nodes] = np.arange(len(nodes))
    down = _grouped(lanes.layer[lanes.seg_v], depth)
    up = _grouped(lanes.layer[lanes.seg_u], depth)
    for sweep in range(SWEEPS):
        forward = sweep % 2 == 0
        groups, this_end, other_end = (down, lanes.seg_v, lanes.seg_u) if forward else (up, lanes.seg_u, lanes.seg_v)
        indices = range(1, depth) if forward else range(depth - 2, -1, -1)
        for li in indices:
            segs = groups[li]
            nodes = layers[li]
            if not len(segs) or len(nodes) < 2:
                continue
            local = pos[this_end[segs]].astype(np.int64)
            sums = np.bincount(local, weights=pos[other_end[segs]], minlength=len(nodes))
            counts = np.bincount(local, minlength=len(nodes))
            bary = np.where(counts > 0, sums / np.maximum(counts, 1), np.arange(len(nodes)))
            nodes = nodes[np.argsort(bary, kind="stable")]
            layers[li] = nodes
            pos[nodes] = np.arange(len(nodes))
    return layers


def _grouped(layer_of_segment: np.ndarray, depth: int) -> list[np.ndarray]:
    order = np.argsort(layer_of_segment, kind="stable")
    bounds = np.searchsorted(layer_of_segment[order], np.arange(depth + 1))
    return [order[bounds[i]:bounds[i + 1]] for i in range(depth)]


def _place(lanes: _Lanes, layers: list[np.ndarray], light: np.ndarray) -> np.ndarray:
    """x of every node (real and dummy): isotonic fits to the neighbours' (weighted) mean, layer by layer.
    `light` nodes (sunk sources: constants, initializer copies) pull their consumers only a little, so a
    chain stays straight beside its constants."""
    n_all = len(lanes.layer)
    pull = np.ones(n_all)
    pull[:len(light)][light] = 0.1
    x = np.zeros(n_all)
    offsets = []
    for nodes in layers:
        w = lanes.width[nodes]
        gaps = np.where(lanes.dummy[nodes][1:] | lanes.dummy[nodes][:-1], DUMMY_GAP, GAP)
        c = np.concatenate([[0.0], np.cumsum((w[:-1] + w[1:]) / 2 + gaps)]) if len(nodes) else np.zeros(0)
        c -= c[-1] / 2 if len(c) else 0.0
        offsets.append(c)
        x[nodes] = c
    depth = len(layers)
    down = _grouped(lanes.layer[lanes.seg_v], depth)
    up = _grouped(lanes.layer[lanes.seg_u], depth)
    weight = np.where(lanes.dummy, 0.5, 1.0)  # operators hold their line; lanes bend around them
    for p in range(PLACE_PASSES):
        forward = p % 2 == 0
        groups, this_end, other_end = (down, lanes.seg_v, lanes.seg_u) if forward else (up, lanes.seg_u, lanes.seg_v)
        indices = range(1, depth) if forward else range(depth - 2, -1, -1)
        for li in indices:
            nodes = layers[li]
            segs = groups[li]
            if not len(nodes) or not len(segs):
                continue
            where = np.full(n_all, -1, dtype=np.int64)
            where[nodes] = np.arange(len(nodes))
            local = where[this_end[segs]]
            w = pull[other_end[segs]]
            sums = np.bincount(local, weights=x[other_end[segs]] * w, minlength=len(nodes))
            counts = np.bincount(local, weights=w, minlength=len(nodes))
            desired = np.where(counts > 0, sums / np.maximum(counts, 1e-9), x[nodes])
            c = offsets[li]
            fitted = _isotonic((desired - c).tolist(), weight[nodes].tolist())
            x[nodes] = c + np.asarray(fitted)
    return x


def layered_layout(n: int, src: np.ndarray, dst: np.ndarray, widths: np.ndarray,
                   pinned: np.ndarray | None = None) -> Layout:
    """Positions of `n` nodes (local ids 0..n-1) joined by edges src→dst; `widths` per node; `pinned`
    nodes (graph inputs) stay in the top layer."""
    src = np.asarray(src, dtype=np.int64)
    dst = np.asarray(dst, dtype=np.int64)
    widths = np.asarray(widths, dtype=float)
    if n == 0:
        return Layout(np.zeros(0), np.zeros(0), np.zeros(0, np.int64), 0.0, 0.0, [[] for _ in range(len(src))])
    pinned = np.zeros(n, bool) if pinned is None else np.asarray(pinned, bool)
    rank = np.empty(n, dtype=np.int64)
    rank[_topological(n, src, dst)] = np.arange(n)
    forward = rank[src] < rank[dst]  # back edges of broken cycles are left out of the layout
    layer = _layers(n, src[forward], dst[forward], rank, pinned)
    lanes = _Lanes(n, src, dst, layer, widths)
    layers = _order(lanes, rank.astype(float), src)
    fsrc, fdst = src[forward], dst[forward]
    has_pred = np.bincount(fdst, minlength=n) > 0
    has_succ = np.bincount(fsrc, minlength=n) > 0
    x = _place(lanes, layers, ~has_pred & has_succ & ~pinned)
    left = float(np.min(x - lanes.width / 2))
    x = x - left + MARGIN
    y_all = lanes.layer * ROW + MARGIN
    width = float(np.max(x + lanes.width / 2)) + MARGIN
    height = float(lanes.layer.max()) * ROW + NODE_HEIGHT + 2 * MARGIN
    return Layout(x[:n], y_all[:n].astype(float), layer, width, height, _edge_points(lanes, src, dst, x, y_all))


def _edge_points(lanes: _Lanes, src: np.ndarray, dst: np.ndarray, x: np.ndarray, y: np.ndarray) -> list[list[float]]:
    out = []
    xs, ys = x.tolist(), y.tolist()
    starts, counts = lanes.dummy_start.tolist(), lanes.count.tolist()
    for k, (s, d) in enumerate(zip(src.tolist(), dst.tolist())):
        pts = [round(xs[s], 1), round(ys[s] + NODE_HEIGHT, 1)]
        for dmy in range(starts[k], starts[k] + counts[k]):
            pts += [round(xs[dmy], 1), round(ys[dmy] + NODE_HEIGHT / 2, 1)]
        pts += [round(xs[d], 1), round(ys[d], 1)]
        out.append(pts)
    return out
