"""The dense view of a graph: what `export dense` writes and generators produce.

A view graph is its nodes' tokens (`op_type|domain`, or `op_type|domain|attrs` for the attrs
vocabulary: export/vocab.py) and its flows collapsed to distinct (src, dst) pairs: no slots, no
parallel flows, no names, subgraph and function bodies flattened into the same node list. Its hash
is the package's `yg-wl-1` hash over exactly that (tokens as labels, every slot 0), so two graphs have
the same view hash when they are the same architecture in this view, whatever their node order.

`store_views` reads graphs of a store in this view (younger_graph.reading, batches of whole graphs):
the reference for novelty and MMD. The store keeps `graph_id` / `graph_id_noattr`, which see slots
and initializer shapes; the dense view sees neither, so its hash is computed here, from the same rows
the dense export reads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from younger_graph import hashing
from younger_graph.export.dense import topological_order
from younger_graph.export.vocab import canonical_attrs, check_view
from younger_graph.reading import batches, read_batch, read_graph_models
from younger_graph.store.base import Store

BATCH_NODES = 50_000


@dataclass
class ViewGraph:
    """Tokens per node and distinct flows (src, dst), nodes in a topological order when acyclic."""

    tokens: list[str]
    src: np.ndarray
    dst: np.ndarray

    @property
    def n(self) -> int:
        return len(self.tokens)

    @classmethod
    def make(cls, tokens: list[str], src: Any, dst: Any) -> ViewGraph:
        """Collapse parallel flows (and drop self-loops' duplicates), keeping the first occurrence order."""
        s = np.asarray(src, dtype=np.int64).reshape(-1)
        d = np.asarray(dst, dtype=np.int64).reshape(-1)
        if len(s):
            pairs = np.unique(np.stack([s, d], axis=1), axis=0)
            s, d = pairs[:, 0], pairs[:, 1]
        return cls(list(tokens), s, d)

    def view_hash(self) -> str:
        zeros = np.zeros(len(self.src), dtype=np.int64)
        return hashing.graph_hash(self.tokens, (self.src, zeros, self.dst, zeros))


def token(op_type: str, domain: str, attrs: str | None, view: str) -> str:
    """A node's token in a view (the strings of vocab.json)."""
    if view == "attrs":
        return f"{op_type}|{domain}|{canonical_attrs(attrs or '{}')}"
    return f"{op_type}|{domain}"


def view_of_rows(ops: pd.DataFrame, flows: pd.DataFrame, view: str) -> ViewGraph:
    """One graph's operator rows (sorted by idx) and flow rows in a view, nodes in the dense export's
    topological order (Kahn, smallest ready idx first)."""
    n = len(ops)
    src = flows["src"].to_numpy(np.int64) if len(flows) else np.zeros(0, np.int64)
    dst = flows["dst"].to_numpy(np.int64) if len(flows) else np.zeros(0, np.int64)
    order = topological_order(n, src, dst)
    pos = np.empty(n, dtype=np.int64)
    pos[order] = np.arange(n)
    attrs = ops["attrs"].tolist() if view == "attrs" else [None] * n
    tokens = [token(str(o), str(d), a, view) for o, d, a in zip(ops["op_type"], ops["domain"], attrs)]
    return ViewGraph.make([tokens[i] for i in order], pos[src], pos[dst])


@dataclass
class StoreView:
    graph_id: str
    graph: ViewGraph
    opsets: str | None  # the first model's opsets JSON


def store_views(store: Store, graphs: pd.DataFrame, view: str,
                on_progress: Callable[[int, int], None] | None = None) -> Iterator[StoreView]:
    """The selected graphs (select_graphs' frame) in a view, in graph_id order."""
    check_view(view)
    done = 0
    for ids in batches(graphs, BATCH_NODES):
        ops, flows = read_batch(store, ids)
        models = read_graph_models(store, ids)
        op_groups = {g: f for g, f in ops.groupby("graph_id", sort=False)}
        flow_groups = {g: f for g, f in flows.groupby("graph_id", sort=False)}
        for gid in ids:
            o = op_groups.get(gid)
            if o is None or not len(o):
                continue
            first = (models.get(gid) or [{}])[0]
            yield StoreView(gid, view_of_rows(o, flow_groups.get(gid, flows.iloc[0:0]), view), first.get("opsets"))
        done += len(ids)
        if on_progress:
            on_progress(done, len(graphs))
