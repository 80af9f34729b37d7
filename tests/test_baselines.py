"""benchmarks/baselines.py on the shipped sample: one short epoch of each model, metrics on held-out data only."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest

# Before torch loads OpenMP (benchmarks/baselines.py says why): tests share a busy machine.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

pytest.importorskip("torch_geometric")
pytest.importorskip("sklearn")

import torch

from younger_graph.communities import compute_communities
from younger_graph.extract import extract
from younger_graph.store import open_store

ROOT = Path(__file__).resolve().parent.parent


def _load_baselines() -> ModuleType:
    spec = importlib.util.spec_from_file_location("younger_baselines", ROOT / "benchmarks" / "baselines.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module


bl = _load_baselines()


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("baselines") / "tables"
    summary = extract([ROOT / "sample"], out, workers=1)
    assert summary.ok >= 30
    return out


@pytest.fixture(scope="module")
def db(tables: Path) -> Path:
    path = tables.parent / "store.db"
    with open_store(path, write=True) as store:
        store.load(tables)
        compute_communities(store, "cnm")
    return path


@pytest.fixture(scope="module")
def db_without_communities(tables: Path) -> Path:
    path = tables.parent / "plain.db"
    with open_store(path, write=True) as store:
        store.load(tables)
    return path


@pytest.fixture(scope="module")
def link_splits(db: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("link")
    meta = bl.export_dataset(db, out, "link")
    assert meta["counts"]["items"]["val"] + meta["counts"]["items"]["test"] > 0
    return bl.load_splits(out)


@pytest.fixture(scope="module")
def operator_splits(db: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("operator")
    bl.export_dataset(db, out, "operator")
    return bl.load_splits(out)


def _expected_edges(split: list, hide: float) -> int:
    """Held-out positives (the hidden distinct flows) + as many stored negatives, summed over the graphs."""
    total = 0
    for d in split:
        pairs = {(u, v) for u, v in d.edge_index.t().tolist() if u != v}
        k = min(len(pairs), max(1, math.ceil(hide * len(pairs)))) if pairs else 0
        total += k + min(k, d.neg_edge_index.size(1))
    return total


def _check_disjoint(result: dict) -> None:
    train = set(result["train_graphs"])
    assert train
    for split in ("val", "test"):
        assert not train & set(result[split]["graphs"]), f"{split} graphs were trained on"
    assert not set(result["val"]["graphs"]) & set(result["test"]["graphs"])


@pytest.mark.parametrize("model", ["gcn", "gat", "sage"])
def test_link_one_epoch_scores_held_out_graphs(model: str, link_splits: dict) -> None:
    cfg = bl.Config(task="link", model=model, epochs=1, hidden=32)
    result = bl.train(link_splits, cfg)
    _check_disjoint(result)
    assert len(result["history"]) == 1 and math.isfinite(result["history"][0]["loss"])
    for split in ("val", "test"):
        m = result[split]
        held = list(link_splits[split])
        assert m["graphs"] == [d.graph_id for d in held]
        assert m["edges"] == m["positives"] + m["negatives"] == _expected_edges(held, cfg.hide)
        if held:
            assert m["positives"] > 0 and m["negatives"] > 0
            for key in ("auc", "ap", "f1"):
                assert m[key] is not None and 0.0 <= m[key] <= 1.0, (split, key, m[key])


def test_link_eval_item_hides_what_it_scores(link_splits: dict) -> None:
    held = [*link_splits["val"], *link_splits["test"]]
    assert held
    for d in held:
        item = bl.link_eval_item(d, 0.2, 1234)
        seen = set(map(tuple, item.edge_index.t().tolist()))
        scored = set(map(tuple, item.pos_edge_index.t().tolist()))
        flows = set(map(tuple, d.edge_index.t().tolist()))
        assert scored and scored <= flows and not scored & seen  # the encoder never sees a scored flow
        assert not set(map(tuple, item.neg_edge_index.t().tolist())) & flows
        again = bl.link_eval_item(d, 0.2, 1234)  # deterministic per graph
        assert torch.equal(again.pos_edge_index, item.pos_edge_index)


@pytest.mark.parametrize("model", ["gcn", "sage"])
def test_operator_one_epoch(model: str, operator_splits: dict) -> None:
    result = bl.train(operator_splits, bl.Config(task="operator", model=model, epochs=1, hidden=32))
    for split in ("val", "test"):
        m = result[split]
        items = operator_splits[split]
        assert m["items"] == len(items)
        assert m["nodes"] == sum(int(d.boundary_mask.sum()) for d in items)
        if m["nodes"]:
            for key in ("acc", "f1", "precision", "recall"):
                assert 0.0 <= m[key] <= 1.0
    train_keys = {d.community_id for d in operator_splits["train"]}
    held_keys = {d.community_id for s in ("val", "test") for d in operator_splits[s]}
    assert not train_keys & held_keys


def test_command_line_writes_json(link_splits: dict, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    assert bl.main(["--dataset", link_splits["train"].root, "--task", "link", "--model", "sage", "--epochs", "1",
                    "--hidden", "16", "--json", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["config"]["model"] == "sage" and doc["test"]["edges"] > 0


@pytest.mark.parametrize("model", ["gae", "vgae", "mlp"])
def test_autoencoders_and_the_no_message_passing_control_run(model: str, link_splits: dict) -> None:
    result = bl.train(link_splits, bl.Config(task="link", model=model, epochs=1, hidden=16))
    assert result["test"]["edges"] > 0 and 0.0 <= result["test"]["auc"] <= 1.0
    assert math.isfinite(result["history"][0]["loss"])


def test_the_decoder_starts_at_probability_one_half(link_splits: dict) -> None:
    cfg = bl.Config(task="link", model="gcn", hidden=16).check()
    model = bl.LinkModel(link_splits["train"].num_tokens, cfg)
    item = bl.link_eval_item(link_splits["test"][0], 0.2, 1234)
    pairs = torch.cat([item.pos_edge_index, item.neg_edge_index], dim=1)
    assert torch.equal(model(item.x, item.edge_index, pairs), torch.zeros(pairs.size(1)))


def test_the_paper_preset_holds_the_younger_settings() -> None:
    link = bl.preset_config("paper", "link", "gcn")
    assert (link.embed, link.hidden, link.out, link.lr, link.weight_decay, link.dropout) == (1024, 512, 256, 1e-4,
                                                                                            5e-5, 0.5)
    assert (link.decoder, link.batch_size, link.direction, link.degrees) == ("dot", 1, "directed", False)
    assert bl.preset_config("paper", "link", "gat").lr == 1e-3
    op = bl.preset_config("paper", "operator", "sage", epochs=3)
    assert (op.embed, op.hidden, op.lr, op.batch_size, op.epochs) == (1024, 512, 1e-3, 512, 3)


def test_a_short_run_beats_the_shuffled_label_control(link_splits: dict, operator_splits: dict) -> None:
    """A broken export (tokens or flows scrambled, targets misaligned) cannot pass: a short seeded run must
    beat the same run trained on shuffled labels, on held-out graphs. Deterministic (seeded, CPU)."""
    link = dict(task="link", model="gcn", epochs=6, hidden=32, layers=2, batch_size=8, lr=1e-2,
                patience=0)
    real = bl.train(link_splits, bl.Config(**link))
    control = bl.train(link_splits, bl.Config(**link, shuffle_labels=True))
    for split in ("val", "test"):
        assert real[split]["auc"] > control[split]["auc"] + 0.1, (split, real[split], control[split])
    op = dict(task="operator", model="sage", epochs=10, hidden=32, layers=2, batch_size=8, lr=1e-2, patience=0)
    real = bl.train(operator_splits, bl.Config(**op))
    control = bl.train(operator_splits, bl.Config(**op, shuffle_labels=True))
    assert real["test"]["acc"] > control["test"]["acc"] + 0.1, (real["test"], control["test"])
    assert real["test"]["acc"] > real["controls"]["majority"]["test"]["acc"] + 0.1


def _one_line_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert bl.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err, err
    return err


def test_bad_input_is_one_line(link_splits: dict, db_without_communities: Path, tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    link_dir = str(link_splits["train"].root)
    assert "'link' export, not 'operator'" in _one_line_error(["--dataset", link_dir, "--task", "operator"], capsys)
    err = _one_line_error(["--db", str(db_without_communities), "--task", "operator"], capsys)
    assert "younger-graph communities" in err
    err = _one_line_error(["--db", str(db_without_communities), "--split", "1:0:0", "--epochs", "1"], capsys)
    assert "split" in err and "empty" in err
    assert "not a dataset folder" in _one_line_error(["--dataset", str(tmp_path)], capsys)
    assert "link autoencoder" in _one_line_error(["--dataset", link_dir, "--task", "operator", "--model", "gae"],
                                                 capsys)
    if not torch.cuda.is_available():
        assert "CUDA" in _one_line_error(["--dataset", link_dir, "--device", "cuda"], capsys)
    with pytest.raises(SystemExit) as exit_info:  # argparse's own usage errors: one line too
        bl.main(["--dataset", link_dir, "--hide", "lots"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err
