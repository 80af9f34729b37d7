"""`export pyg`, stage 2b: the items of each task, from the flat arrays of raw/.

- `link` and `graph`: one item per graph (graphs without edges / without a target value skipped);
- `operator`: one item per distinct community hash (the smallest (graph_id, k) represents it): the
  community's operators plus its boundary (the operators outside it that its flows reach), whose
  types are the targets (younger_graph.reading computes the boundaries, as `communities` does).

Also the deterministic negative sampling of link-prediction val/test items.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from younger_graph.errors import ExportError
from younger_graph.export.arrays import GraphArrays, rows_for
from younger_graph.reading import boundary_nodes, community_incidence


def negative_edges(num_nodes: int, src: np.ndarray, dst: np.ndarray, count: int,
                   rng: np.random.Generator) -> np.ndarray:
    """Up to `count` distinct ordered pairs (u, v), u != v, with no u→v edge; [2, k] int64, deterministic in rng."""
    n = int(num_nodes)
    empty = np.zeros((2, 0), dtype=np.int64)
    if n < 2 or count <= 0:
        return empty
    positive = np.unique(src.astype(np.int64) * n + dst.astype(np.int64))
    positive = positive[positive // n != positive % n]
    available = n * (n - 1) - len(positive)
    k = min(int(count), available)
    if k <= 0:
        return empty
    if available <= 4 * k:
        every = np.arange(n * n, dtype=np.int64)
        every = every[(every // n != every % n) & ~np.isin(every, positive, assume_unique=True)]
        chosen = rng.permutation(every)[:k]
    else:
        chosen = np.zeros(0, dtype=np.int64)
        while len(chosen) < k:
            draw = rng.integers(0, n * n, size=2 * (k - len(chosen)) + 16, dtype=np.int64)
            draw = draw[(draw // n != draw % n) & ~np.isin(draw, positive)]
            draw = np.concatenate([chosen, draw])
            _, first = np.unique(draw, return_index=True)
            chosen = draw[np.sort(first)][:k]
    return np.stack([chosen // n, chosen % n])


def graph_rng(seed: int, graph_id: str) -> np.random.Generator:
    key = int.from_bytes(hashlib.sha256(graph_id.encode()).digest()[:8], "little")
    return np.random.Generator(np.random.PCG64([seed, key]))


@dataclass
class Item:
    """One Data to be: its graph (row in GraphArrays), nodes (graph idx, sorted) and edges (positions)."""

    row: int
    key: str  # split key (graph_id, or the community hash)
    nodes: np.ndarray | None = None  # None: the whole graph
    edges: np.ndarray | None = None  # edge positions into the flat edge arrays (None: the whole graph)
    boundary: np.ndarray | None = None  # bool per node (operator task)
    community_id: str = ""
    y: Any = None




@dataclass
class TaskItems:
    """The items of a task, its statistics (for meta.json) and, for the graph task, targets.json."""

    items: list[Item]
    stats: dict[str, Any]
    targets: dict[str, Any] | None = None


def link_items(a: GraphArrays) -> TaskItems:
    """One item per graph with at least one node and one flow."""
    keep = (a.num_nodes >= 1) & (a.num_edges >= 1)
    items = [Item(int(r), a.ids[r]) for r in np.flatnonzero(keep)]
    return TaskItems(items, {"skipped_without_edges": int((~keep).sum())})


def graph_items(a: GraphArrays, raw: Path, target: str, target_kind: str) -> TaskItems:
    """One item per non-empty graph with a value of `target`; class values numbered in sorted order."""
    values = aggregate_targets(pq.read_table(raw / "targets.parquet").to_pandas(), target_kind)
    kind = values.pop("__kind__")
    items, no_target = [], 0
    for r, gid in enumerate(a.ids):
        if a.num_nodes[r] < 1:
            continue
        if gid not in values:
            no_target += 1
            continue
        items.append(Item(r, gid, y=values[gid]))
    stats = {"skipped_without_target": no_target, "skipped_empty": int((a.num_nodes < 1).sum())}
    if not items:
        raise ExportError(f"no exported graph has a value for {target!r} (on the Graph or its Models)")
    if kind == "class":
        classes = sorted({it.y for it in items})
        index = {c: i for i, c in enumerate(classes)}
        counts = Counter(it.y for it in items)
        for it in items:
            it.y = index[it.y]
        targets = {"property": target, "kind": "class", "classes": classes, "counts": [counts[c] for c in classes]}
    else:
        ys = np.array([it.y for it in items], dtype=np.float64)
        targets = {"property": target, "kind": "float", "count": len(items), "mean": float(ys.mean()),
                   "std": float(ys.std()), "min": float(ys.min()), "max": float(ys.max())}
    return TaskItems(items, stats, targets)


def operator_items(a: GraphArrays, raw: Path, view: str) -> TaskItems:
    """One item per distinct community hash (`hash` for the attrs view, `hash_noattr` otherwise): its
    operators and boundary, the boundary's types to predict. Communities without a boundary are skipped."""
    comm = pq.read_table(raw / "communities.parquet").to_pandas()
    row_of = a.row_of()
    key_col = "hash" if view == "attrs" else "hash_noattr"
    comm["row"] = np.array([row_of[g] for g in comm["graph_id"]], dtype=np.int64)
    comm["pos"] = np.arange(len(comm))
    # Communities are sorted (graph_id, k), members (graph_id, k, idx): community i's members are
    # m_idx[m_ptr[i]:m_ptr[i+1]]. Keys row·K + k, numeric, so the match is a searchsorted.
    span = int(comm["k"].max()) + 1 if len(comm) else 1
    comm_key = comm["row"].to_numpy() * span + comm["k"].to_numpy(np.int64)
    if np.any(np.diff(comm_key) <= 0):
        raise ExportError("raw/communities.parquet is not sorted by (graph_id, k) without repeats")
    n_members = pq.read_metadata(raw / "members.parquet").num_rows
    m_idx = np.empty(n_members, dtype=np.int64)
    member_pos = np.empty(n_members, dtype=np.int64)
    pos = 0
    for batch in pq.ParquetFile(raw / "members.parquet").iter_batches(batch_size=100_000):
        n = batch.num_rows
        if n == 0:
            continue
        key = rows_for(batch.column("graph_id"), row_of, "members") * span + \
            batch.column("k").to_numpy(zero_copy_only=False).astype(np.int64)
        where = np.minimum(np.searchsorted(comm_key, key), max(len(comm_key) - 1, 0))
        if not len(comm_key) or np.any(comm_key[where] != key):
            raise ExportError("raw/members.parquet has a member of a community missing from "
                              "raw/communities.parquet")
        member_pos[pos:pos + n] = where
        m_idx[pos:pos + n] = batch.column("idx").to_numpy(zero_copy_only=False)
        pos += n
    if pos != n_members or np.any(np.diff(member_pos) < 0):
        raise ExportError("raw/members.parquet does not follow raw/communities.parquet")
    m_ptr = np.searchsorted(member_pos, np.arange(len(comm) + 1))
    del member_pos
    c_ptr = np.searchsorted(comm["row"].to_numpy(), np.arange(len(a.ids) + 1))
    # One representative per distinct hash: the smallest (graph_id, k).
    reps = comm.sort_values([key_col, "graph_id", "k"], kind="stable").drop_duplicates(key_col)
    stats: dict[str, Any] = {"communities": len(comm), "duplicate_communities": len(comm) - len(reps)}
    items: list[Item] = []
    no_boundary = 0
    for row, group in reps.sort_values(["row", "k"]).groupby("row", sort=True):
        row = int(row)
        lo, hi = int(a.edge_ptr[row]), int(a.edge_ptr[row + 1])
        first, last = int(c_ptr[row]), int(c_ptr[row + 1])
        src, dst = a.src[lo:hi], a.dst[lo:hi]
        owner = np.full(int(a.num_nodes[row]), -1, dtype=np.int64)
        for i in range(first, last):
            owner[m_idx[m_ptr[i]:m_ptr[i + 1]]] = i - first
        ptr, incident = community_incidence(src, dst, owner, last - first)
        for i, key, cid in zip(group["pos"], group[key_col], group["community_id"]):
            part = m_idx[m_ptr[i]:m_ptr[i + 1]]
            e = incident[ptr[i - first]:ptr[i - first + 1]]
            boundary = boundary_nodes(part, src, dst, e)
            if not len(boundary):
                no_boundary += 1
                continue
            nodes = np.union1d(part, boundary)
            items.append(Item(row, str(key), nodes, e + lo, np.isin(nodes, boundary, assume_unique=True), str(cid)))
    stats["skipped_without_boundary"] = no_boundary
    items.sort(key=lambda it: it.key)
    return TaskItems(items, stats)


def aggregate_targets(rows: pd.DataFrame, kind: str) -> dict[str, Any]:
    """graph_id → target: the Graph's own value, else its Models' (mean for numbers, most common class)."""
    out: dict[str, Any] = {}
    if not len(rows):
        out["__kind__"] = "class" if kind == "class" else "float"
        return out
    values = rows["value"].astype(str)
    numeric = pd.to_numeric(values, errors="coerce")
    if kind == "auto":
        kind = "float" if bool(numeric.notna().all()) and bool(np.isfinite(numeric.to_numpy()).all()) else "class"
    if kind == "float" and bool(numeric.isna().any()):
        bad = values[numeric.isna()].iloc[0]
        raise ExportError(f"--target-kind float: value {bad!r} is not a number")
    frame = pd.DataFrame({"graph_id": rows["graph_id"].astype(str), "level": rows["level"],
                          "value": numeric if kind == "float" else values})
    for gid, group in frame.groupby("graph_id", sort=True):
        own = group[group["level"] == "graph"]["value"]
        vals = own if len(own) else group["value"]
        if kind == "float":
            out[str(gid)] = float(vals.mean())
        else:
            counts = Counter(vals.tolist())
            out[str(gid)] = min(counts, key=lambda v: (-counts[v], v))
    out["__kind__"] = kind
    return out
