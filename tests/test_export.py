"""Exports on the shipped sample: PyG dataset folders (link / operator / graph), dense tensors, annotate.

Everything is checked against the Parquet tables the store was loaded from (node order, edges,
tokens, training frequencies, unseen-type removal), through the real embedded store, and for the
Neo4j backend against the embedded export (NEO4J_URI).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("torch_geometric")

import torch
from torch_geometric.data import InMemoryDataset
from torch_geometric.loader import DataLoader

from younger_graph.communities import compute_communities
from younger_graph.datasets import YoungerDataset, YoungerOnDiskDataset, export_pyg
from younger_graph.errors import ExportError
from younger_graph.export.annotate import annotate
from younger_graph.export.dense import DenseOptions, export_dense, topological_order
from younger_graph.export.items import negative_edges
from younger_graph.export.raw import PygOptions
from younger_graph.export.vocab import canonical_attrs, split_labels
from younger_graph.extract import extract
from younger_graph.reading import Selection
from younger_graph.store import open_store

ROOT = Path(__file__).resolve().parent.parent
SPLITS = ("train", "val", "test")


# -- fixtures -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("export") / "tables"
    summary = extract([ROOT / "sample"], out, workers=1, meta=ROOT / "sample" / "meta.csv")
    assert summary.ok >= 30
    return out


@pytest.fixture(scope="module")
def frames(tables: Path) -> dict[str, pd.DataFrame]:
    return {t: pd.read_parquet(tables / f"{t}.parquet") for t in ("models", "graphs", "operators", "edges")}


@pytest.fixture(scope="module")
def db(tables: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("store") / "store.db"
    with open_store(path, write=True) as store:
        store.load(tables)
        compute_communities(store, "cnm")
    return path


def _export(db: Path, out: Path, **options) -> dict:  # type: ignore[no-untyped-def]
    selection = options.pop("selection", None)
    with open_store(db) as store:
        return export_pyg(store, out, PygOptions(**options), selection)


@pytest.fixture(scope="module")
def link_all(db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Link task, op_type|domain tokens, nothing removed: every graph with an edge is in a split."""
    out = tmp_path_factory.mktemp("link_all")
    _export(db, out, task="link", view="noattrs", keep_unseen=True)
    return out


@pytest.fixture(scope="module")
def link_attrs(db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("link_attrs")
    _export(db, out, task="link", view="attrs")
    return out


def _load(root: Path) -> dict[str, YoungerDataset]:
    return {s: YoungerDataset(root, split=s, log=False) for s in SPLITS}


def _tokens(ops: pd.DataFrame, view: str) -> list[str]:
    if view == "noattrs":
        return [f"{t}|{d}" for t, d in zip(ops.op_type, ops.domain)]
    return [f"{t}|{d}|{canonical_attrs(a)}" for t, d, a in zip(ops.op_type, ops.domain, ops["attrs"])]


def _graph_tokens(frames: dict[str, pd.DataFrame], view: str) -> dict[str, list[str]]:
    ops = frames["operators"].sort_values(["graph_id", "idx"])
    return {g: _tokens(o, view) for g, o in ops.groupby("graph_id")}


def _edge_rows(frames: dict[str, pd.DataFrame]) -> dict[str, Counter]:
    e = frames["edges"]
    return {g: Counter(zip(r.src, r.dst, r.src_slot, r.dst_slot)) for g, r in e.groupby("graph_id")}


# -- node order and edges against the tables ------------------------------------------------------
def test_every_graph_matches_the_parquet_tables(link_all: Path, frames: dict[str, pd.DataFrame]) -> None:
    ds = _load(link_all)
    vocab = ds["train"].vocab
    tokens = _graph_tokens(frames, "noattrs")
    edges = _edge_rows(frames)
    with_edges = set(frames["edges"].graph_id)
    seen = []
    train_tokens = {t for i, t in enumerate(vocab.tokens) if i >= 2}
    for split in SPLITS:
        for data in ds[split]:
            gid = data.graph_id
            seen.append(gid)
            expected = tokens[gid]
            assert data.x.dtype == torch.long and data.x.shape == (len(expected),)
            # node i is operator idx i: its token is the vocabulary entry (or <unk> if training never saw it)
            got = [vocab.tokens[i] for i in data.x.tolist()]
            assert got == [t if t in train_tokens else "<unk>" for t in expected]
            assert data.edge_index.dtype == torch.long and data.edge_attr.shape == (data.edge_index.shape[1], 2)
            rows = Counter(zip(*data.edge_index.tolist(), *data.edge_attr.t().tolist()))
            assert rows == edges[gid]
    assert sorted(seen) == sorted(with_edges)
    assert len(seen) == len(set(seen))


def test_attrs_view_tokens_carry_canonical_attributes(link_attrs: Path, frames: dict[str, pd.DataFrame]) -> None:
    ds = _load(link_attrs)
    vocab = ds["train"].vocab
    assert vocab.view == "attrs" and vocab.tokens[:2] == ["<unk>", "<mask>"]
    tokens = _graph_tokens(frames, "attrs")
    for data in ds["train"]:
        assert [vocab.tokens[i] for i in data.x.tolist()] == tokens[data.graph_id]  # min_count 1: all known
    # subgraph references (scope paths) are not part of a token
    assert not any('"graph":' in t for t in vocab.tokens)
    assert any("subgraph" in t for t in vocab.tokens)


# -- splits ---------------------------------------------------------------------------------------
def _split_ids(root: Path) -> dict[str, list[str]]:
    return {s: [d.graph_id for d in YoungerDataset(root, split=s, log=False)] for s in SPLITS}


def test_splits_are_deterministic_and_8_1_1(db: Path, link_all: Path, tmp_path: Path,
                                            frames: dict[str, pd.DataFrame]) -> None:
    again = tmp_path / "again"
    _export(db, again, task="link", view="noattrs", keep_unseen=True)
    first = _split_ids(link_all)
    assert _split_ids(again) == first
    for split in SPLITS:
        a, b = torch.load(link_all / "processed" / f"{split}.pt", weights_only=False), \
            torch.load(again / "processed" / f"{split}.pt", weights_only=False)
        assert a[0].keys() == b[0].keys()
        for key, value in a[0].items():
            assert (torch.equal(value, b[0][key]) if torch.is_tensor(value) else value == b[0][key]), key
    other = tmp_path / "other"
    _export(db, other, task="link", view="noattrs", keep_unseen=True, seed=99)
    second = _split_ids(other)
    assert {s: sorted(v) for s, v in second.items()} != {s: sorted(v) for s, v in first.items()}
    assert sorted(g for v in second.values() for g in v) == sorted(g for v in first.values() for g in v)
    n = frames["edges"].graph_id.nunique()
    for ids in (first, second):
        assert len(ids["train"]) == round(0.8 * n)
        assert len(ids["train"]) + len(ids["val"]) == round(0.9 * n)
        assert abs(len(ids["val"]) - 0.1 * n) <= 1 and abs(len(ids["test"]) - 0.1 * n) <= 1
    # the documented recipe: sorted graph ids, numpy Generator(PCG64(seed)).permutation
    ids = sorted(frames["edges"].graph_id.unique())
    labels = split_labels(len(ids), (8, 1, 1), 1234)
    assert {s: sorted(np.array(ids)[labels == k].tolist()) for k, s in enumerate(SPLITS)} == \
        {s: sorted(v) for s, v in first.items()}


def test_vocab_is_ordered_by_training_frequency(db: Path, link_all: Path, tmp_path: Path,
                                                frames: dict[str, pd.DataFrame]) -> None:
    tokens = _graph_tokens(frames, "noattrs")
    train = _split_ids(link_all)["train"]
    counts = Counter(t for g in train for t in tokens[g])
    vocab = json.loads((link_all / "vocab.json").read_text())
    expected = sorted(counts, key=lambda t: (-counts[t], t))
    assert vocab["tokens"] == ["<unk>", "<mask>", *expected]
    assert vocab["counts"][2:] == [counts[t] for t in expected]
    # --min-count: rarer training tokens become <unk> (index 0), in x too
    rare = tmp_path / "rare"
    _export(db, rare, task="link", view="noattrs", keep_unseen=True, min_count=5)
    v5 = json.loads((rare / "vocab.json").read_text())
    kept = [t for t in expected if counts[t] >= 5]
    assert v5["tokens"] == ["<unk>", "<mask>", *kept] and len(kept) < len(expected)
    assert v5["counts"][0] == sum(c for c in counts.values() if c < 5)
    index = {t: i for i, t in enumerate(v5["tokens"])}
    for data in YoungerDataset(rare, split="train", log=False):
        assert data.x.tolist() == [index.get(t, 0) for t in tokens[data.graph_id]]


def test_unseen_types_remove_val_and_test_graphs(link_all: Path, link_attrs: Path,
                                                 frames: dict[str, pd.DataFrame]) -> None:
    for view, kept_root in (("attrs", link_attrs),):
        tokens = _graph_tokens(frames, view)
        everything = _split_ids(link_all)  # the same split (same seed, same graphs), nothing removed
        train_tokens = {t for g in everything["train"] for t in tokens[g]}
        kept = _split_ids(kept_root)
        meta = json.loads((kept_root / "meta.json").read_text())
        assert kept["train"] == everything["train"]
        for split in ("val", "test"):
            unseen = [g for g in everything[split] if set(tokens[g]) - train_tokens]
            assert sorted(kept[split]) == sorted(set(everything[split]) - set(unseen))
            assert meta["counts"]["removed_unseen"][split] == len(unseen)
        assert sum(meta["counts"]["removed_unseen"].values()) > 0  # the sample does exercise removal


# -- loading like PyG does -----------------------------------------------------------------------
class PlainDataset(InMemoryDataset):
    """An InMemoryDataset that knows nothing about younger-graph: it only loads processed/<split>.pt."""

    def __init__(self, root: str, split: str) -> None:
        self.split = split
        super().__init__(root)
        self.load(self.processed_paths[0])

    @property
    def raw_file_names(self) -> list[str]:
        return []

    @property
    def processed_file_names(self) -> list[str]:
        return [f"{self.split}.pt"]

    def download(self) -> None:
        pass

    def process(self) -> None:
        raise AssertionError("must not be called: processed/ exists")


def test_loads_with_plain_pyg_and_batches(link_all: Path) -> None:
    ours = YoungerDataset(link_all, split="train", log=False)
    plain = PlainDataset(str(link_all), "train")
    assert len(plain) == len(ours) > 0
    for a, b in zip(plain, ours):
        assert a.graph_id == b.graph_id and torch.equal(a.x, b.x) and torch.equal(a.edge_index, b.edge_index)
    raw = torch.load(link_all / "processed" / "train.pt", weights_only=False)
    assert isinstance(raw, tuple) and len(raw) == 3 and set(raw[0]) >= {"x", "edge_index", "edge_attr", "graph_id"}
    batches = list(DataLoader(plain, batch_size=4, shuffle=False))
    assert sum(b.num_graphs for b in batches) == len(plain)
    first = batches[0]
    assert first.graph_id == [plain[i].graph_id for i in range(4)]
    assert first.x.shape[0] == sum(plain[i].num_nodes for i in range(4))
    assert int(first.edge_index.max()) < first.num_nodes
    # graph 1's edges are shifted by graph 0's node count
    n0, e0 = plain[0].num_nodes, plain[0].num_edges
    assert torch.equal(first.edge_index[:, e0:e0 + plain[1].num_edges], plain[1].edge_index + n0)
    val = YoungerDataset(link_all, split="val", log=False)
    batch = next(iter(DataLoader(val, batch_size=len(val))))
    assert int(batch.neg_edge_index.max()) < batch.num_nodes


def test_negative_edges_are_reproducible_non_edges(link_all: Path, db: Path, tmp_path: Path) -> None:
    for split in ("val", "test"):
        for data in YoungerDataset(link_all, split=split, log=False):
            neg = data.neg_edge_index
            assert neg.dtype == torch.long and neg.shape[0] == 2
            pos = set(zip(*data.edge_index.tolist()))
            pairs = list(zip(*neg.tolist()))
            assert len(pairs) == len(set(pairs)) == data.num_edges  # as many as the edges (graphs are sparse)
            assert not (set(pairs) & pos) and all(u != v for u, v in pairs)
    assert "neg_edge_index" not in YoungerDataset(link_all, split="train", log=False)[0]
    other = tmp_path / "other"
    _export(db, other, task="link", view="noattrs", keep_unseen=True)
    for a, b in zip(YoungerDataset(link_all, split="test", log=False), YoungerDataset(other, split="test", log=False)):
        assert torch.equal(a.neg_edge_index, b.neg_edge_index)
    # a tiny dense graph: every non-edge, never more
    rng = np.random.Generator(np.random.PCG64(0))
    neg = negative_edges(3, np.array([0, 1, 0]), np.array([1, 2, 2]), 10, rng)
    assert sorted(zip(*neg.tolist())) == [(1, 0), (2, 0), (2, 1)]


def test_process_rebuilds_everything_from_raw(link_attrs: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(link_attrs / "raw", copy / "raw")
    rebuilt = {s: YoungerDataset(copy, split=s, log=False) for s in SPLITS}
    for split in SPLITS:
        a, b = YoungerDataset(link_attrs, split=split, log=False), rebuilt[split]
        assert [d.graph_id for d in a] == [d.graph_id for d in b]
        for x, y in zip(a, b):
            assert torch.equal(x.x, y.x) and torch.equal(x.edge_index, y.edge_index)
    assert (copy / "vocab.json").read_text() == (link_attrs / "vocab.json").read_text()
    meta = json.loads((copy / "meta.json").read_text())
    original = json.loads((link_attrs / "meta.json").read_text())
    assert meta["fingerprint"] == original["fingerprint"] and meta["counts"] == original["counts"]
    assert {"numpy", "torch", "torch_geometric", "younger_graph", "ladybug"} <= set(meta["versions"])
    assert meta["store"]["fingerprint"]["graphs"] == 32 and meta["options"]["seed"] == 1234
    # processed/ alone (raw/ not shipped) still loads; with neither, a clear error
    shutil.rmtree(copy / "raw")
    shipped = YoungerDataset(copy, split="train", log=False)
    assert len(shipped) == len(YoungerDataset(link_attrs, split="train", log=False))
    shutil.rmtree(copy / "processed")
    with pytest.raises(FileNotFoundError, match="export pyg"):
        YoungerDataset(copy, split="train", log=False)


# -- operator task --------------------------------------------------------------------------------
def test_operator_task_community_boundaries(db: Path, tmp_path: Path, frames: dict[str, pd.DataFrame]) -> None:
    out = tmp_path / "op"
    meta = _export(db, out, task="operator", view="attrs")
    with open_store(db) as store:
        comm = store.run("MATCH (c:Community) WHERE c.method = 'cnm' RETURN c.community_id AS community_id, "
                         "c.hash AS hash, c.boundary_size AS boundary_size, c.size AS size")
        members = store.run("MATCH (o:Operator)-[:MEMBER_OF]->(c:Community) WHERE c.method = 'cnm' "
                            "RETURN c.community_id AS community_id, o.idx AS idx")
    by_id = comm.set_index("community_id")
    member_sets = members.groupby("community_id")["idx"].apply(set).to_dict()
    edges = frames["edges"]
    tokens = _graph_tokens(frames, "attrs")
    ds = _load(out)
    vocab = ds["train"].vocab
    hashes = []
    for split in SPLITS:
        for data in ds[split]:
            c = by_id.loc[data.community_id]
            hashes.append(c["hash"])
            idx = data.node_idx.tolist()
            assert idx == sorted(idx)
            inside = member_sets[data.community_id]
            boundary = data.boundary_mask.tolist()
            assert {i for i, b in zip(idx, boundary) if not b} == inside
            assert sum(boundary) == c.boundary_size > 0
            # boundary nodes are hidden in x and are the targets
            assert (data.x[data.boundary_mask] == 1).all()
            assert (data.y[~data.boundary_mask] == -100).all()
            truth = [vocab.index.get(tokens[data.graph_id][i], 0) for i in idx]
            assert data.y[data.boundary_mask].tolist() == [t for t, b in zip(truth, boundary) if b]
            assert data.x[~data.boundary_mask].tolist() == [t for t, b in zip(truth, boundary) if not b]
            # edges: every flow of the graph with an endpoint in the community, renumbered
            g = edges[edges.graph_id == data.graph_id]
            touching = g[g.src.isin(inside) | g.dst.isin(inside)]
            want = Counter(zip(touching.src, touching.dst, touching.src_slot, touching.dst_slot))
            got = Counter((idx[s], idx[d], a, b) for (s, d), (a, b) in
                          zip(data.edge_index.t().tolist(), data.edge_attr.tolist()))
            assert got == want
    assert len(hashes) == len(set(hashes))  # deduplicated by hash
    counts = meta["counts"]
    with_boundary = comm[comm.boundary_size > 0]
    assert counts["duplicate_communities"] == len(comm) - comm.hash.nunique()
    assert len(hashes) + sum(counts["removed_unseen"].values()) == with_boundary.hash.nunique()
    batch = next(iter(DataLoader(ds["train"], batch_size=8)))
    assert batch.y.shape == batch.x.shape == batch.boundary_mask.shape
    # noattrs: dedup by hash_noattr instead
    _export(db, tmp_path / "op2", task="operator", view="noattrs", keep_unseen=True)
    n = sum(len(YoungerDataset(tmp_path / "op2", split=s, log=False)) for s in SPLITS)
    assert n == comm[comm.boundary_size > 0].merge(
        _noattr_hashes(db), on="community_id").hash_noattr.nunique()


def _noattr_hashes(db: Path) -> pd.DataFrame:
    with open_store(db) as store:
        return store.run("MATCH (c:Community) WHERE c.method = 'cnm' RETURN c.community_id AS community_id, "
                         "c.hash_noattr AS hash_noattr")


def test_operator_task_without_communities_is_a_clear_error(tables: Path, tmp_path: Path) -> None:
    bare = tmp_path / "bare.db"
    with open_store(bare, write=True) as store:  # tables declared, no communities computed
        store.ensure_schema({}, [])
    with open_store(bare) as store, pytest.raises(ExportError, match="communities --method cnm"):
        export_pyg(store, tmp_path / "x", PygOptions(task="operator"))


# -- graph task, annotate -------------------------------------------------------------------------
def test_annotate_values_become_graph_targets(db: Path, tmp_path: Path, frames: dict[str, pd.DataFrame]) -> None:
    store_path = tmp_path / "annotated.db"
    shutil.copy(db, store_path)
    models = frames["models"][frames["models"].status == "ok"]
    names = sorted(set(models.name))
    rows = [{"model_name": n, "accuracy": f"{0.5 + i / 100:.3f}", "params (M)": str(i * 2), "family": n[:3]}
            for i, n in enumerate(names)]
    rows.append({"model_name": "no-such-model", "accuracy": "0.1", "params (M)": "1", "family": "x"})
    rows[0]["accuracy"] = ""  # an empty cell writes nothing
    csv = tmp_path / "metrics.csv"
    pd.DataFrame(rows).to_csv(csv, index=False)
    with open_store(store_path, write=True) as store:
        summary = annotate(store, csv, "model_name")
        stored = store.run("MATCH (m:Model) RETURN m.name AS name, m.metric_accuracy AS acc, "
                           "m.metric_params__M_ AS params, m.metric_family AS family")
    assert summary.unmatched_keys == ["no-such-model"] and summary.matched_keys == len(names)
    assert summary.properties == {"metric_accuracy": "DOUBLE", "metric_params__M_": "DOUBLE", "metric_family": "STRING"}
    value = {r["model_name"]: r for r in rows}
    for r in stored.itertuples():
        want = value[r.name]["accuracy"]
        assert (pd.isna(r.acc) if want == "" else r.acc == pytest.approx(float(want)))
        assert r.params == float(value[r.name]["params (M)"]) and r.family == value[r.name]["family"]
    # graph targets: a graph takes the mean over its models
    out = tmp_path / "acc"
    with open_store(store_path) as store:
        meta = export_pyg(store, out, PygOptions(task="graph", target="metric_accuracy", keep_unseen=True))
    expected: dict[str, list[float]] = {}
    for m in models.itertuples():
        if value[m.name]["accuracy"]:
            expected.setdefault(m.graph_id, []).append(float(value[m.name]["accuracy"]))
    got = {d.graph_id: d.y for s in SPLITS for d in YoungerDataset(out, split=s, log=False)}
    assert set(got) == set(expected)
    for gid, y in got.items():
        assert y.dtype == torch.float and y.shape == (1,)
        assert float(y) == pytest.approx(np.mean(expected[gid]), rel=1e-6)
    assert meta["counts"]["skipped_without_target"] == frames["graphs"].shape[0] - len(expected)
    assert json.loads((out / "targets.json").read_text())["kind"] == "float"
    # on graph_id: a Graph's own value wins over its models'
    gid = sorted(expected)[0]
    pd.DataFrame([{"graph_id": gid, "accuracy": "0.99"}]).to_csv(tmp_path / "g.csv", index=False)
    with open_store(store_path, write=True) as store:
        assert annotate(store, tmp_path / "g.csv", "graph_id").nodes == {"metric_accuracy": 1}
        export_pyg(store, out, PygOptions(task="graph", target="metric_accuracy", keep_unseen=True))
    got = {d.graph_id: float(d.y) for s in SPLITS for d in YoungerDataset(out, split=s, log=False)}
    assert got[gid] == pytest.approx(0.99)


def test_graph_task_class_targets(db: Path, tmp_path: Path, frames: dict[str, pd.DataFrame]) -> None:
    out = tmp_path / "task"
    with open_store(db) as store:
        export_pyg(store, out, PygOptions(task="graph", target="task", view="noattrs", keep_unseen=True))
    targets = json.loads((out / "targets.json").read_text())
    models = frames["models"][(frames["models"].status == "ok") & (frames["models"].task.fillna("") != "")]
    by_graph = models.groupby("graph_id")["task"].agg(lambda s: sorted(Counter(s).items(),
                                                                      key=lambda kv: (-kv[1], kv[0]))[0][0])
    assert targets["kind"] == "class" and targets["classes"] == sorted(set(by_graph))
    got = {d.graph_id: targets["classes"][int(d.y)] for s in SPLITS for d in YoungerDataset(out, split=s, log=False)}
    assert got == by_graph.to_dict()
    batch = next(iter(DataLoader(YoungerDataset(out, split="train", log=False), batch_size=5)))
    assert batch.y.shape == (5,) and batch.y.dtype == torch.long
    with open_store(db) as store, pytest.raises(ExportError, match="--target"):
        export_pyg(store, tmp_path / "none", PygOptions(task="graph"))


# -- selection ------------------------------------------------------------------------------------
def test_query_and_where_select_graphs(db: Path, tmp_path: Path, frames: dict[str, pd.DataFrame]) -> None:
    g = frames["graphs"]
    with open_store(db) as store:
        meta = export_pyg(store, tmp_path / "q", PygOptions(task="graph", target="num_operators", keep_unseen=True),
                          Selection("graphs_by_size", {"max_operators": "200"}))
        export_pyg(store, tmp_path / "w", PygOptions(task="graph", target="num_operators", keep_unseen=True),
                   Selection(where="g.num_operators <= 200 AND g.num_edges > 100"))
    small = set(g[g.num_operators <= 200].graph_id)
    ids = {d.graph_id for s in SPLITS for d in YoungerDataset(tmp_path / "q", split=s, log=False)}
    assert ids == small and meta["selection"]["query"] == "graphs_by_size"
    ids = {d.graph_id: float(d.y) for s in SPLITS for d in YoungerDataset(tmp_path / "w", split=s, log=False)}
    assert set(ids) == set(g[(g.num_operators <= 200) & (g.num_edges > 100)].graph_id)
    assert ids == {r.graph_id: float(r.num_operators) for r in g.itertuples() if r.graph_id in ids}


# -- dense ----------------------------------------------------------------------------------------
def test_dense_export(db: Path, tmp_path: Path, frames: dict[str, pd.DataFrame]) -> None:
    out = tmp_path / "dense"
    with open_store(db) as store:
        meta = export_dense(store, out, DenseOptions(max_nodes=120))
    z = np.load(out / "dense.npz")
    assert set(z.files) >= {"X", "A", "mask", "graph_ids"}
    x, a, mask, ids, node_idx = z["X"], z["A"], z["mask"], z["graph_ids"].tolist(), z["node_idx"]
    g = frames["graphs"]
    assert ids == sorted(g[g.num_nodes <= 120].graph_id)
    vocab = json.loads((out / "vocab.json").read_text())
    n_graphs = len(ids)
    assert x.shape == (n_graphs, 120, len(vocab["tokens"])) and a.shape == (n_graphs, 120, 120)
    assert mask.shape == (n_graphs, 120) and mask.dtype == bool
    assert not np.tril(a).any()  # strictly upper-triangular
    assert (x.sum(axis=2) == mask).all()  # one-hot on real nodes, zero on padding
    assert not a[~mask].any() and not a.transpose(0, 2, 1)[~mask].any()
    tokens = _graph_tokens(frames, "noattrs")
    edges = frames["edges"]
    index = {t: i for i, t in enumerate(vocab["tokens"])}
    for k, gid in enumerate(ids):
        n = int(mask[k].sum())
        assert n == int(g.set_index("graph_id").num_nodes[gid]) and mask[k, :n].all()
        order = node_idx[k, :n].tolist()
        assert sorted(order) == list(range(n))
        assert x[k, :n].argmax(axis=1).tolist() == [index[tokens[gid][i]] for i in order]
        pos = {v: p for p, v in enumerate(order)}
        e = edges[edges.graph_id == gid]
        assert all(pos[s] < pos[d] for s, d in zip(e.src, e.dst))  # a topological order (no cycles here)
        assert {(pos[s], pos[d]) for s, d in zip(e.src, e.dst)} == set(zip(*np.nonzero(a[k])))
    assert meta["counts"]["dropped_backward_edges"] == 0
    pt = torch.load(out / "dense.pt")
    assert torch.equal(pt["X"], torch.from_numpy(x)) and torch.equal(pt["A"], torch.from_numpy(a))
    assert torch.equal(pt["mask"], torch.from_numpy(mask)) and pt["graph_ids"] == ids


def test_topological_order_breaks_ties_by_idx_and_survives_cycles() -> None:
    src, dst = np.array([3, 3, 0]), np.array([1, 0, 2])
    assert topological_order(4, src, dst).tolist() == [3, 0, 1, 2]
    # 0 → 1 → 2 → 1 (a cycle): 1 is placed when nothing is ready, 2 → 1 then goes backwards
    order = topological_order(4, np.array([0, 1, 2]), np.array([1, 2, 1]))
    assert order.tolist() == [0, 3, 1, 2]


# -- CLI and imports ------------------------------------------------------------------------------
def test_cli_commands(db: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from younger_graph.cli import app

    runner = CliRunner()
    r = runner.invoke(app, ["export", "pyg", "--db", str(db), "--task", "link", "--vocab", "noattrs", "--split",
                            "6:2:2", "--seed", "7", "--out", str(tmp_path / "ds"), "--format", "json"])
    assert r.exit_code == 0, r.output
    meta = json.loads(r.output)
    assert meta["options"]["split"] == [6, 2, 2] and meta["options"]["seed"] == 7
    assert len(YoungerDataset(tmp_path / "ds", split="val", log=False)) > 0
    r = runner.invoke(app, ["export", "dense", "--db", str(db), "--max-nodes", "50", "--out", str(tmp_path / "d")])
    assert r.exit_code == 0, r.output
    assert {"dense.npz", "dense.pt", "vocab.json", "meta.json"} <= {p.name for p in (tmp_path / "d").iterdir()}
    r = runner.invoke(app, ["export", "pyg", "--db", str(db), "--task", "graph", "--out", str(tmp_path / "e")])
    assert r.exit_code != 0 and "--target" in str(r.exception or r.output)
    r = runner.invoke(app, ["export", "pyg", "--db", str(db), "--split", "8:1", "--out", str(tmp_path / "e")])
    assert r.exit_code != 0 and "--split" in str(r.exception or r.output)
    copy = tmp_path / "copy.db"
    shutil.copy(db, copy)
    (tmp_path / "m.csv").write_text("name,latency ms\nresnet18,1.5\nunknown,2\n")
    r = runner.invoke(app, ["annotate", "--db", str(copy), "--metrics", str(tmp_path / "m.csv"), "--format", "json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["properties"] == {"metric_latency_ms": "DOUBLE"} and out["unmatched_keys"] == ["unknown"]
    with open_store(copy) as store:
        got = store.run("MATCH (m:Model) WHERE m.metric_latency_ms IS NOT NULL RETURN DISTINCT m.name AS n, "
                        "m.metric_latency_ms AS v")
    assert got.to_dict("records") == [{"n": "resnet18", "v": 1.5}]


def test_export_modules_import_without_torch(db: Path, tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "for m in ('torch', 'torch_geometric'): sys.modules[m] = None\n"
        "import younger_graph.cli, younger_graph.export.builder, younger_graph.export.raw\n"
        "import younger_graph.export.annotate\n"
        "from younger_graph.export.dense import export_dense\n"
        "from younger_graph.store import open_store\n"
        f"with open_store({str(db)!r}) as s: meta = export_dense(s, {str(tmp_path / 'd')!r})\n"
        "assert meta['files'] == ['dense.npz', 'vocab.json', 'splits.json', 'meta.json'], meta['files']\n"
        "try:\n    import younger_graph.datasets\nexcept ImportError as e:\n    assert 'younger-graph[pyg]' in str(e)\n"
        "else:\n    raise SystemExit('imported without torch_geometric')\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


# -- on-disk datasets (--storage disk) and attribute features (--attr-features) -------------------
DISK_TASKS = {"link": {"view": "noattrs", "keep_unseen": True}, "graph": {"target": "task", "keep_unseen": True},
              "operator": {"view": "noattrs"}}


@pytest.fixture(scope="module")
def disk(db: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One on-disk export with attribute features per task. Loading YoungerDataset on the same folder
    builds the in-memory splits from the same raw/: the reference the on-disk items must equal."""
    base = tmp_path_factory.mktemp("disk")
    for task, options in DISK_TASKS.items():
        _export(db, base / task, task=task, storage="disk", attr_features=True, **options)
    return {task: base / task for task in DISK_TASKS}


def _same_data(a, b) -> None:  # type: ignore[no-untyped-def]
    assert set(a.keys()) == set(b.keys()), (a.keys(), b.keys())
    for key in sorted(a.keys()):  # (iterating a Data yields (key, value) pairs)
        if torch.is_tensor(a[key]):
            assert a[key].dtype == b[key].dtype and torch.equal(a[key], b[key]), (a.graph_id, key)
        else:
            assert a[key] == b[key], (a.graph_id, key)


def test_ondisk_items_equal_in_memory_items(disk: dict[str, Path]) -> None:
    for task, root in disk.items():
        assert sorted(p.name for p in (root / "processed").glob("*.pt")) == []  # the disk export wrote no .pt
        assert {f"{s}.db" for s in SPLITS} <= {p.name for p in (root / "processed" / "ondisk").iterdir()}
        meta = json.loads((root / "meta.json").read_text())
        assert meta["options"]["storage"] == "disk" and meta["options"]["attr_features"]
        assert json.loads((root / "raw" / "export.json").read_text())["options"]["storage"] == "disk"
        for split in SPLITS:
            on_disk = YoungerOnDiskDataset(root, split=split, log=False)
            in_memory = YoungerDataset(root, split=split, log=False)
            assert len(on_disk) == len(in_memory) == meta["counts"]["items"][split], (task, split)
            for i in range(len(in_memory)):
                _same_data(on_disk[i], in_memory[i])
        assert len(YoungerOnDiskDataset(root, split="train", log=False)) > 0


def test_ondisk_dataloader_rebuild_and_plain_sqlite(disk: dict[str, Path], tmp_path: Path) -> None:
    from torch_geometric.data import SQLiteDatabase

    root = disk["link"]
    val = YoungerOnDiskDataset(root, split="val", log=False)
    batches = list(DataLoader(val, batch_size=2, shuffle=False))
    assert sum(b.num_graphs for b in batches) == len(val) > 1
    first = batches[0]
    assert first.graph_id == [val[0].graph_id, val[1].graph_id]
    assert first.x_attr.shape == (first.num_nodes, len(val.attr_feature_names))
    n0, e0 = val[0].num_nodes, val[0].num_edges
    assert torch.equal(first.edge_index[:, e0:], val[1].edge_index + n0)
    assert int(first.neg_edge_index.max()) < first.num_nodes
    shuffled = list(DataLoader(YoungerOnDiskDataset(root, split="train", log=False), batch_size=8, shuffle=True))
    train = YoungerDataset(root, split="train", log=False)
    assert sorted(g for b in shuffled for g in b.graph_id) == sorted(d.graph_id for d in train)
    # raw/ alone: the on-disk splits are built on first use, identically; force_reload rebuilds them
    copy = tmp_path / "copy"
    shutil.copytree(root / "raw", copy / "raw")
    for dataset in (YoungerOnDiskDataset(copy, split="val", log=False),
                    YoungerOnDiskDataset(copy, split="val", log=False, force_reload=True)):
        assert [d.graph_id for d in dataset] == [d.graph_id for d in val]
        for a, b in zip(dataset, val):
            _same_data(a, b)
        dataset.close()
    assert not (copy / "processed" / "val.pt").exists()
    # without younger-graph: PyG's SQLiteDatabase with the column types of processed/ondisk/schema.json
    spec = json.loads((root / "processed" / "ondisk" / "schema.json").read_text())
    columns = {k: str if v == "str" else {"dtype": getattr(torch, v["dtype"]), "size": tuple(v["size"])}
               for k, v in spec["splits"]["val"].items()}
    plain = SQLiteDatabase(str(root / "processed" / "ondisk" / "val.db"), name=spec["table"], schema=columns)
    row = plain.get(1)
    plain.close()
    assert row["graph_id"] == val[1].graph_id and torch.equal(row["edge_index"], val[1].edge_index)


def test_ondisk_streams_edges_and_inserts_in_batches(disk: dict[str, Path], tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from torch_geometric.data import SQLiteDatabase

    from younger_graph.datasets import process_ondisk
    from younger_graph.export.builder import Builder

    copy = tmp_path / "copy"
    shutil.copytree(disk["graph"] / "raw", copy / "raw")
    assert Builder(copy, stream_edges=True).arrays.edge_index is None  # whole-graph tasks hold no flat edges
    inserts: list[int] = []
    original = SQLiteDatabase.multi_insert

    def record(self, indices, data_list, *args, **kwargs):  # type: ignore[no-untyped-def]
        inserts.append(len(data_list))
        return original(self, indices, data_list, *args, **kwargs)

    monkeypatch.setattr(SQLiteDatabase, "multi_insert", record)
    process_ondisk(copy, batch_size=5)
    assert max(inserts) == 5 and len(inserts) > 5  # the training split (26 items) went in several batches
    for split in SPLITS:
        ours = YoungerOnDiskDataset(copy, split=split, log=False)
        reference = YoungerOnDiskDataset(disk["graph"], split=split, log=False)
        assert len(ours) == len(reference)
        for a, b in zip(ours, reference):
            _same_data(a, b)


def test_attr_features_follow_the_attrs_json(disk: dict[str, Path]) -> None:
    root = disk["link"]
    names = json.loads((root / "meta.json").read_text())["attr_features"]["names"]
    col = {n: i for i, n in enumerate(names)}
    ops = pd.read_parquet(root / "raw" / "operators.parquet")
    attrs = {(g, i): json.loads(a or "{}") for g, i, a in zip(ops.graph_id, ops["idx"], ops["attrs"])}
    data = {d.graph_id: d for s in SPLITS for d in YoungerDataset(root, split=s, log=False)}
    # a grouped 3x3 Conv: its own values in its own row
    convs = ops[ops.op_type == "Conv"].sort_values(["graph_id", "idx"])
    g, i = next((g, i) for g, i in zip(convs.graph_id, convs["idx"]) if g in data
                and attrs[(g, i)].get("group", 1) > 1 and attrs[(g, i)].get("kernel_shape") == [3, 3])
    conv, row = attrs[(g, i)], data[g].x_attr[i]
    assert data[g].x_attr.dtype == torch.float32 and data[g].x_attr.shape == (data[g].num_nodes, len(names))
    assert row[col["group.present"]] == 1 and row[col["group"]] == conv["group"]
    assert (row[col["kernel_shape.present"]], row[col["kernel_shape.0"]], row[col["kernel_shape.1"]],
            row[col["kernel_shape.2"]]) == (1, 3, 3, 0)
    assert [float(row[col[f"strides.{k}"]]) for k in range(2)] == conv["strides"]
    assert [float(row[col[f"pads.{k}"]]) for k in range(6)] == conv["pads"] + [0] * (6 - len(conv["pads"]))
    assert row[col["perm.present"]] == row[col["perm.len"]] == row[col["epsilon.present"]] == row[col["epsilon"]] == 0
    # every node: the present flags are exactly the listed attributes its JSON has, absent ones all zero
    attribute = [n.split(".")[0] for n in names]  # the attribute of each column
    flags = [i for i, n in enumerate(names) if n.endswith(".present")]
    for gid, d in data.items():
        has = np.array([[a in attrs[(gid, idx)] for a in attribute] for idx in range(d.num_nodes)])
        x = d.x_attr.numpy()
        assert np.array_equal(x[:, flags], has[:, flags].astype(np.float32)), gid
        assert not x[~has].any(), gid
    # every task: [num_nodes, F]; operator items hide the boundary nodes' attributes
    for task in ("graph", "operator"):
        for d in YoungerDataset(disk[task], split="train", log=False):
            assert d.x_attr.shape == (d.num_nodes, len(names)) and d.x_attr.dtype == torch.float32
            if task == "operator":
                assert not d.x_attr[d.boundary_mask].any()
                assert torch.equal(d.x_attr[~d.boundary_mask], data[d.graph_id].x_attr[d.node_idx[~d.boundary_mask]])
            else:
                assert torch.equal(d.x_attr, data[d.graph_id].x_attr)


def test_attr_feature_layout() -> None:
    from younger_graph.export.features import FEATURE_NAMES, featurise

    col = {n: i for i, n in enumerate(FEATURE_NAMES)}
    row = featurise('{"auto_pad":"SAME_UPPER","dilations":[1,1],"group":4,"kernel_shape":[3,3],"strides":[2,2]}')
    expected = {"group.present": 1, "group": 4, "kernel_shape.present": 1, "kernel_shape.0": 3, "kernel_shape.1": 3,
                "strides.present": 1, "strides.0": 2, "strides.1": 2, "dilations.present": 1, "dilations.0": 1,
                "dilations.1": 1, "auto_pad.present": 1, "auto_pad": 1}
    assert {n: float(row[i]) for n, i in col.items() if row[i] != 0} == expected
    row = featurise('{"alpha":"NaN","perm":[0,2,3,1],"axes":{"len":2000,"sha256":"x","truncated":[0,1]}}')
    assert (row[col["alpha.present"]], row[col["alpha"]]) == (1, 0)  # not a finite number: 0
    assert (row[col["perm.len"]], row[col["axes.len"]]) == (4, 2000)
    assert not featurise("{}").any() and not featurise("").any()


def test_dense_attr_features(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "dense"
    with open_store(db) as store:
        meta = export_dense(store, out, DenseOptions(max_nodes=120, attr_features=True))
    z = np.load(out / "dense.npz")
    names = meta["attr_features"]["names"]
    x_attr, mask, node_idx, ids = z["X_attr"], z["mask"], z["node_idx"], z["graph_ids"].tolist()
    assert x_attr.shape == (*mask.shape, len(names)) and x_attr.dtype == np.float32
    assert not x_attr[~mask].any()
    with open_store(db) as store:
        export_pyg(store, tmp_path / "pyg", PygOptions(task="graph", target="num_operators", keep_unseen=True,
                                                       attr_features=True))
    rows = {d.graph_id: d.x_attr.numpy() for s in SPLITS for d in YoungerDataset(tmp_path / "pyg", split=s, log=False)}
    for k, gid in enumerate(ids):  # position p holds operator node_idx[k, p]
        n = int(mask[k].sum())
        assert np.array_equal(x_attr[k, :n], rows[gid][node_idx[k, :n]])
    assert torch.equal(torch.load(out / "dense.pt")["X_attr"], torch.from_numpy(x_attr))


def test_cli_storage_and_attr_features(db: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from younger_graph.cli import app

    runner = CliRunner()
    out = tmp_path / "ds"
    r = runner.invoke(app, ["export", "pyg", "--db", str(db), "--task", "link", "--vocab", "noattrs", "--storage",
                            "disk", "--attr-features", "--out", str(out), "--format", "json"])
    assert r.exit_code == 0, r.output
    meta = json.loads(r.output)
    assert meta["options"]["storage"] == "disk" and meta["options"]["attr_features"] is True
    assert meta["data_fields"]["x_attr"].startswith("FloatTensor") and meta["attr_features"]["size"] > 20
    assert (out / "processed" / "ondisk" / "train.db").exists() and not (out / "processed" / "train.pt").exists()
    r = runner.invoke(app, ["export", "pyg", "--db", str(db), "--storage", "cloud", "--out", str(tmp_path / "e")])
    assert r.exit_code != 0 and "--storage" in str(r.exception or r.output)
    r = runner.invoke(app, ["export", "dense", "--db", str(db), "--max-nodes", "50", "--attr-features",
                            "--out", str(tmp_path / "d"), "--format", "json"])
    assert r.exit_code == 0, r.output
    assert "X_attr" in json.loads(r.output)["shapes"]


# -- Neo4j ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small(frames: dict[str, pd.DataFrame], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The sample's models of at most 200 nodes, extracted and loaded into an embedded store with cnm
    communities: (tables, db). Keeps the Neo4j round trip short."""
    m = frames["models"].merge(frames["graphs"][["graph_id", "num_nodes"]], on="graph_id")
    sources = sorted(m[m.num_nodes <= 200].source)
    out = tmp_path_factory.mktemp("small")
    extract(sources, out / "tables", workers=1, meta=ROOT / "sample" / "meta.csv")
    with open_store(out / "store.db", write=True) as store:
        store.load(out / "tables")
        compute_communities(store, "cnm")
    return out / "tables", out / "store.db"


def _exports(store, out: Path) -> None:  # type: ignore[no-untyped-def]
    export_pyg(store, out / "link", PygOptions(task="link", view="attrs"))
    export_pyg(store, out / "op", PygOptions(task="operator", view="noattrs"))
    export_pyg(store, out / "task", PygOptions(task="graph", target="task", keep_unseen=True))
    export_dense(store, out / "dense", DenseOptions(max_nodes=200))


@pytest.mark.neo4j
def test_neo4j_export_equals_embedded(small: tuple[Path, Path], tmp_path: Path) -> None:
    from neo4j_env import require_neo4j

    tables, db = small
    uri, user, password = require_neo4j()
    with open_store(uri, write=True, username=user, password=password) as store:
        store.run("MATCH (n) DETACH DELETE n", write=True)
        store.load(tables)
        try:
            compute_communities(store, "cnm")
            _exports(store, tmp_path / "neo4j")
        finally:
            store.run("MATCH (n) DETACH DELETE n", write=True)
    with open_store(db) as store:
        _exports(store, tmp_path / "embedded")
    for name in ("link", "op", "task"):
        ours, theirs = tmp_path / "embedded" / name, tmp_path / "neo4j" / name
        for extra in ("vocab.json", "targets.json"):
            if (ours / extra).exists() or (theirs / extra).exists():
                assert (ours / extra).read_text() == (theirs / extra).read_text(), (name, extra)
        a, b = json.loads((ours / "meta.json").read_text()), json.loads((theirs / "meta.json").read_text())
        assert a["fingerprint"] == b["fingerprint"] and a["counts"] == b["counts"], name
        assert a["store"]["fingerprint"] == b["store"]["fingerprint"]
        assert (a["store"]["backend"], b["store"]["backend"]) == ("embedded", "neo4j")
        for split in SPLITS:
            x = torch.load(ours / "processed" / f"{split}.pt", weights_only=False)
            y = torch.load(theirs / "processed" / f"{split}.pt", weights_only=False)
            assert x[0].keys() == y[0].keys()
            for key, value in x[0].items():
                assert (torch.equal(value, y[0][key]) if torch.is_tensor(value) else value == y[0][key]), (name, key)
        assert sum(a["counts"]["items"].values()) > 0
    a, b = np.load(tmp_path / "embedded" / "dense" / "dense.npz"), np.load(tmp_path / "neo4j" / "dense" / "dense.npz")
    for name in ("X", "A", "mask", "node_idx", "graph_ids"):
        assert np.array_equal(a[name], b[name]), name


# -- benchmark smoke ------------------------------------------------------------------------------
@pytest.mark.slow
def test_export_benchmark_quick(db: Path, tmp_path: Path) -> None:
    """benchmarks/export.py runs (link, link on disk and dense in child processes) and reports its ratios; memory
    figures are reported, never asserted."""
    from conftest import cli_env

    out = tmp_path / "bench.json"
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "export.py"), "--quick", "--db", str(db),
                        "--json", str(out)], capture_output=True, text=True, env=cli_env(), timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["benchmark"] == "export" and set(result["results"]) == {"link", "link-disk", "dense"}
    assert result["results"]["link-disk"]["peak_over_memory_storage"] > 0
    for task in ("link", "link-disk", "dense"):
        row = result["results"][task]
        assert row["tensor_bytes"] > 0 and row["peak_rss_mb"] >= row["baseline_mb"] > 0
        assert {"peak_over_tensors", "increase_over_tensors", "target_bytes", "met"} <= set(row)
