"""`younger-graph export pyg`: the store as a PyTorch Geometric dataset folder (docs/export.md).

Two stages, so that `processed/` can always be rebuilt from `raw/` alone:

1. `export_pyg` streams the selected graphs out of the store in batches (graph ids first, then per
   batch their operators and flows; community memberships for the `operator` task; target values
   for the `graph` task) into `raw/*.parquet`, and the options into `raw/export.json`;
2. `Builder` (run by `younger_graph.pyg.YoungerDataset.process()`) reads `raw/` into flat numpy
   arrays, splits, builds the vocabulary on the training split, removes validation/test items with
   op types never seen in training, writes `vocab.json` / `targets.json` / `meta.json`, and yields
   one `torch_geometric.data.Data` per item and split. For the on-disk dataset
   (`younger_graph.pyg.YoungerOnDiskDataset`) the whole-graph tasks keep no flat edge arrays: the
   edges are read from raw/flows.parquet chunk by chunk while the Data objects are written.

Node i of every graph is operator idx i (`x[i]` is its token index; `edge_index` uses the same
numbering). torch and torch_geometric are imported only by the functions that build tensors.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from younger_graph.export.features import AttrTable
from younger_graph.export.features import describe as describe_attr_features
from younger_graph.export.source import (
    ExportError,
    Progress,
    RawWriter,
    Selection,
    backend_versions,
    batches,
    check_property,
    graphs_with_communities,
    read_batch,
    read_communities,
    read_targets,
    release_memory,
    select_graphs,
    store_fingerprint,
)
from younger_graph.export.vocab import (
    MASK_INDEX,
    SPLITS,
    TokenTable,
    Vocab,
    build_vocab,
    check_view,
    split_labels,
)
from younger_graph.store.base import Store

FORMAT = "younger-graph-pyg/1"
TASKS = ("link", "operator", "graph")
TARGET_KINDS = ("auto", "class", "float")
COMMUNITY_METHODS = ("cnm", "louvain", "wcc")
STORAGES = ("memory", "disk")  # processed/{split}.pt (InMemoryDataset) | processed/ondisk/{split}.db (OnDiskDataset)
IGNORE_INDEX = -100  # y of the operator task on non-boundary nodes (torch's cross_entropy ignore_index)
RAW_FILES = {"link": ["graphs", "operators", "flows"], "graph": ["graphs", "operators", "flows", "targets"],
             "operator": ["graphs", "operators", "flows", "communities", "members"]}


@dataclass
class PygOptions:
    task: str = "link"
    view: str = "attrs"
    min_count: int = 1
    split: tuple[float, float, float] = (8.0, 1.0, 1.0)
    seed: int = 1234
    target: str | None = None  # graph task: a Graph or Model property
    target_kind: str = "auto"  # graph task: auto | class | float
    method: str = "cnm"  # operator task: which stored communities
    keep_unseen: bool = False  # keep val/test items with op types unseen in training (they map to <unk>)
    storage: str = "memory"  # which processed/ the export builds (both can be built later from raw/)
    attr_features: bool = False  # x_attr: numeric attribute features per node (export/features.py)

    def check(self) -> PygOptions:
        if self.task not in TASKS:
            raise ExportError(f"--task must be one of {', '.join(TASKS)}, not {self.task!r}")
        try:
            check_view(self.view)
        except ValueError as exc:
            raise ExportError(str(exc)) from None
        if self.task == "graph" and not self.target:
            raise ExportError("--task graph needs --target PROP (a Graph or Model property, e.g. task)")
        if self.target:
            check_property(self.target)
        if self.target_kind not in TARGET_KINDS:
            raise ExportError(f"--target-kind must be one of {', '.join(TARGET_KINDS)}")
        if self.method not in COMMUNITY_METHODS:
            raise ExportError(f"--method must be one of {', '.join(COMMUNITY_METHODS)}")
        if len(self.split) != 3 or min(self.split) < 0 or sum(self.split) <= 0:
            raise ExportError("--split expects three non-negative ratios such as 8:1:1")
        if self.min_count < 1:
            raise ExportError("--min-count must be at least 1")
        if self.storage not in STORAGES:
            raise ExportError(f"--storage must be one of {', '.join(STORAGES)}, not {self.storage!r}")
        return self


# -- stage 1: store → raw/ --------------------------------------------------------------------------
def export_pyg(store: Store, out: str | Path, options: PygOptions, selection: Selection | None = None,
               on_progress: Progress | None = None) -> dict[str, Any]:
    """Write the dataset folder `out` (raw/ from the store, then processed/); returns meta.json's content.

    The two stages are also available apart: `write_raw` (needs the store) then `build_processed`
    (needs torch_geometric); the CLI closes the store in between, so the database's page cache is
    gone before tensors are built.
    """
    options.check()
    write_raw(store, Path(out), options, selection, on_progress)
    return build_processed(out, on_progress)


def build_processed(out: str | Path, on_progress: Progress | None = None,
                    storage: str | None = None) -> dict[str, Any]:
    """processed/, vocab.json, targets.json and meta.json from out/raw/; returns meta.json's content.

    `storage` (default: the export's `--storage`): `memory` writes processed/{split}.pt, `disk`
    processed/ondisk/{split}.db."""
    release_memory()
    from younger_graph.pyg import process, process_ondisk

    if storage is None:
        params = json.loads((Path(out) / "raw" / "export.json").read_text(encoding="utf-8"))
        storage = params.get("options", {}).get("storage", "memory")
    if storage not in STORAGES:
        raise ExportError(f"storage must be one of {', '.join(STORAGES)}, not {storage!r}")
    (process_ondisk if storage == "disk" else process)(out, on_progress=on_progress)
    return json.loads((Path(out) / "meta.json").read_text(encoding="utf-8"))


def write_raw(store: Store, out: Path, options: PygOptions, selection: Selection | None = None,
              on_progress: Progress | None = None) -> dict[str, Any]:
    """Stream the selected graphs (and communities / targets) into out/raw/; returns raw/export.json."""
    options.check()
    out = Path(out)
    selection = selection or Selection()
    graphs = select_graphs(store, selection)
    if options.task == "operator":
        having = graphs_with_communities(store, options.method)
        if not having:
            raise ExportError(f"the store has no {options.method} communities: run `younger-graph communities "
                              f"--method {options.method} --db {store.location}` first")
        missing = int((~graphs["graph_id"].isin(having)).sum())
        graphs = graphs[graphs["graph_id"].isin(having)].reset_index(drop=True)
    else:
        missing = 0
    if (out / "raw").exists() and not (out / "raw" / "export.json").exists():
        raise ExportError(f"{out / 'raw'} exists and is not an export's raw/ folder: choose another --out")
    for folder in (out / "raw", out / "processed"):  # a previous export of this folder is replaced
        if folder.exists():
            shutil.rmtree(folder)
    for name in ("vocab.json", "targets.json", "meta.json"):
        (out / name).unlink(missing_ok=True)
    raw = out / "raw"
    names = RAW_FILES[options.task]
    total = len(graphs)
    done = 0
    if on_progress:
        on_progress("reading graphs", 0, total)
    with RawWriter(raw, names) as writer:
        for ids in batches(graphs):
            ops, flows = read_batch(store, ids)
            writer.write("operators", ops)
            writer.write("flows", flows)
            n_nodes = ops.groupby("graph_id", sort=False).size()
            n_edges = flows.groupby("graph_id", sort=False).size()
            writer.write("graphs", pd.DataFrame({
                "graph_id": ids,
                "num_nodes": [int(n_nodes.get(g, 0)) for g in ids],
                "num_edges": [int(n_edges.get(g, 0)) for g in ids],
            }))
            if options.task == "operator":
                communities, members = read_communities(store, ids, options.method)
                writer.write("communities", communities)
                writer.write("members", members)
            if options.task == "graph":
                assert options.target is not None
                writer.write("targets", read_targets(store, ids, options.target))
            done += len(ids)
            if on_progress:
                on_progress("reading graphs", done, total)
        rows = dict(writer.rows)
    params = {
        "format": FORMAT,
        "task": options.task,
        "options": {**asdict(options), "split": list(options.split)},
        "selection": selection.describe(store.backend),
        "store": {"backend": store.backend, "location": store.location, "fingerprint": store_fingerprint(store)},
        "read": {"graphs": rows["graphs"], "operators": rows["operators"], "flows": rows["flows"],
                 **({"communities": rows["communities"], "members": rows["members"],
                     "graphs_without_communities": missing} if options.task == "operator" else {}),
                 **({"target_values": rows["targets"]} if options.task == "graph" else {})},
        "exported_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "export_versions": backend_versions(store),
    }
    (raw / "export.json").write_text(json.dumps(params, indent=2, default=str) + "\n", encoding="utf-8")
    return params


# -- stage 2: raw/ → arrays -------------------------------------------------------------------------
@dataclass
class GraphArrays:
    """Every raw graph as flat arrays: nodes of graph g are codes[node_ptr[g]:node_ptr[g+1]] (idx order),
    its edges src/dst/slots[edge_ptr[g]:edge_ptr[g+1]] with node numbers local to the graph."""

    ids: list[str]
    node_ptr: np.ndarray
    edge_ptr: np.ndarray
    codes: np.ndarray  # int32 code into table.tokens per node
    edge_index: np.ndarray | None  # int64 [2, E]: src, dst (the tensors' layout, so Data objects take views)
    edge_attr: np.ndarray | None  # int64 [E, 2]: src_slot, dst_slot; both None: edges not held (streamed)
    table: TokenTable
    attr_codes: np.ndarray | None = None  # --attr-features: int32 row of attr_table per node
    attr_table: np.ndarray | None = None  # float32 [distinct attrs, F]

    @property
    def src(self) -> np.ndarray:
        assert self.edge_index is not None
        return self.edge_index[0]

    @property
    def dst(self) -> np.ndarray:
        assert self.edge_index is not None
        return self.edge_index[1]

    @property
    def num_nodes(self) -> np.ndarray:
        return np.diff(self.node_ptr)

    @property
    def num_edges(self) -> np.ndarray:
        return np.diff(self.edge_ptr)

    def row_of(self) -> dict[str, int]:
        return {g: i for i, g in enumerate(self.ids)}

    def attr_rows(self, nodes: np.ndarray | slice) -> np.ndarray:
        """float32 [n, F]: the attribute features of the given flat node positions."""
        assert self.attr_codes is not None and self.attr_table is not None
        return self.attr_table[self.attr_codes[nodes]]


def _rows_for(graph_ids: pa.Array | pa.ChunkedArray, row_of: dict[str, int], what: str) -> np.ndarray:
    enc = pc.dictionary_encode(graph_ids)
    if isinstance(enc, pa.ChunkedArray):
        enc = enc.combine_chunks()
    try:
        lookup = np.array([row_of[g] for g in enc.dictionary.to_pylist()], dtype=np.int64)
    except KeyError as exc:
        raise ExportError(f"raw/{what}.parquet has rows of graph {exc.args[0]} "
                          "missing from raw/graphs.parquet") from None
    return lookup[enc.indices.to_numpy(zero_copy_only=False)]


def read_arrays(raw: Path, view: str, batch_rows: int = 100_000, *, attr_features: bool = False,
                edges: bool = True) -> GraphArrays:
    """raw/ as flat arrays; `edges=False` leaves the flows on disk (read later with `flow_chunks`)."""
    graphs = pq.read_table(raw / "graphs.parquet")
    ids = graphs.column("graph_id").to_pylist()
    if ids != sorted(ids) or len(set(ids)) != len(ids):
        raise ExportError("raw/graphs.parquet is not sorted by unique graph_id")
    row_of = {g: i for i, g in enumerate(ids)}
    node_ptr = np.concatenate([[0], np.cumsum(graphs.column("num_nodes").to_numpy())]).astype(np.int64)
    edge_ptr = np.concatenate([[0], np.cumsum(graphs.column("num_edges").to_numpy())]).astype(np.int64)
    table = TokenTable(view)
    codes = np.empty(int(node_ptr[-1]), dtype=np.int32)
    attrs = AttrTable() if attr_features else None
    attr_codes = np.empty(len(codes), dtype=np.int32) if attrs else None
    pos = 0
    with_attrs = view == "attrs" or attr_features
    columns = ["graph_id", "idx", "op_type", "domain"] + (["attrs"] if with_attrs else [])
    for batch in pq.ParquetFile(raw / "operators.parquet").iter_batches(batch_size=batch_rows, columns=columns):
        n = batch.num_rows
        if pos + n > len(codes):
            raise ExportError("raw/operators.parquet has more rows than raw/graphs.parquet counts")
        rows = _rows_for(batch.column("graph_id"), row_of, "operators")
        idx = batch.column("idx").to_numpy(zero_copy_only=False).astype(np.int64)
        if not np.array_equal(idx, np.arange(pos, pos + n) - node_ptr[rows]):
            raise ExportError("raw/operators.parquet is not grouped by graph in idx order 0..n-1 "
                              "(operator idx must be contiguous within a graph)")
        codes[pos:pos + n] = table.encode(batch.column("op_type"), batch.column("domain"),
                                          batch.column("attrs") if view == "attrs" else None)
        if attrs is not None and attr_codes is not None:
            attr_codes[pos:pos + n] = attrs.encode(batch.column("attrs"))
        pos += n
    if pos != len(codes):
        raise ExportError("raw/operators.parquet has fewer rows than raw/graphs.parquet counts")
    arrays = GraphArrays(ids, node_ptr, edge_ptr, codes, None, None, table, attr_codes,
                         attrs.matrix() if attrs else None)
    if edges:
        n_edges = int(edge_ptr[-1])
        arrays.edge_index = np.empty((2, n_edges), dtype=np.int64)
        arrays.edge_attr = np.empty((n_edges, 2), dtype=np.int64)
        pos = 0
        for ei, ea in flow_chunks(raw, arrays, batch_rows):
            arrays.edge_index[:, pos:pos + len(ea)] = ei
            arrays.edge_attr[pos:pos + len(ea)] = ea
            pos += len(ea)
    return arrays


def flow_chunks(raw: Path, arrays: GraphArrays, batch_rows: int = 100_000) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """raw/flows.parquet in order, chunk by chunk: (edge_index int64 [2, n], edge_attr int64 [n, 2]),
    checked against the graphs and node counts of `arrays` (the last check once every row is read)."""
    edge_ptr = arrays.edge_ptr
    n_edges = int(edge_ptr[-1])
    num_nodes = arrays.num_nodes
    row_of = arrays.row_of()
    seen = np.zeros(len(arrays.ids), dtype=np.int64)
    pos, last = 0, 0
    for batch in pq.ParquetFile(raw / "flows.parquet").iter_batches(batch_size=batch_rows):
        n = batch.num_rows
        if n == 0:
            continue
        if pos + n > n_edges:
            raise ExportError("raw/flows.parquet has more rows than raw/graphs.parquet counts")
        rows = _rows_for(batch.column("graph_id"), row_of, "flows")
        if np.any(np.diff(rows) < 0) or rows[0] < last:
            raise ExportError("raw/flows.parquet is not grouped by graph in the order of raw/graphs.parquet")
        last = int(rows[-1])
        seen += np.bincount(rows, minlength=len(seen))
        ei = np.stack([_int64(batch, "src"), _int64(batch, "dst")])
        ea = np.stack([_int64(batch, "src_slot"), _int64(batch, "dst_slot")], axis=1)
        if ei.min() < 0 or np.any(ei >= num_nodes[rows]):
            raise ExportError("raw/flows.parquet has an edge whose endpoint is not an operator of its graph")
        yield ei, ea
        pos += n
    if pos != n_edges or not np.array_equal(seen, np.diff(edge_ptr)):
        raise ExportError("raw/flows.parquet does not match the edge counts of raw/graphs.parquet")


def _int64(batch: pa.RecordBatch, name: str) -> np.ndarray:
    return batch.column(name).to_numpy(zero_copy_only=False).astype(np.int64)


class EdgeStream:
    """The edges of graphs taken in increasing flat position, read from `flow_chunks` as needed: only
    the chunks spanning the current graph are held."""

    def __init__(self, chunks: Iterator[tuple[np.ndarray, np.ndarray]]) -> None:
        self._chunks = chunks
        self._start = 0  # flat position of the buffer's first edge
        self._ei = np.zeros((2, 0), dtype=np.int64)
        self._ea = np.zeros((0, 2), dtype=np.int64)

    def take(self, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        """edge_index [2, hi-lo] and edge_attr [hi-lo, 2] of flat positions lo..hi (lo never decreases)."""
        if lo < self._start:
            raise ValueError("EdgeStream.take: positions must not decrease")
        cut = lo - self._start
        self._ei, self._ea, self._start = self._ei[:, cut:], self._ea[cut:], lo
        while self._start + len(self._ea) < hi:
            ei, ea = next(self._chunks)
            self._ei, self._ea = np.concatenate([self._ei, ei], axis=1), np.concatenate([self._ea, ea])
        return self._ei[:, :hi - lo], self._ea[:hi - lo]

    def finish(self) -> None:
        """Read the remaining rows, so the end-of-file checks of `flow_chunks` run."""
        for _ in self._chunks:
            pass


def content_fingerprint(arrays: GraphArrays) -> str:
    """sha256 over the exported graphs' ids with their node and edge counts, in id order."""
    h = hashlib.sha256()
    for gid, n, e in zip(arrays.ids, arrays.num_nodes.tolist(), arrays.num_edges.tolist()):
        h.update(f"{gid}\t{n}\t{e}\n".encode())
    return h.hexdigest()


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


# -- stage 2: arrays → items ------------------------------------------------------------------------
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
class Builder:
    """raw/ → vocabulary, splits and Data objects (see the module docstring)."""

    root: Path
    stream_edges: bool = False  # whole-graph tasks: hold no flat edge arrays, `stream()` reads flows.parquet
    params: dict[str, Any] = field(init=False)
    options: PygOptions = field(init=False)
    arrays: GraphArrays = field(init=False)
    items: list[Item] = field(init=False)
    labels: np.ndarray = field(init=False)  # split per item: 0 train, 1 val, 2 test, -1 removed
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
            self._link_items()
        elif task == "graph":
            self._graph_items()
        else:
            self._operator_items()
        self._split_and_vocab()
        release_memory()  # what reading raw/ left in allocator caches, before torch and the tensors

    # -- items per task -------------------------------------------------------------------------
    def _link_items(self) -> None:
        a = self.arrays
        keep = (a.num_nodes >= 1) & (a.num_edges >= 1)
        self.stats["skipped_without_edges"] = int((~keep).sum())
        self.items = [Item(int(r), a.ids[r]) for r in np.flatnonzero(keep)]

    def _graph_items(self) -> None:
        a = self.arrays
        values = _aggregate_targets(pq.read_table(self.root / "raw" / "targets.parquet").to_pandas(),
                                    self.options.target_kind)
        kind = values.pop("__kind__")
        items, no_target = [], 0
        for r, gid in enumerate(a.ids):
            if a.num_nodes[r] < 1:
                continue
            if gid not in values:
                no_target += 1
                continue
            items.append(Item(r, gid, y=values[gid]))
        self.stats["skipped_without_target"] = no_target
        self.stats["skipped_empty"] = int((a.num_nodes < 1).sum())
        if not items:
            raise ExportError(f"no exported graph has a value for {self.options.target!r} (on the Graph or its Models)")
        if kind == "class":
            classes = sorted({it.y for it in items})
            index = {c: i for i, c in enumerate(classes)}
            counts = Counter(it.y for it in items)
            for it in items:
                it.y = index[it.y]
            self.targets = {"property": self.options.target, "kind": "class", "classes": classes,
                            "counts": [counts[c] for c in classes]}
        else:
            ys = np.array([it.y for it in items], dtype=np.float64)
            self.targets = {"property": self.options.target, "kind": "float", "count": len(items),
                            "mean": float(ys.mean()), "std": float(ys.std()), "min": float(ys.min()),
                            "max": float(ys.max())}
        self.items = items

    def _operator_items(self) -> None:
        a = self.arrays
        raw = self.root / "raw"
        comm = pq.read_table(raw / "communities.parquet").to_pandas()
        row_of = a.row_of()
        key_col = "hash" if self.options.view == "attrs" else "hash_noattr"
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
            key = _rows_for(batch.column("graph_id"), row_of, "members") * span + \
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
        comm_rows = comm["row"].to_numpy()
        c_ptr = np.searchsorted(comm_rows, np.arange(len(a.ids) + 1))
        # One representative per distinct hash: the smallest (graph_id, k).
        reps = comm.sort_values([key_col, "graph_id", "k"], kind="stable").drop_duplicates(key_col)
        self.stats["communities"] = len(comm)
        self.stats["duplicate_communities"] = len(comm) - len(reps)
        items: list[Item] = []
        no_boundary = 0
        for row, group in reps.sort_values(["row", "k"]).groupby("row", sort=True):
            row = int(row)
            lo, hi = int(a.edge_ptr[row]), int(a.edge_ptr[row + 1])
            n = int(a.num_nodes[row])
            src, dst = a.src[lo:hi], a.dst[lo:hi]
            owner = np.full(n, -1, dtype=np.int64)
            for i in range(c_ptr[row], c_ptr[row + 1]):
                owner[m_idx[m_ptr[i]:m_ptr[i + 1]]] = i
            cs, cd = owner[src], owner[dst]
            crossing = cs != cd
            edge_ids = np.arange(hi - lo, dtype=np.int64)
            who = np.concatenate([cs, cd[crossing]])
            incident = np.concatenate([edge_ids, edge_ids[crossing]])
            order = np.argsort(who, kind="stable")
            who, incident = who[order], incident[order]
            for i, key, cid in zip(group["pos"], group[key_col], group["community_id"]):
                part = m_idx[m_ptr[i]:m_ptr[i + 1]]
                e = np.sort(incident[np.searchsorted(who, i):np.searchsorted(who, i, side="right")])
                nodes = np.unique(np.concatenate([part, src[e], dst[e]]))
                boundary = ~np.isin(nodes, part, assume_unique=True)
                if not boundary.any():
                    no_boundary += 1
                    continue
                items.append(Item(row, str(key), nodes, e + lo, boundary, str(cid)))
        self.stats["skipped_without_boundary"] = no_boundary
        items.sort(key=lambda it: it.key)
        self.items = items

    # -- split, vocabulary, unseen removal ------------------------------------------------------
    def _item_codes(self, it: Item) -> np.ndarray:
        a = self.arrays
        lo = a.node_ptr[it.row]
        if it.nodes is None:
            return a.codes[lo:a.node_ptr[it.row + 1]]
        return a.codes[lo + it.nodes]

    def _split_and_vocab(self) -> None:
        o = self.options
        n_tokens = len(self.arrays.table.tokens)
        self.labels = split_labels(len(self.items), o.split, o.seed).astype(np.int64)
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
        self.stats["removed_unseen"] = removed
        self.stats["items"] = {s: int((self.labels == k).sum()) for k, s in enumerate(SPLITS)}

    # -- outputs --------------------------------------------------------------------------------
    def write_json(self) -> dict[str, Any]:
        """vocab.json, targets.json (graph task) and meta.json beside raw/ and processed/."""
        self.vocab.save(self.root / "vocab.json")
        if self.targets is not None:
            (self.root / "targets.json").write_text(json.dumps(self.targets, indent=1, ensure_ascii=False) + "\n",
                                                    encoding="utf-8")
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
        }
        if self.options.attr_features:
            meta["attr_features"] = describe_attr_features()
        if self.targets is not None:
            meta["target"] = {k: v for k, v in self.targets.items() if k != "classes"}
        (self.root / "meta.json").write_text(json.dumps(meta, indent=2, default=str) + "\n", encoding="utf-8")
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


def _aggregate_targets(rows: pd.DataFrame, kind: str) -> dict[str, Any]:
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
