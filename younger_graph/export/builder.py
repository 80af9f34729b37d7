"""`export pyg`, stage 2: `raw/` → vocabulary, splits, meta.json and the Data objects of every split.

`Builder` reads raw/ into flat arrays (export/arrays.py), makes the task's items (export/items.py),
splits them, builds the vocabulary on the training split, removes validation/test items with op
types never seen in training, writes `vocab.json` / `targets.json` / `meta.json`, and yields one
`torch_geometric.data.Data` per item and split. The datasets of `younger_graph.datasets` drive it;
for the on-disk dataset the whole-graph tasks keep no flat edge arrays: the edges are read from
raw/flows.parquet chunk by chunk while the Data objects are written.

Node i of every graph is operator idx i (`x[i]` is its token index; `edge_index` uses the same
numbering). torch and torch_geometric are imported only by the functions that build tensors.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from younger_graph import atomic
from younger_graph.errors import ExportError
from younger_graph.export import splits as splitting
from younger_graph.export.arrays import EdgeStream, GraphArrays, content_fingerprint, flow_chunks, read_arrays
from younger_graph.export.features import describe as describe_attr_features
from younger_graph.export.items import Item, graph_items, graph_rng, link_items, negative_edges, operator_items
from younger_graph.export.raw import FORMAT, PygOptions, backend_versions, release_memory
from younger_graph.export.vocab import MASK_INDEX, SPLITS, Vocab, build_vocab

IGNORE_INDEX = -100  # y of the operator task on non-boundary nodes (torch's cross_entropy ignore_index)


@dataclass
class Builder:
    """raw/ → vocabulary, splits and Data objects (see the module docstring)."""

    root: Path
    stream_edges: bool = False  # whole-graph tasks: hold no flat edge arrays, `stream()` reads flows.parquet
    params: dict[str, Any] = field(init=False)
    options: PygOptions = field(init=False)
    arrays: GraphArrays = field(init=False)
    items: list[Item] = field(init=False)
    labels: np.ndarray = field(init=False)  # split per item: 0 train, 1 val, 2 test, -1 removed
    removed: list[int] = field(default_factory=list)  # items removed for op types unseen in training
    split_meta: dict[str, Any] = field(default_factory=dict)
    vocab: Vocab = field(init=False)
    mapping: np.ndarray = field(init=False)
    targets: dict[str, Any] | None = None
    stats: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        raw = self.root / "raw"
        self.params = json.loads((raw / "export.json").read_text(encoding="utf-8"))
        if self.params.get("format") != FORMAT:
            raise ExportError(f"{raw / 'export.json'} is not a {FORMAT} export")
        opts = dict(self.params["options"])
        opts["split"] = tuple(opts["split"])
        self.options = PygOptions(**opts).check()
        task = self.options.task
        self.arrays = read_arrays(raw, self.options.view, attr_features=self.options.attr_features,
                                  edges=task == "operator" or not self.stream_edges)
        if task == "link":
            found = link_items(self.arrays)
        elif task == "graph":
            assert self.options.target is not None
            found = graph_items(self.arrays, raw, self.options.target, self.options.target_kind)
        else:
            found = operator_items(self.arrays, raw, self.options.view)
        self.items, self.targets = found.items, found.targets
        self.stats.update(found.stats)
        self._split_and_vocab()
        release_memory()  # what reading raw/ left in allocator caches, before torch and the tensors

    # -- split, vocabulary, unseen removal ------------------------------------------------------
    def _item_codes(self, it: Item) -> np.ndarray:
        a = self.arrays
        lo = a.node_ptr[it.row]
        if it.nodes is None:
            return a.codes[lo:a.node_ptr[it.row + 1]]
        return a.codes[lo + it.nodes]

    def _graph_of(self, it: Item) -> str:
        return str(self.arrays.ids[it.row])

    def _unit_key(self, it: Item) -> str:
        """What splits.json lists: the graph id, or the community id for the operator task."""
        return it.community_id if self.options.task == "operator" else self._graph_of(it)

    def _keys(self) -> Any:
        """raw/groups.parquet (graph_id → noattr hash, stored size, group), None for older raw/ folders."""
        path = self.root / "raw" / splitting.KEYS_FILE
        if not path.exists():
            return None
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pandas().set_index("graph_id")

    def _split(self) -> np.ndarray:
        """Split label per item by the rule (export/splits.py) or from a frozen --splits file in raw/."""
        o = self.options
        keys = self._keys()
        frozen_path = self.root / "raw" / splitting.FROZEN_FILE
        graphs = [self._graph_of(it) for it in self.items]
        self.split_meta = {"rule": o.split_by, "seed": o.seed, "ratios": list(o.split), "frozen_from": None}
        if frozen_path.exists():
            frozen = splitting.Frozen.from_document(json.loads(frozen_path.read_text(encoding="utf-8")),
                                                    str(frozen_path))
            self.split_meta.update(rule="frozen", frozen_from=frozen.source, frozen_rule=frozen.rule)
            units = [self._unit_key(it) if frozen.unit == "community" else g for it, g in zip(self.items, graphs)]
            labels = np.asarray([frozen.label_of.get(u, -1) for u in units], dtype=np.int64)
            self.split_meta["not_in_splits"] = int((labels < 0).sum())
            return labels
        if keys is None or o.split_by == "graph":
            return splitting.split_items("graph", [], [], [it.key for it in self.items], o.split, o.seed)
        groups = [keys.at[g, "group"] if g in keys.index else None for g in graphs]
        groups = [None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v) for v in groups]
        sizes = [int(keys.at[g, "num_nodes"]) if g in keys.index else 0 for g in graphs]
        if o.split_by not in splitting.UNGROUPED:
            self.split_meta["groups"] = len({v if v is not None else f"graph:{g}" for v, g in zip(groups, graphs)})
            self.split_meta["graphs_without_group"] = len({g for v, g in zip(groups, graphs) if v is None})
        return splitting.split_items(o.split_by, groups, sizes, [it.key for it in self.items], o.split, o.seed)

    def _leakage(self) -> dict[str, Any] | None:
        keys = self._keys()
        if keys is None:
            return None
        noattr = {str(g): str(v) for g, v in keys["graph_id_noattr"].items() if v}
        return splitting.leakage([self._graph_of(it) for it in self.items], self.labels, noattr)

    def _split_and_vocab(self) -> None:
        o = self.options
        n_tokens = len(self.arrays.table.tokens)
        self.labels = self._split().astype(np.int64)
        train = [self._item_codes(it) for it, label in zip(self.items, self.labels) if label == 0]
        counts = np.bincount(np.concatenate(train), minlength=n_tokens) if train else np.zeros(n_tokens, np.int64)
        del train
        self.vocab, self.mapping = build_vocab(self.arrays.table.tokens, counts, o.view, o.min_count)
        unseen = counts == 0
        removed = {"val": 0, "test": 0}
        if not o.keep_unseen:
            for i, it in enumerate(self.items):
                if self.labels[i] > 0 and unseen[self._item_codes(it)].any():
                    removed[SPLITS[self.labels[i]]] += 1
                    self.labels[i] = -1
                    self.removed.append(i)
        self.stats["removed_unseen"] = removed
        self.stats["items"] = {s: int((self.labels == k).sum()) for k, s in enumerate(SPLITS)}

    # -- outputs --------------------------------------------------------------------------------
    def write_json(self) -> dict[str, Any]:
        """vocab.json, targets.json (graph task) and meta.json beside raw/ and processed/."""
        self.vocab.save(self.root / "vocab.json")
        unit = "community" if self.options.task == "operator" else "graph"
        doc = splitting.splits_document(
            self.split_meta.get("rule", self.options.split_by), self.options.seed, list(self.options.split), unit,
            [self._unit_key(it) for it in self.items], self.labels, frozen=self.split_meta.get("frozen_from"),
            removed=[self._unit_key(self.items[i]) for i in self.removed])
        splitting.write_json(self.root / splitting.FILE, doc)
        if self.targets is not None:
            atomic.write_text(self.root / "targets.json", json.dumps(self.targets, indent=1, ensure_ascii=False) + "\n")
        a = self.arrays
        meta = {
            "format": FORMAT,
            "task": self.options.task,
            "options": self.params["options"],
            "selection": self.params["selection"],
            "store": self.params["store"],
            "fingerprint": content_fingerprint(a),
            "counts": {
                "graphs": len(a.ids), "nodes": int(a.node_ptr[-1]), "edges": int(a.edge_ptr[-1]),
                **self.stats, "vocab_size": len(self.vocab), "tokens_seen": len(a.table.tokens),
            },
            "read": self.params["read"],
            "exported_at": self.params.get("exported_at"),
            "versions": {**self.params.get("export_versions", {}), **backend_versions()},
            "data_fields": self.data_fields(),
            "splits": {**self.split_meta, "file": splitting.FILE, "leakage": self._leakage()},
        }
        if self.options.attr_features:
            meta["attr_features"] = describe_attr_features()
        if self.targets is not None:
            meta["target"] = {k: v for k, v in self.targets.items() if k != "classes"}
        atomic.write_text(self.root / "meta.json", json.dumps(meta, indent=2, default=str) + "\n")
        return meta

    def data_fields(self) -> dict[str, str]:
        fields = dict(DATA_FIELDS[self.options.task])
        if self.options.attr_features:
            fields["x_attr"] = X_ATTR_FIELD + (", zero on boundary nodes" if self.options.task == "operator" else "")
        return fields

    def release(self) -> None:
        """Drop the flat arrays (call once no Data of this builder is needed any more)."""
        del self.arrays, self.items, self.labels, self.mapping

    def data(self, split: str) -> Iterator[Any]:
        """The Data objects of one split (edge tensors share memory with the builder's arrays)."""
        a = self.arrays
        assert a.edge_index is not None and a.edge_attr is not None, "edges are streamed: use stream()"
        label = SPLITS.index(split)
        for it, lab in zip(self.items, self.labels):
            if lab != label:
                continue
            if it.nodes is None:
                lo, hi = int(a.edge_ptr[it.row]), int(a.edge_ptr[it.row + 1])
                yield self._graph_data(it, label, a.edge_index[:, lo:hi], a.edge_attr[lo:hi])
            else:
                yield self._community_data(it)

    def stream(self) -> Iterator[tuple[int, Any]]:
        """(split label, Data) of every kept item in one pass: within a split, in `data(split)`'s order.
        Without flat edges (`stream_edges`), the whole-graph items' edges come from raw/flows.parquet."""
        a = self.arrays
        if a.edge_index is not None:
            for label, split in enumerate(SPLITS):
                yield from ((label, d) for d in self.data(split))
            return
        edges = EdgeStream(flow_chunks(self.root / "raw", a))
        for it, label in zip(self.items, self.labels.tolist()):  # items are in graph (= flows.parquet) order
            if label >= 0:
                ei, ea = edges.take(int(a.edge_ptr[it.row]), int(a.edge_ptr[it.row + 1]))
                yield label, self._graph_data(it, label, ei, ea)
        edges.finish()

    def _graph_data(self, it: Item, label: int, edge_index: np.ndarray, edge_attr: np.ndarray) -> Any:
        """A whole-graph item (link / graph task) given its edges."""
        import torch
        from torch_geometric.data import Data

        a = self.arrays
        gid = a.ids[it.row]
        lo, hi = int(a.node_ptr[it.row]), int(a.node_ptr[it.row + 1])
        d = Data(x=torch.from_numpy(self.mapping[a.codes[lo:hi]]), edge_index=torch.from_numpy(edge_index),
                 edge_attr=torch.from_numpy(edge_attr), graph_id=gid)
        if self.options.attr_features:
            d.x_attr = torch.from_numpy(a.attr_rows(slice(lo, hi)))
        if self.options.task == "link" and label > 0:
            neg = negative_edges(hi - lo, edge_index[0], edge_index[1], edge_index.shape[1],
                                 graph_rng(self.options.seed, gid))
            d.neg_edge_index = torch.from_numpy(neg)
        if self.options.task == "graph":
            kind = torch.long if self.targets and self.targets["kind"] == "class" else torch.float
            d.y = torch.tensor([it.y], dtype=kind)
        return d

    def _community_data(self, it: Item) -> Any:
        """An operator-task item: a community and its boundary, nodes in idx order."""
        import torch
        from torch_geometric.data import Data

        a = self.arrays
        assert it.nodes is not None and it.edges is not None and it.boundary is not None
        assert a.edge_attr is not None
        local = np.full(int(a.num_nodes[it.row]), -1, dtype=np.int64)
        local[it.nodes] = np.arange(len(it.nodes))
        true = self.mapping[self._item_codes(it)]
        x = np.where(it.boundary, MASK_INDEX, true)
        y = np.where(it.boundary, true, IGNORE_INDEX)
        ei = np.stack([local[a.src[it.edges]], local[a.dst[it.edges]]])
        d = Data(x=torch.from_numpy(x), edge_index=torch.from_numpy(ei),
                 edge_attr=torch.from_numpy(a.edge_attr[it.edges]), y=torch.from_numpy(y),
                 boundary_mask=torch.from_numpy(it.boundary.copy()), node_idx=torch.from_numpy(it.nodes),
                 graph_id=a.ids[it.row], community_id=it.community_id)
        if self.options.attr_features:
            x_attr = a.attr_rows(a.node_ptr[it.row] + it.nodes)
            x_attr[it.boundary] = 0  # the hidden operators' attributes would give them away
            d.x_attr = torch.from_numpy(x_attr)
        return d


X_ATTR_FIELD = "FloatTensor [N, F]: attribute features per node (meta.json attr_features.names)"
DATA_FIELDS = {
    "link": {
        "x": "LongTensor [N]: vocabulary index of node i = operator idx i",
        "edge_index": "LongTensor [2, E]: flows src → dst, in x's node numbering, sorted (src, dst, slots)",
        "edge_attr": "LongTensor [E, 2]: (src_slot, dst_slot) per flow",
        "graph_id": "str",
        "neg_edge_index": "LongTensor [2, E'] (val/test only): node pairs without a flow, E' = E when possible",
    },
    "graph": {
        "x": "LongTensor [N]", "edge_index": "LongTensor [2, E]", "edge_attr": "LongTensor [E, 2]",
        "graph_id": "str", "y": "LongTensor [1] class index (targets.json) or FloatTensor [1]",
    },
    "operator": {
        "x": "LongTensor [N]: vocabulary index, <mask> (1) on boundary nodes",
        "y": f"LongTensor [N]: true vocabulary index on boundary nodes, {IGNORE_INDEX} elsewhere",
        "boundary_mask": "BoolTensor [N]: the nodes to predict",
        "node_idx": "LongTensor [N]: operator idx in the source graph (nodes sorted by it)",
        "edge_index": "LongTensor [2, E]: flows with an endpoint in the community",
        "edge_attr": "LongTensor [E, 2]",
        "graph_id": "str", "community_id": "str: <graph_id>:<method>:<k>",
    },
}
