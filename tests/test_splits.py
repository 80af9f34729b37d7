"""Leakage-aware splits of `export pyg` and `export dense` (`--split-by`, `--splits`, splits.json, leakage).

A corpus built here has what the rules are about: families of models whose members differ only in
widths or kernel sizes (so they share `graph_id_noattr` but not `graph_id`), metadata columns
(task, family, origin and a custom `dataset`) and sizes. Every property is checked against the
extraction tables, independently of the split code: no group on two sides, the size order, the
leakage figures recounted, frozen splits reproduced, and bad rules are one-line errors.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pandas as pd
import pytest
from conftest import cli_env, write_model
from onnx import TensorProto
from onnx import helper as oh

import younger_graph as yg
from younger_graph.errors import ExportError
from younger_graph.export.vocab import split_labels
from younger_graph.extract import extract
from younger_graph.store import open_store

SPLITS = ("train", "val", "test")


def _weights(name: str, shape: list[int]) -> onnx.TensorProto:
    return oh.make_tensor(name, TensorProto.FLOAT, shape, np.zeros(int(np.prod(shape))).tolist())


def _mlp(depth: int, width: int) -> onnx.ModelProto:
    nodes, inits, prev = [], [], "x"
    for k in range(depth):
        inits += [_weights(f"W{k}", [width, width]), _weights(f"b{k}", [width])]
        nodes += [oh.make_node("MatMul", [prev, f"W{k}"], [f"m{k}"]),
                  oh.make_node("Add", [f"m{k}", f"b{k}"], [f"a{k}"]), oh.make_node("Relu", [f"a{k}"], [f"r{k}"])]
        prev = f"r{k}"
    graph = oh.make_graph(nodes, "mlp", [oh.make_tensor_value_info("x", TensorProto.FLOAT, [1, width])],
                          [oh.make_tensor_value_info(prev, TensorProto.FLOAT, [1, width])], inits)
    return oh.make_model(graph, opset_imports=[oh.make_opsetid("", 17)])


def _cnn(depth: int, kernel: int) -> onnx.ModelProto:
    nodes, inits, prev = [], [], "x"
    for k in range(depth):
        inits.append(_weights(f"W{k}", [4, 4, kernel, kernel]))
        nodes += [oh.make_node("Conv", [prev, f"W{k}"], [f"c{k}"], kernel_shape=[kernel, kernel],
                               pads=[kernel // 2] * 4),
                  oh.make_node("Relu", [f"c{k}"], [f"r{k}"])]
        prev = f"r{k}"
    nodes.append(oh.make_node("GlobalAveragePool", [prev], ["y"]))
    graph = oh.make_graph(nodes, "cnn", [oh.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 8, 8])],
                          [oh.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 1, 1])], inits)
    return oh.make_model(graph, opset_imports=[oh.make_opsetid("", 17)])


def _attention(depth: int, width: int) -> onnx.ModelProto:
    nodes, inits, prev = [], [], "x"
    for k in range(depth):
        inits.append(_weights(f"Q{k}", [width, width]))
        nodes += [oh.make_node("MatMul", [prev, f"Q{k}"], [f"q{k}"]),
                  oh.make_node("Softmax", [f"q{k}"], [f"s{k}"], axis=-1),
                  oh.make_node("Mul", [f"s{k}", prev], [f"o{k}"])]
        prev = f"o{k}"
    graph = oh.make_graph(nodes, "att", [oh.make_tensor_value_info("x", TensorProto.FLOAT, [2, width])],
                          [oh.make_tensor_value_info(prev, TensorProto.FLOAT, [2, width])], inits)
    return oh.make_model(graph, opset_imports=[oh.make_opsetid("", 17)])


FAMILIES = {"mlp": (_mlp, (4, 8, 16, 32), "tabular"), "cnn": (_cnn, (1, 3, 5), "vision"),
            "att": (_attention, (4, 8, 16), "nlp")}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(store, tables) of 30 models: 3 families x depths 1..3 x 3-4 widths/kernels."""
    root = tmp_path_factory.mktemp("splits")
    rows = []
    for family, (build, sizes, task) in FAMILIES.items():
        for depth in (1, 2, 3):
            for j, size in enumerate(sizes):
                name = f"{family}_d{depth}_s{size}"
                write_model(build(depth, size), root / "models" / f"{name}.onnx")
                rows.append({"file": f"{name}.onnx", "name": name, "task": task, "family": family,
                             "source": "zoo-a" if j % 2 else "zoo-b", "dataset": f"set{depth}"})
    with open(root / "meta.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    tables = root / "tables"
    assert extract([root / "models"], tables, workers=1, meta=root / "meta.csv").ok == len(rows)
    db = root / "store.db"
    with open_store(db, write=True) as store:
        store.load(tables)
    return db, tables


def _graph_table(tables: Path) -> pd.DataFrame:
    """Per graph: noattr hash, size and the metadata of its (single) model, from the tables."""
    graphs = pd.read_parquet(tables / "graphs.parquet")
    models = pd.read_parquet(tables / "models.parquet")
    return graphs.merge(models[["graph_id", "task", "family", "origin", "dataset"]], on="graph_id").set_index(
        "graph_id")


def _dense(db: Path, out: Path, **options) -> dict:  # type: ignore[no-untyped-def]
    with open_store(db) as store:
        return yg.export_dense(store, out, yg.DenseOptions(**options))


def _sides(path: Path) -> dict[str, str]:
    doc = json.loads(path.read_text())
    return {gid: split for split in SPLITS for gid in doc["splits"][split]}


def _groups_never_on_two_sides(side: dict[str, str], key: pd.Series) -> int:
    by_group: dict[str, set[str]] = {}
    for gid, split in side.items():
        by_group.setdefault(str(key[gid]), set()).add(split)
    assert all(len(s) == 1 for s in by_group.values()), by_group
    return len(by_group)


def _leaking(side: dict[str, str], noattr: pd.Series, split: str) -> int:
    train = {noattr[g] for g, s in side.items() if s == "train"}
    return sum(noattr[g] in train for g, s in side.items() if s == split)


def test_split_by_graph_is_todays_seeded_permutation(corpus, tmp_path):
    db, tables = corpus
    meta = _dense(db, tmp_path, max_nodes=50)
    ids = sorted(pd.read_parquet(tables / "graphs.parquet")["graph_id"])
    labels = split_labels(len(ids), (8, 1, 1), 1234)
    assert _sides(tmp_path / "splits.json") == {g: SPLITS[k] for g, k in zip(ids, labels)}
    graphs = _graph_table(tables)
    side = _sides(tmp_path / "splits.json")
    leak = meta["splits"]["leakage"]
    for split in ("val", "test"):
        assert leak[split]["sharing_with_train"] == _leaking(side, graphs["graph_id_noattr"], split)
    assert leak["val"]["sharing_with_train"] + leak["test"]["sharing_with_train"] > 0  # the leak arch splits stop


@pytest.mark.parametrize("rule,column", [("arch", "graph_id_noattr"), ("family", "family"), ("task", "task"),
                                         ("origin", "origin"), ("dataset", "dataset")])
def test_grouped_rules_keep_each_group_on_one_side(corpus, tmp_path, rule, column):
    db, tables = corpus
    meta = _dense(db, tmp_path, max_nodes=50, split_by=rule)
    graphs = _graph_table(tables)
    side = _sides(tmp_path / "splits.json")
    assert set(side) == set(graphs.index)
    groups = _groups_never_on_two_sides(side, graphs[column])
    counts = meta["splits"]["counts"]
    assert counts["train"] >= counts["val"] and counts["train"] >= counts["test"]
    if groups >= 3:  # enough groups for three sides: each gets one
        assert min(counts.values()) > 0
    if rule == "arch":
        assert meta["splits"]["leakage"]["val"]["sharing_with_train"] == 0
        assert meta["splits"]["leakage"]["test"]["sharing_with_train"] == 0


def test_split_by_arch_also_keeps_architecture_views_together(corpus, tmp_path):
    """Graphs sharing the architecture view's hash (other exporter, plumbing) never straddle sides either."""
    db, tables = corpus
    _dense(db, tmp_path, max_nodes=50, split_by="arch")
    graphs = _graph_table(tables)
    side = _sides(tmp_path / "splits.json")
    with_arch = {g: s for g, s in side.items() if graphs.at[g, "graph_id_arch"]}
    assert with_arch, "the extraction writes graph_id_arch"
    _groups_never_on_two_sides(with_arch, graphs["graph_id_arch"])


def test_architecture_key_links_both_hashes():
    from younger_graph.export.splits import architecture_key

    keys = pd.DataFrame({"graph_id_noattr": ["n2", "n1", "n1", "n3", "n4", "n5"],
                         "graph_id_arch": ["a1", "a1", "a2", "a2", "", "a9"]})
    # n2-a1-n1-a2-n3 is one chain of shared hashes; n4 (no arch hash) and n5 stand alone
    assert list(architecture_key(keys)) == ["n1", "n1", "n1", "n1", "n4", "n5"]
    assert list(architecture_key(keys.drop(columns="graph_id_arch"))) == list(keys["graph_id_noattr"])


def test_grouped_splits_are_deterministic_in_the_seed(corpus, tmp_path):
    db, _ = corpus
    _dense(db, tmp_path / "a", max_nodes=50, split_by="arch", seed=1)
    _dense(db, tmp_path / "b", max_nodes=50, split_by="arch", seed=1)
    _dense(db, tmp_path / "c", max_nodes=50, split_by="arch", seed=2)
    assert _sides(tmp_path / "a" / "splits.json") == _sides(tmp_path / "b" / "splits.json")
    assert _sides(tmp_path / "a" / "splits.json") != _sides(tmp_path / "c" / "splits.json")


def test_split_by_size_trains_small_and_tests_large(corpus, tmp_path):
    db, tables = corpus
    _dense(db, tmp_path, max_nodes=50, split_by="size")
    size = _graph_table(tables)["num_nodes"]
    side = _sides(tmp_path / "splits.json")
    by = {s: [size[g] for g, x in side.items() if x == s] for s in SPLITS}
    assert max(by["train"]) <= min(by["val"]) <= max(by["val"]) <= min(by["test"])
    assert len(by["train"]) == round(0.8 * len(side))


def test_pyg_export_splits_by_arch_and_reuses_a_frozen_file(corpus, tmp_path):
    pytest.importorskip("torch_geometric")
    db, tables = corpus
    graphs = _graph_table(tables)
    with open_store(db) as store:
        meta = yg.export_pyg(store, tmp_path / "arch", yg.PygOptions(task="link", view="noattrs", split_by="arch",
                                                                     keep_unseen=True))
    side = _sides(tmp_path / "arch" / "splits.json")
    _groups_never_on_two_sides(side, graphs["graph_id_noattr"])
    assert meta["splits"]["leakage"]["test"]["sharing_with_train"] == 0
    train = yg.YoungerDataset(tmp_path / "arch", split="train")
    assert sorted(d.graph_id for d in train) == sorted(g for g, s in side.items() if s == "train")
    # the same split, frozen, for a dense export and another pyg export
    _dense(db, tmp_path / "dense", max_nodes=50, splits=str(tmp_path / "arch" / "splits.json"))
    assert _sides(tmp_path / "dense" / "splits.json") == side
    with open_store(db) as store:
        again = yg.export_pyg(store, tmp_path / "again", yg.PygOptions(task="graph", target="task", view="noattrs",
                                                                       splits=str(tmp_path / "arch" / "splits.json"),
                                                                       keep_unseen=True))
    assert _sides(tmp_path / "again" / "splits.json") == side
    assert again["splits"]["rule"] == "frozen" and again["splits"]["frozen_rule"] == "arch"


def test_operator_task_keeps_each_architecture_on_one_side(corpus, tmp_path):
    pytest.importorskip("torch_geometric")
    db, tables = corpus
    with open_store(db, write=True) as store:
        yg.compute_communities(store, "cnm")
    with open_store(db) as store:
        yg.export_pyg(store, tmp_path, yg.PygOptions(task="operator", method="cnm", view="noattrs", split_by="arch",
                                                     keep_unseen=True))
    doc = json.loads((tmp_path / "splits.json").read_text())
    assert doc["unit"] == "community"
    noattr = _graph_table(tables)["graph_id_noattr"]
    sides: dict[str, set[str]] = {}
    for split in SPLITS:
        for community in doc["splits"][split]:
            sides.setdefault(noattr[community.split(":")[0]], set()).add(split)
    assert sides and all(len(s) == 1 for s in sides.values())


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "younger_graph.cli", *args], capture_output=True, text=True,
                          env=cli_env(), timeout=300)


def test_bad_rules_and_frozen_files_are_one_line_errors(corpus, tmp_path):
    db, _ = corpus
    with pytest.raises(ExportError, match="no property 'no_such_column'"):
        _dense(db, tmp_path / "x", split_by="no_such_column")
    with pytest.raises(ExportError, match="--split-by must be"):
        _dense(db, tmp_path / "x", split_by="task; DROP")
    _dense(db, tmp_path / "ok", max_nodes=50)
    doc = json.loads((tmp_path / "ok" / "splits.json").read_text())
    doc["splits"]["test"].append("0" * 32)
    (tmp_path / "bad.json").write_text(json.dumps(doc))
    with pytest.raises(ExportError, match="not in the store"):
        _dense(db, tmp_path / "x", splits=str(tmp_path / "bad.json"))
    for args, words in ((("--split-by", "no_such_column"), "no property"),
                        (("--splits", str(tmp_path / "bad.json")), "not in the store")):
        done = _cli("export", "dense", "--db", str(db), "--out", str(tmp_path / "cli"), *args)
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        assert done.returncode == 2 and len(lines) == 1 and words in lines[0], done.stderr


@pytest.mark.neo4j
def test_neo4j_gives_the_same_splits_files_and_check(corpus, tmp_path):
    """Splits (metadata read whole through read_graph_models), to-onnx (read_flow_types) and
    check-generated on Neo4j equal the embedded store's."""
    from neo4j_env import loaded_store

    db, tables = corpus
    outputs = {}
    gen = loaded_store(tables)
    neo = next(gen)
    try:
        with open_store(db) as embedded:
            for name, store in (("embedded", embedded), ("neo4j", neo)):
                out = tmp_path / name
                yg.export_dense(store, out / "dense", yg.DenseOptions(max_nodes=50, split_by="dataset"))
                summary = yg.export_onnx(store, out / "onnx")
                doc = yg.check_generated(store, out / "dense" / "dense.npz", details=True)
                outputs[name] = (_sides(out / "dense" / "splits.json"),
                                 sorted((r.graph_id, r.exact, r.checker) for r in summary.graphs),
                                 {k: v for k, v in doc.items() if k != "samples"})
    finally:
        next(gen, None)
    assert outputs["embedded"] == outputs["neo4j"]
    assert all(exact and checker == "ok" for _, exact, checker in outputs["neo4j"][1])
    for gid in outputs["neo4j"][1]:
        a = (tmp_path / "embedded" / "onnx" / f"{gid[0]}.onnx").read_bytes()
        assert a == (tmp_path / "neo4j" / "onnx" / f"{gid[0]}.onnx").read_bytes()
