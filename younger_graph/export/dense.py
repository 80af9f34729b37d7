"""`younger-graph export dense`: small graphs as padded dense tensors (docs/export.md).

Graphs with at most `max_nodes` nodes (every Operator node, input/output nodes included) are laid
out in a deterministic topological order: Kahn's algorithm taking the smallest ready idx first;
when only nodes on cycles remain, the smallest remaining idx is placed next. Then, with G graphs,
N = max_nodes and V the vocabulary size:

- `X` [G, N, V] uint8: one-hot vocabulary index of the node at each position;
- `A` [G, N, N] uint8: A[g, i, j] = 1 when a flow goes from position i to position j (i < j, so A is
  strictly upper-triangular; parallel flows collapse); flows going backwards in the order (cycles,
  self-loops) are dropped and counted in meta.json;
- `mask` [G, N] bool: real nodes (positions < the graph's node count);
- `node_idx` [G, N] int32: the operator idx at each position, -1 on padding;
- `graph_ids` [G]: the graphs, sorted;
- `X_attr` [G, N, F] float32 (with `attr_features`): the attribute features of the node at each
  position (export/features.py; zero on padding).

Saved as `dense.npz` (numpy, no pickle: X, A, mask, node_idx, graph_ids) and `dense.pt` (a dict
of the same tensors plus the graph_ids list; written when torch is installed), beside `vocab.json`
(built on every exported graph; indices 0/1 are <unk>/<mask>), `splits.json` (the exported graph ids
per split by `split_by`, export/splits.py; the tensors hold every graph) and `meta.json`.
"""

from __future__ import annotations

import heapq
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from younger_graph import atomic
from younger_graph.errors import ExportError
from younger_graph.export import splits as splitting
from younger_graph.export.features import AttrTable
from younger_graph.export.features import describe as describe_attr_features
from younger_graph.export.raw import BATCH_NODES, Progress, backend_versions, store_fingerprint
from younger_graph.export.vocab import TokenTable, build_vocab, check_view, parse_split
from younger_graph.reading import Selection, batches, read_batch, select_graphs
from younger_graph.store.base import Store
from younger_graph.views import VIEWS

FORMAT = "younger-graph-dense/1"


@dataclass
class DenseOptions:
    max_nodes: int = 300
    view: str = "noattrs"
    min_count: int = 1
    attr_features: bool = False  # X_attr [G, N, F]: attribute features per position
    split: tuple[float, float, float] = (8.0, 1.0, 1.0)  # splits.json only: the tensors hold every graph
    seed: int = 1234
    split_by: str = "graph"  # export/splits.py
    splits: str | None = None  # a splits.json to reuse
    graph_view: str = "exact"  # which graph of each model: exact | arch (younger_graph.views)

    def check(self) -> DenseOptions:
        if self.max_nodes < 1:
            raise ExportError("--max-nodes must be at least 1")
        try:
            self.split = parse_split(":".join(str(r) for r in self.split))
        except ValueError as exc:
            raise ExportError(str(exc)) from None
        splitting.check_rule(self.split_by)
        if self.min_count < 1:
            raise ExportError("--min-count must be at least 1")
        try:
            check_view(self.view)
        except ValueError as exc:
            raise ExportError(str(exc)) from None
        if self.graph_view not in VIEWS:
            raise ExportError(f"--view must be one of {', '.join(VIEWS)}, not {self.graph_view!r}")
        return self


def topological_order(num_nodes: int, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Node idx per position: Kahn's algorithm, smallest ready idx first; on a cycle the smallest
    remaining idx goes next (its unplaced predecessors then come after it)."""
    n = int(num_nodes)
    indeg = np.bincount(dst, minlength=n).astype(np.int64) if len(dst) else np.zeros(n, np.int64)
    by_src = np.argsort(src, kind="stable")
    succ_dst = dst[by_src]
    starts = np.searchsorted(src[by_src], np.arange(n + 1))
    indeg_list = indeg.tolist()
    heap = [i for i in range(n) if indeg_list[i] == 0]
    heapq.heapify(heap)
    placed = [False] * n
    order: list[int] = []
    next_forced = 0
    while len(order) < n:
        if not heap:
            while placed[next_forced]:
                next_forced += 1
            heap.append(next_forced)
        u = heapq.heappop(heap)
        if placed[u]:
            continue
        placed[u] = True
        order.append(u)
        for v in succ_dst[starts[u]:starts[u + 1]].tolist():
            indeg_list[v] -= 1
            if indeg_list[v] == 0 and not placed[v]:
                heapq.heappush(heap, v)
    return np.asarray(order, dtype=np.int64)


def export_dense(store: Store, out: str | Path, options: DenseOptions | None = None,
                 selection: Selection | None = None, on_progress: Progress | None = None) -> dict[str, Any]:
    """Write dense.npz, dense.pt, vocab.json and meta.json under `out`; returns meta.json's content."""
    options = (options or DenseOptions()).check()
    selection = selection or Selection()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    graphs = select_graphs(store, selection, options.graph_view)
    fits = (graphs["num_nodes"] <= options.max_nodes) & (graphs["num_nodes"] > 0)
    counts: dict[str, Any] = {"selected": len(graphs),
                              "skipped_too_large": int((graphs["num_nodes"] > options.max_nodes).sum()),
                              "skipped_empty": int((graphs["num_nodes"] <= 0).sum())}
    graphs = graphs[fits].reset_index(drop=True)
    keys = splitting.read_keys(store, list(graphs["graph_id"]), options.split_by)
    frozen = splitting.Frozen.load(options.splits) if options.splits else None
    if frozen is not None:
        if frozen.unit != "graph":
            raise ExportError(f"--splits {options.splits} lists communities, not graphs")
        splitting.check_frozen_against_store(store, frozen)
    table = TokenTable(options.view)
    attr_table = AttrTable() if options.attr_features else None
    kept: list[tuple[str, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []  # id, order, codes, fwd src/dst
    attr_codes: list[np.ndarray] = []  # per kept graph, in `order`
    dropped_edges = graphs_with_dropped = edges_total = 0
    done = 0
    if on_progress:
        on_progress("reading graphs", 0, len(graphs))
    for ids in batches(graphs, BATCH_NODES):
        ops, flows = read_batch(store, ids, options.graph_view)
        op_groups = {g: f for g, f in ops.groupby("graph_id", sort=False)}
        flow_groups = {g: f for g, f in flows.groupby("graph_id", sort=False)}
        for gid in ids:
            o = op_groups.get(gid)
            n = 0 if o is None else len(o)
            if n == 0 or n > options.max_nodes:
                counts["skipped_too_large" if n else "skipped_empty"] += 1
                continue
            idx = o["idx"].to_numpy(np.int64)
            if not np.array_equal(idx, np.arange(n)):
                raise ExportError(f"graph {gid}: operator idx is not 0..{n - 1}")
            f = flow_groups.get(gid)
            src = f["src"].to_numpy(np.int64) if f is not None else np.zeros(0, np.int64)
            dst = f["dst"].to_numpy(np.int64) if f is not None else np.zeros(0, np.int64)
            order = topological_order(n, src, dst)
            pos = np.empty(n, dtype=np.int64)
            pos[order] = np.arange(n)
            forward = pos[src] < pos[dst]
            edges_total += len(src)
            if not forward.all():
                dropped_edges += int((~forward).sum())
                graphs_with_dropped += 1
            codes = table.encode(o["op_type"].tolist(), o["domain"].tolist(),
                                 o["attrs"].tolist() if options.view == "attrs" else None)
            kept.append((gid, order, codes[order], pos[src[forward]], pos[dst[forward]]))
            if attr_table is not None:
                attr_codes.append(attr_table.encode(o["attrs"].tolist())[order])
        done += len(ids)
        if on_progress:
            on_progress("reading graphs", done, len(graphs))
    all_codes = np.concatenate([k[2] for k in kept]) if kept else np.zeros(0, np.int32)
    token_counts = np.bincount(all_codes, minlength=len(table.tokens))
    vocab, mapping = build_vocab(table.tokens, token_counts, options.view, options.min_count, built_on="all")
    g_count, n_max, v_size = len(kept), options.max_nodes, len(vocab)
    x = np.zeros((g_count, n_max, v_size), dtype=np.uint8)
    a = np.zeros((g_count, n_max, n_max), dtype=np.uint8)
    mask = np.zeros((g_count, n_max), dtype=bool)
    node_idx = np.full((g_count, n_max), -1, dtype=np.int32)
    for g, (_gid, order, codes, ps, pd_) in enumerate(kept):
        n = len(order)
        x[g, np.arange(n), mapping[codes]] = 1
        a[g, ps, pd_] = 1
        mask[g, :n] = True
        node_idx[g, :n] = order
    graph_ids = [k[0] for k in kept]
    del kept, all_codes
    extra = {"X_attr": _attr_tensor(attr_table, attr_codes, n_max)} if attr_table is not None else {}
    np.savez(out / "dense.npz", X=x, A=a, mask=mask, node_idx=node_idx, graph_ids=np.array(graph_ids, dtype=str),
             **extra)
    wrote_pt = _save_torch(out / "dense.pt", x, a, mask, node_idx, graph_ids, options.view, extra)
    vocab.save(out / "vocab.json")
    split_meta = _write_splits(out, options, keys, frozen, graph_ids)
    counts.update({"graphs": g_count, "edges": edges_total, "dropped_backward_edges": dropped_edges,
                   "graphs_with_dropped_edges": graphs_with_dropped, "vocab_size": v_size,
                   "tokens_seen": len(table.tokens)})
    meta = {
        "format": FORMAT,
        "options": asdict(options),
        "selection": selection.describe(store.backend),
        "store": {"backend": store.backend, "location": store.location, "fingerprint": store_fingerprint(store)},
        "fingerprint": _fingerprint(graph_ids, x, a),
        "counts": counts,
        "shapes": {"X": list(x.shape), "A": list(a.shape), "mask": list(mask.shape), "node_idx": list(node_idx.shape),
                   **{k: list(v.shape) for k, v in extra.items()}},
        "files": ["dense.npz", *(["dense.pt"] if wrote_pt else []), "vocab.json", splitting.FILE, "meta.json"],
        "exported_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "versions": backend_versions(store),
        "splits": split_meta,
    }
    if attr_table is not None:
        meta["attr_features"] = describe_attr_features()
    atomic.write_text(out / "meta.json", json.dumps(meta, indent=2, default=str) + "\n")
    return meta


def _write_splits(out: Path, options: DenseOptions, keys: Any, frozen: splitting.Frozen | None,
                  graph_ids: list[str]) -> dict[str, Any]:
    """splits.json over the exported graphs (sorted ids), and what meta.json says about it."""
    by_id = keys.set_index("graph_id")
    meta: dict[str, Any] = {"rule": options.split_by, "seed": options.seed, "ratios": list(options.split),
                            "frozen_from": None}
    if frozen is not None:
        labels = np.asarray([frozen.label_of.get(g, -1) for g in graph_ids], dtype=np.int64)
        meta.update(rule="frozen", frozen_from=frozen.source, frozen_rule=frozen.rule,
                    not_in_splits=int((labels < 0).sum()))
    else:
        groups = [by_id.at[g, "group"] for g in graph_ids]
        groups = [None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v) for v in groups]
        sizes = [int(by_id.at[g, "num_nodes"]) for g in graph_ids]
        labels = splitting.split_items(options.split_by, groups, sizes, graph_ids, options.split, options.seed)
    doc = splitting.splits_document(meta["rule"], options.seed, list(options.split), "graph", graph_ids, labels,
                                    frozen=meta["frozen_from"])
    splitting.write_json(out / splitting.FILE, doc)
    noattr = {str(g): str(v) for g, v in by_id["graph_id_noattr"].items() if v}
    meta.update(file=splitting.FILE, counts=doc["counts"], leakage=splitting.leakage(graph_ids, labels, noattr))
    return meta


def _fingerprint(graph_ids: list[str], x: np.ndarray, a: np.ndarray) -> str:
    import hashlib

    h = hashlib.sha256()
    for gid, g_x, g_a in zip(graph_ids, x, a):
        h.update(gid.encode())
        h.update(np.packbits(g_x).tobytes())
        h.update(np.packbits(g_a).tobytes())
    return h.hexdigest()


def _attr_tensor(table: AttrTable, codes: list[np.ndarray], n_max: int) -> np.ndarray:
    """X_attr [G, N, F]: the features of each graph's nodes in their dense order, zero on padding."""
    matrix = table.matrix()
    out = np.zeros((len(codes), n_max, matrix.shape[1]), dtype=np.float32)
    for g, rows in enumerate(codes):
        out[g, :len(rows)] = matrix[rows]
    return out


def _save_torch(path: Path, x: np.ndarray, a: np.ndarray, mask: np.ndarray, node_idx: np.ndarray,
                graph_ids: list[str], view: str, extra: dict[str, np.ndarray]) -> bool:
    try:
        import torch
    except ImportError:
        if path.exists():
            path.unlink()
        return False
    torch.save({"X": torch.from_numpy(x), "A": torch.from_numpy(a), "mask": torch.from_numpy(mask),
                "node_idx": torch.from_numpy(node_idx), "graph_ids": list(graph_ids), "view": view,
                **{k: torch.from_numpy(v) for k, v in extra.items()}}, path)
    return True
