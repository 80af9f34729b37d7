"""Maximum mean discrepancy between generated and reference graphs, with DiGress's definitions.

DiGress (Vignac et al., 2023; `src/analysis/spectre_utils.py` and `dist_helper.py`, after GRAN and
GraphRNN) compares sets of graphs by MMD² over per-graph histograms: each histogram is normalised to
a distribution (h / (Σh + 1e-6)), and MMD² = mean k(x, x') + mean k(y, y') − 2 mean k(x, y) over all
pairs, self-pairs included (their biased estimator). The statistics here, on the view graph
(views.py) taken as an undirected simple graph (a DAG has no opposite flows to merge):

- `degree`: node count per degree 0..max (networkx's `degree_histogram`); Gaussian TV, σ = 1 (DiGress);
- `clustering`: local clustering coefficients in 100 bins over [0, 1]; Gaussian TV, σ = 0.1 (DiGress);
- `spectral`: normalised-Laplacian eigenvalues in 200 bins over [-1e-5, 2]; Gaussian TV, σ = 1 (DiGress);
- `op_type`: node count per token (the 255 tokens most frequent in the reference, then one bin for
  all others); Gaussian TV, σ = 1 (ours, as degree);
- `depth_width`: (log2 depth, log2 width), depth = nodes on a longest path, width = most nodes on
  one topological level; Gaussian RBF on the 2-vector, σ = 1 (ours: one σ is a factor of 2).

Gaussian TV: k(x, y) = exp(−TV(x, y)² / 2σ²) with TV = ½ Σ|x − y| (histograms zero-padded to one
length). Orbit counts (DiGress's fourth statistic) need the ORCA binary and are not computed.
Each side is capped at `MAX_GRAPHS` graphs (a seeded subsample) to bound the pairwise kernels.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from younger_graph.generation.views import ViewGraph

MAX_GRAPHS = 1000
OP_TYPE_BINS = 255
SPECTRAL_MAX_NODES = 2000  # eigenvalues of larger graphs cost O(n³): their spectral histogram is skipped
SIGMA = {"degree": 1.0, "clustering": 0.1, "spectral": 1.0, "op_type": 1.0, "depth_width": 1.0}
KERNELS = {"degree": "gaussian_tv", "clustering": "gaussian_tv", "spectral": "gaussian_tv", "op_type": "gaussian_tv",
           "depth_width": "gaussian_rbf"}
STATISTICS = tuple(SIGMA)


@dataclass
class Descriptors:
    """Per graph of one side: the histograms of each statistic (unnormalised) and (depth, width)."""

    degree: list[np.ndarray]
    clustering: list[np.ndarray]
    spectral: list[np.ndarray]
    tokens: list[Counter[str]]
    depth_width: np.ndarray  # [G, 2]


def describe(graphs: Sequence[ViewGraph]) -> Descriptors:
    out = Descriptors([], [], [], [], np.zeros((len(graphs), 2)))
    for k, g in enumerate(graphs):
        neighbours = _undirected(g)
        degree = np.asarray([len(s) for s in neighbours], dtype=np.int64)
        out.degree.append(np.bincount(degree) if len(degree) else np.zeros(1))
        out.clustering.append(np.histogram(_clustering(neighbours, degree), bins=100, range=(0.0, 1.0))[0])
        out.spectral.append(_spectral(neighbours, degree))
        out.tokens.append(Counter(g.tokens))
        out.depth_width[k] = _depth_width(g)
    return out


def _undirected(g: ViewGraph) -> list[set[int]]:
    neighbours: list[set[int]] = [set() for _ in range(g.n)]
    for s, d in zip(g.src.tolist(), g.dst.tolist()):
        if s != d:
            neighbours[s].add(d)
            neighbours[d].add(s)
    return neighbours


def _clustering(neighbours: list[set[int]], degree: np.ndarray) -> np.ndarray:
    """networkx's `clustering` on a simple undirected graph: triangles / (d(d-1)/2), 0 when d < 2."""
    out = np.zeros(len(neighbours))
    for i, ns in enumerate(neighbours):
        d = int(degree[i])
        if d < 2:
            continue
        links = sum(len(neighbours[j] & ns) for j in ns) / 2
        out[i] = links / (d * (d - 1) / 2)
    return out


def _spectral(neighbours: list[set[int]], degree: np.ndarray) -> np.ndarray:
    n = len(neighbours)
    if n == 0 or n > SPECTRAL_MAX_NODES:
        return np.zeros(200)
    adj = np.zeros((n, n))
    for i, ns in enumerate(neighbours):
        adj[i, list(ns)] = 1.0
    with np.errstate(divide="ignore"):
        inv = np.where(degree > 0, 1.0 / np.sqrt(np.maximum(degree, 1)), 0.0)
    lap = np.diag((degree > 0).astype(float)) - inv[:, None] * adj * inv[None, :]
    eigs = np.linalg.eigvalsh(lap)
    return np.histogram(eigs, bins=200, range=(-1e-5, 2.0))[0]


def _depth_width(g: ViewGraph) -> tuple[float, float]:
    """(log2 depth, log2 width) of a DAG: level = longest path from a source (Kahn's order; nodes on a
    cycle of a malformed sample keep level 0); depth = levels, width = most nodes on one level."""
    if g.n == 0:
        return 0.0, 0.0
    succs: list[list[int]] = [[] for _ in range(g.n)]
    indeg = [0] * g.n
    for s, d in zip(g.src.tolist(), g.dst.tolist()):
        succs[s].append(d)
        indeg[d] += 1
    level = [0] * g.n
    ready = [i for i in range(g.n) if not indeg[i]]
    while ready:
        i = ready.pop()
        for j in succs[i]:
            level[j] = max(level[j], level[i] + 1)
            indeg[j] -= 1
            if not indeg[j]:
                ready.append(j)
    depth = max(level) + 1
    width = int(np.bincount(np.asarray(level)).max())
    return float(np.log2(depth)), float(np.log2(width))


# -- kernels and MMD -------------------------------------------------------------------------------------
def _pmf_matrix(hists: Sequence[np.ndarray], length: int) -> np.ndarray:
    out = np.zeros((len(hists), length))
    for k, h in enumerate(hists):
        h = np.asarray(h, dtype=float)[:length]
        out[k, :len(h)] = h / (h.sum() + 1e-6)
    return out


def _tv_kernel_mean(x: np.ndarray, y: np.ndarray, sigma: float) -> float:
    """mean over all pairs of exp(-TV² / 2σ²), in row chunks to bound memory."""
    if not len(x) or not len(y):
        return float("nan")
    total = 0.0
    chunk = max(1, int(2e7 // max(1, len(y) * x.shape[1])))
    for i in range(0, len(x), chunk):
        tv = np.abs(x[i:i + chunk, None, :] - y[None, :, :]).sum(axis=2) / 2.0
        total += float(np.exp(-tv * tv / (2 * sigma * sigma)).sum())
    return total / (len(x) * len(y))


def _rbf_kernel_mean(x: np.ndarray, y: np.ndarray, sigma: float) -> float:
    if not len(x) or not len(y):
        return float("nan")
    d2 = ((x[:, None, :] - y[None, :, :]) ** 2).sum(axis=2)
    return float(np.exp(-d2 / (2 * sigma * sigma)).mean())


def mmd(a: Descriptors, b: Descriptors, vocabulary: Sequence[str]) -> dict[str, float]:
    """MMD² between two sides for every statistic (module docstring); `vocabulary`: the op_type bins."""
    out: dict[str, float] = {}
    for name in ("degree", "clustering", "spectral"):
        ha, hb = getattr(a, name), getattr(b, name)
        length = max([len(h) for h in (*ha, *hb)] or [1])
        out[name] = _mmd_tv(_pmf_matrix(ha, length), _pmf_matrix(hb, length), SIGMA[name])
    index = {t: k for k, t in enumerate(vocabulary[:OP_TYPE_BINS])}
    out["op_type"] = _mmd_tv(_token_matrix(a.tokens, index), _token_matrix(b.tokens, index), SIGMA["op_type"])
    sigma = SIGMA["depth_width"]
    out["depth_width"] = (_rbf_kernel_mean(a.depth_width, a.depth_width, sigma)
                          + _rbf_kernel_mean(b.depth_width, b.depth_width, sigma)
                          - 2 * _rbf_kernel_mean(a.depth_width, b.depth_width, sigma))
    return {k: float(v) for k, v in out.items()}


def _mmd_tv(x: np.ndarray, y: np.ndarray, sigma: float) -> float:
    return _tv_kernel_mean(x, x, sigma) + _tv_kernel_mean(y, y, sigma) - 2 * _tv_kernel_mean(x, y, sigma)


def _token_matrix(counts: Sequence[Counter[str]], index: dict[str, int]) -> np.ndarray:
    other = len(index)
    hists = []
    for c in counts:
        h = np.zeros(other + 1)
        for tok, n in c.items():
            h[index.get(tok, other)] += n
        hists.append(h)
    return _pmf_matrix(hists, other + 1)


def op_type_vocabulary(reference: Descriptors) -> list[str]:
    """The op_type bins: tokens by descending count over the reference graphs, ties by token."""
    total: Counter[str] = Counter()
    for c in reference.tokens:
        total.update(c)
    return [t for t, _ in sorted(total.items(), key=lambda kv: (-kv[1], kv[0]))]


def subsample(items: Sequence[int], limit: int, seed: int) -> list[int]:
    """At most `limit` of the positions, a seeded choice kept in order."""
    if len(items) <= limit:
        return list(items)
    pick = np.random.Generator(np.random.PCG64(seed)).choice(len(items), size=limit, replace=False)
    return [items[k] for k in sorted(pick.tolist())]


def select(d: Descriptors, keep: Sequence[int]) -> Descriptors:
    return Descriptors([d.degree[k] for k in keep], [d.clustering[k] for k in keep], [d.spectral[k] for k in keep],
                       [d.tokens[k] for k in keep], d.depth_width[list(keep)] if len(keep) else np.zeros((0, 2)))
