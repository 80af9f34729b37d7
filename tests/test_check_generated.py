"""`check-generated`: validity, uniqueness, novelty and MMD of generated architectures.

The two anchors of the issue, on the shipped sample through a real embedded store: the store's own
dense export is valid (≥ 0.95), unique (≈ 1) and not novel (≈ 0); random DAGs over the same
vocabulary, with the real graphs' sizes and densities, are invalid (validity ≤ 0.2). The MMD
descriptors are checked against networkx's definitions, and bad inputs are one line, exit 2.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from conftest import cli_env

import younger_graph as yg
from younger_graph.errors import UsageError
from younger_graph.extract import extract
from younger_graph.generation import mmd
from younger_graph.generation.views import ViewGraph
from younger_graph.store import open_store

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tables = tmp_path_factory.mktemp("check") / "tables"
    assert extract([ROOT / "sample"], tables, workers=1, meta=ROOT / "sample" / "meta.csv").ok >= 30
    path = tables.parent / "store.db"
    with open_store(path, write=True) as store:
        store.load(tables)
    return path


@pytest.fixture(scope="module")
def dense(db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dense")
    with open_store(db) as store:
        yg.export_dense(store, out)
    return out


def _check(db: Path, samples: Path, **kwargs) -> dict:  # type: ignore[no-untyped-def]
    with open_store(db) as store:
        return yg.check_generated(store, samples, **kwargs)


def _random_dags(dense: Path, out: Path, copies: int, seed: int) -> Path:
    """Random DAGs over the export's vocabulary: tokens drawn by their frequency, each graph with the
    size of a real one and edges drawn with its density (upper-triangular, so acyclic)."""
    data = np.load(dense / "dense.npz")
    x, a, mask = data["X"], data["A"], data["mask"]
    counts = np.asarray(json.loads((dense / "vocab.json").read_text())["counts"], dtype=float)
    counts[:2] = 0  # <unk>, <mask>
    rng = np.random.default_rng(seed)
    g, n_max, v = x.shape
    xs = np.zeros((g * copies, n_max, v), np.uint8)
    as_ = np.zeros((g * copies, n_max, n_max), np.uint8)
    masks = np.zeros((g * copies, n_max), bool)
    for k in range(g * copies):
        n = int(mask[k % g].sum())
        q = a[k % g].sum() / max(1, n * (n - 1) / 2)
        xs[k, np.arange(n), rng.choice(v, size=n, p=counts / counts.sum())] = 1
        as_[k, :n, :n] = np.triu(rng.random((n, n)) < q, 1)
        masks[k, :n] = True
    out.mkdir(parents=True, exist_ok=True)
    np.savez(out / "dense.npz", X=xs, A=as_, mask=masks)
    shutil.copy(dense / "vocab.json", out / "vocab.json")
    return out / "dense.npz"


def test_the_stores_own_dense_export_is_valid_unique_and_not_novel(db, dense):
    doc = _check(db, dense / "dense.npz", details=True)
    count = json.loads((dense / "meta.json").read_text())["counts"]["graphs"]
    assert doc["samples"]["count"] == doc["reference"]["graphs"] == count
    assert doc["validity"] >= 0.95, doc["reasons"]
    assert doc["uniqueness"] >= 0.99
    assert doc["novelty"] <= 0.01
    assert all(entry["in_reference"] for entry in doc["details"])
    for name in mmd.STATISTICS:  # the samples are the reference: MMD² 0 (up to rounding)
        assert abs(doc["mmd"][name]["value"]) < 1e-9
        assert doc["mmd"][name]["baseline"] is not None


def test_the_attrs_view_export_is_valid_too(db, tmp_path):
    """Tokens with attributes: Constant values and other tensors become inline placeholders."""
    with open_store(db) as store:
        yg.export_dense(store, tmp_path, yg.DenseOptions(view="attrs"))
    doc = _check(db, tmp_path / "dense.npz")
    assert doc["samples"]["view"] == "attrs"
    assert doc["validity"] >= 0.95, doc["reasons"]
    assert doc["novelty"] <= 0.01 and doc["uniqueness"] >= 0.99


def test_random_dags_over_the_same_vocabulary_are_invalid(db, dense, tmp_path):
    samples = _random_dags(dense, tmp_path / "random", copies=3, seed=7)
    doc = _check(db, samples)
    assert doc["samples"]["count"] == 3 * json.loads((dense / "meta.json").read_text())["counts"]["graphs"]
    assert doc["validity"] <= 0.2, doc["reasons"]
    assert doc["uniqueness"] >= 0.99
    assert sum(doc["reasons"].values()) >= doc["samples"]["count"] - doc["valid"]
    worse = [name for name in mmd.STATISTICS if doc["mmd"][name]["value"] > doc["mmd"][name]["baseline"]]
    assert len(worse) >= 3, doc["mmd"]  # random graphs are further from the reference than its halves


def test_reference_train_counts_what_training_never_saw_as_novel(db, dense):
    doc = _check(db, dense / "dense.npz", reference="train", details=True)
    splits = json.loads((dense / "splits.json").read_text())
    assert doc["reference"]["graphs"] == splits["counts"]["train"]
    train = set(splits["splits"]["train"])
    valid = [d for d in doc["details"] if d["valid"]]  # sample names are the exported graph ids
    assert doc["valid"] == len(valid) >= 0.9 * doc["samples"]["count"]
    assert doc["novelty"] == pytest.approx(sum(d["sample"] not in train for d in valid) / len(valid))
    assert all(d["in_reference"] == (d["sample"] in train) for d in doc["details"])


def test_folders_of_rebuilt_onnx_files_and_edge_lists(db, tmp_path):
    folder = tmp_path / "samples"
    with open_store(db) as store:
        ids = list(store.run("MATCH (g:Graph) WHERE g.num_nodes <= 120 RETURN g.graph_id AS g")["g"])[:4]
        yg.export_onnx(store, folder, ids, check=False)
    for p in folder.glob("*.weights"):
        p.unlink()
    (folder / "to-onnx.json").unlink()
    (folder / "chain.json").write_text(json.dumps({"nodes": ["Input", "Relu", "Output"], "edges": [[0, 1], [1, 2]]}))
    (folder / "cycle.json").write_text(json.dumps({"nodes": ["Input", "Add", "Relu", "Output"],
                                                   "edges": [[0, 1], [1, 2], [2, 1], [2, 3]]}))
    (folder / "broken.json").write_text("{not json")
    doc = _check(db, folder, details=True)
    by_name = {d["sample"]: d for d in doc["details"]}
    assert doc["samples"]["count"] == len(ids) + 3
    for gid in ids:  # the store's own graphs, back through ONNX: valid, in the reference
        entry = by_name[f"{gid}.onnx"]
        assert entry["valid"] and entry["in_reference"], entry
    assert by_name["chain.json"]["valid"] and not by_name["chain.json"]["in_reference"]
    assert any(r.startswith("cycle") for r in by_name["cycle.json"]["reasons"])
    assert by_name["broken.json"]["reasons"][0].startswith("unreadable: broken.json")
    assert doc["reasons"]["unreadable"] == 1


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "younger_graph.cli", *args], capture_output=True, text=True,
                          env=cli_env(), timeout=300)


def _bad_npz(folder: Path, dense: Path, **arrays: np.ndarray) -> Path:
    folder.mkdir()
    shutil.copy(dense / "vocab.json", folder / "vocab.json")
    np.savez(folder / "dense.npz", **arrays)
    return folder / "dense.npz"


def test_bad_samples_are_one_line_errors(db, dense, tmp_path):
    data = np.load(dense / "dense.npz")
    x, a, mask = data["X"], data["A"], data["mask"]
    lower = a.copy()
    lower[0, 3, 1] = 1
    cases = {
        "wrong shapes": (_bad_npz(tmp_path / "shape", dense, X=x, A=a[:, :5, :5], mask=mask), "X must be"),
        "vocabulary": (_bad_npz(tmp_path / "vocab", dense, X=x[:, :, :-1], A=a, mask=mask), "vocab.json has"),
        "not a DAG": (_bad_npz(tmp_path / "dag", dense, X=x, A=lower, mask=mask), "not a DAG"),
    }
    (tmp_path / "novocab").mkdir()
    shutil.copy(dense / "dense.npz", tmp_path / "novocab" / "dense.npz")
    cases["no vocabulary"] = (tmp_path / "novocab" / "dense.npz", "vocab.json")
    for path, words in cases.values():
        with pytest.raises(UsageError, match=words):
            _check(db, path)
    path, words = cases["not a DAG"]  # and once through the CLI (each run costs a few seconds)
    done = _cli("check-generated", str(path), "--db", str(db))
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2 and len(lines) == 1 and words in lines[0], done.stderr
    splits = json.loads((dense / "splits.json").read_text())
    splits["splits"]["train"].append("f" * 32)
    (tmp_path / "splits.json").write_text(json.dumps(splits))
    done = _cli("check-generated", str(dense / "dense.npz"), "--db", str(db), "--reference", "train",
                "--splits", str(tmp_path / "splits.json"))
    assert done.returncode == 2 and "not in the store" in done.stderr and "Traceback" not in done.stderr


def test_cli_prints_the_document(db, dense, tmp_path):
    done = _cli("check-generated", str(dense / "dense.npz"), "--db", str(db), "--format", "json",
                "--out", str(tmp_path / "check.json"))
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert {"validity", "uniqueness", "novelty", "mmd"} <= set(doc)
    assert json.loads((tmp_path / "check.json").read_text()) == doc


# -- the descriptors against networkx --------------------------------------------------------------------
def _random_view(rng: np.random.Generator, n: int, q: float) -> ViewGraph:
    upper = np.triu(rng.random((n, n)) < q, 1)
    s, d = np.nonzero(upper)
    return ViewGraph.make([f"op{k % 3}|" for k in range(n)], s, d)


def test_degree_clustering_and_spectral_histograms_follow_networkx():
    rng = np.random.default_rng(3)
    graphs = [_random_view(rng, int(rng.integers(3, 40)), float(rng.uniform(0.05, 0.5))) for _ in range(12)]
    d = mmd.describe(graphs)
    for k, g in enumerate(graphs):
        nxg = nx.Graph()
        nxg.add_nodes_from(range(g.n))
        nxg.add_edges_from(zip(g.src.tolist(), g.dst.tolist()))
        assert d.degree[k].tolist() == nx.degree_histogram(nxg)
        expected = np.histogram(list(nx.clustering(nxg).values()), bins=100, range=(0.0, 1.0))[0]
        assert d.clustering[k].tolist() == expected.tolist()
        eigs = np.linalg.eigvalsh(nx.normalized_laplacian_matrix(nxg).toarray())
        assert d.spectral[k].tolist() == np.histogram(eigs, bins=200, range=(-1e-5, 2))[0].tolist()
        longest = nx.dag_longest_path_length(nx.DiGraph(list(zip(g.src.tolist(), g.dst.tolist())))) + 1 \
            if len(g.src) else 1
        assert d.depth_width[k][0] == pytest.approx(np.log2(longest))


def test_mmd_is_zero_on_equal_sets_and_grows_with_the_difference():
    rng = np.random.default_rng(5)
    sparse = [_random_view(rng, 30, 0.08) for _ in range(10)]
    dense_ = [_random_view(rng, 30, 0.5) for _ in range(10)]
    a, b = mmd.describe(sparse), mmd.describe(dense_)
    vocabulary = mmd.op_type_vocabulary(a)
    same = mmd.mmd(a, a, vocabulary)
    apart = mmd.mmd(a, b, vocabulary)
    assert all(abs(v) < 1e-12 for v in same.values())
    for name in ("degree", "clustering", "spectral", "depth_width"):
        assert apart[name] > 0.01, name
