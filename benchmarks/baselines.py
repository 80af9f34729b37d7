"""The Younger paper's GNN baselines on an exported dataset: link prediction and operator prediction.

Usage:
    python benchmarks/baselines.py --dataset DIR --task link     --model gcn|gat|sage [--epochs 5] [--json OUT]
    python benchmarks/baselines.py --db DB       --task operator --model gcn|sage     [--device cuda]

`--dataset` is a folder written by `younger-graph export pyg --task link|operator`; with `--db` the
store is exported into a temporary folder first (`--view`, `--split`, `--seed`, `--keep-unseen` as in
`export pyg`; the operator task needs `younger-graph communities --db DB --method cnm` beforehand).

Models: an embedding of each node's token (vocab.json), `--layers` graph convolutions (GCNConv,
GATv2Conv or SAGEConv; ReLU, dropout) over the flows taken as undirected, then

- `link`: a dot-product decoder, score(u, v) = <z_u, z_v>, trained with binary cross-entropy.
  Training: per batch, `--hide` of each graph's distinct flows (u, v) are hidden from the encoder and
  scored as positives, against negatives from `batched_negative_sampling` (non-flows of the same
  graph). Evaluation on the held-out val/test graphs (never seen in training): per graph, the same
  fraction of its distinct flows is hidden (chosen with a generator seeded by `--seed` and the
  graph id, as the export's negatives are), the encoder sees the rest, and the hidden flows are
  scored against as many of the export's stored `neg_edge_index` pairs. Metrics: ROC-AUC, average
  precision, F1 at probability 0.5.
- `operator`: a linear classifier over the vocabulary on each node; the loss and the metrics count
  only the boundary nodes (`y != -100`, their tokens are `<mask>` in x). Metrics on the val/test
  items: accuracy, macro F1, macro precision, macro recall (over the classes present in the truth or
  the predictions; scikit-learn, zero_division=0).

Adam, `--lr 1e-3`, `--hidden 128`, `--layers 2`, `--dropout 0.1`, `--batch-size 32` graphs,
`--weight-decay 0`: paper-like defaults (the paper's exact settings are not reproduced here). The
epoch with the best validation score (AUC for link, macro F1 for operator; the last epoch when
there is no validation data) gives the reported test metrics; every epoch's loss and validation
metrics are in the JSON (`--json OUT`).
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import random
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    f1_score,
    precision_recall_fscore_support,
    roc_auc_score,
)
from torch import nn
from torch_geometric.data import Data
from torch_geometric.loader import DataLoader
from torch_geometric.nn import GATv2Conv, GCNConv, SAGEConv
from torch_geometric.utils import batched_negative_sampling, coalesce, to_undirected

from younger_graph.datasets import SPLITS, YoungerDataset, export_pyg
from younger_graph.export.builder import IGNORE_INDEX
from younger_graph.export.items import graph_rng
from younger_graph.export.raw import PygOptions

TASKS = ("link", "operator")
MODELS = ("gcn", "gat", "sage")


@dataclass
class Config:
    task: str = "link"
    model: str = "gcn"
    epochs: int = 5
    hidden: int = 128
    layers: int = 2
    dropout: float = 0.1
    lr: float = 1e-3
    weight_decay: float = 0.0
    batch_size: int = 32
    hide: float = 0.2  # link: fraction of each graph's distinct flows hidden from the encoder and scored
    seed: int = 1234
    device: str = "cpu"


# -- data ---------------------------------------------------------------------------------------------
def load_splits(dataset: str | Path) -> dict[str, YoungerDataset]:
    return {s: YoungerDataset(dataset, split=s, log=False) for s in SPLITS}


def export_dataset(db: str | Path, out: str | Path, task: str, view: str = "noattrs", seed: int = 1234,
                   split: tuple[float, float, float] = (8.0, 1.0, 1.0), keep_unseen: bool = False) -> dict[str, Any]:
    """Export the store `db` as a `task` dataset into `out` (what `younger-graph export pyg` does)."""
    from younger_graph.store import open_store

    with open_store(db) as store:
        return export_pyg(store, out, PygOptions(task=task, view=view, seed=seed, split=split,
                                                 keep_unseen=keep_unseen))


def _distinct_edges(edge_index: torch.Tensor, num_nodes: int) -> torch.Tensor:
    """Distinct (u, v) flows without self-loops: parallel flows collapse."""
    ei = coalesce(edge_index, num_nodes=num_nodes)
    return ei[:, ei[0] != ei[1]]


def link_eval_item(data: Data, hide: float, seed: int) -> Data:
    """A held-out graph prepared for scoring: `edge_index` = the flows the encoder sees, `pos_edge_index`
    = the hidden flows, `neg_edge_index` = as many of the export's negatives (deterministic per graph)."""
    n = int(data.num_nodes)
    edges = _distinct_edges(data.edge_index, n)
    rng = graph_rng(seed, data.graph_id)
    m = edges.size(1)
    k = min(m, max(1, math.ceil(hide * m))) if m else 0
    order = torch.from_numpy(rng.permutation(m))
    pos, msg = edges[:, order[:k]], edges[:, order[k:]]
    neg_all = data.neg_edge_index
    neg = neg_all[:, torch.from_numpy(rng.permutation(neg_all.size(1))[:k])]
    return Data(x=data.x, edge_index=msg, pos_edge_index=pos, neg_edge_index=neg, graph_id=data.graph_id,
                num_nodes=n)


# -- models ---------------------------------------------------------------------------------------------
class Encoder(nn.Module):
    def __init__(self, num_tokens: int, hidden: int, layers: int, model: str, dropout: float) -> None:
        super().__init__()
        if model not in MODELS:
            raise ValueError(f"model must be one of {', '.join(MODELS)}, not {model!r}")
        self.embed = nn.Embedding(num_tokens, hidden)
        conv = {"gcn": lambda: GCNConv(hidden, hidden),
                "gat": lambda: GATv2Conv(hidden, hidden, heads=1),
                "sage": lambda: SAGEConv(hidden, hidden)}[model]
        self.convs = nn.ModuleList(conv() for _ in range(layers))
        self.dropout = dropout

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        h = self.embed(x)
        edge_index = to_undirected(edge_index, num_nodes=x.size(0))
        for i, conv in enumerate(self.convs):
            h = conv(h, edge_index)
            if i < len(self.convs) - 1:
                h = F.dropout(F.relu(h), p=self.dropout, training=self.training)
        return h


class LinkModel(nn.Module):
    def __init__(self, num_tokens: int, cfg: Config) -> None:
        super().__init__()
        self.encoder = Encoder(num_tokens, cfg.hidden, cfg.layers, cfg.model, cfg.dropout)

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor, pairs: torch.Tensor) -> torch.Tensor:
        z = self.encoder(x, edge_index)
        return (z[pairs[0]] * z[pairs[1]]).sum(-1)  # dot-product decoder (logits)


class OperatorModel(nn.Module):
    def __init__(self, num_tokens: int, cfg: Config) -> None:
        super().__init__()
        self.encoder = Encoder(num_tokens, cfg.hidden, cfg.layers, cfg.model, cfg.dropout)
        self.head = nn.Linear(cfg.hidden, num_tokens)

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        return self.head(F.relu(self.encoder(x, edge_index)))


# -- metrics --------------------------------------------------------------------------------------------
def link_metrics(scores: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    out: dict[str, Any] = {"positives": int(labels.sum()), "negatives": int(len(labels) - labels.sum()),
                           "edges": len(labels)}
    if out["positives"] and out["negatives"]:
        prob = 1.0 / (1.0 + np.exp(-scores))
        out.update(auc=float(roc_auc_score(labels, scores)), ap=float(average_precision_score(labels, scores)),
                   f1=float(f1_score(labels, prob >= 0.5, zero_division=0)))
    else:
        out.update(auc=None, ap=None, f1=None)
    return out


def operator_metrics(pred: np.ndarray, true: np.ndarray) -> dict[str, Any]:
    out: dict[str, Any] = {"nodes": len(true)}
    if len(true):
        p, r, f, _ = precision_recall_fscore_support(true, pred, average="macro", zero_division=0)
        out.update(acc=float(accuracy_score(true, pred)), f1=float(f), precision=float(p), recall=float(r))
    else:
        out.update(acc=None, f1=None, precision=None, recall=None)
    return out


# -- training and evaluation ---------------------------------------------------------------------------
def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _link_step(model: LinkModel, batch: Data, hide: float) -> torch.Tensor:
    edges = _distinct_edges(batch.edge_index, batch.num_nodes)
    hidden = torch.rand(edges.size(1), device=edges.device) < hide
    if not bool(hidden.any()):
        hidden[torch.randint(edges.size(1), (1,), device=edges.device)] = True
    pos, msg = edges[:, hidden], edges[:, ~hidden]
    per_graph = max(1, pos.size(1) // batch.num_graphs)
    neg = batched_negative_sampling(batch.edge_index, batch.batch, num_neg_samples=per_graph)
    logits = model(batch.x, msg, torch.cat([pos, neg], dim=1))
    lp, ln = logits[: pos.size(1)], logits[pos.size(1):]
    loss = F.binary_cross_entropy_with_logits(lp, torch.ones_like(lp))
    if ln.numel():
        loss = loss + F.binary_cross_entropy_with_logits(ln, torch.zeros_like(ln))
    return loss


@torch.no_grad()
def evaluate_link(model: LinkModel, items: list[Data], device: str, batch_size: int = 32) -> dict[str, Any]:
    model.eval()
    scores, labels = [], []
    for batch in DataLoader(items, batch_size=batch_size):
        batch = batch.to(device)
        pairs = torch.cat([batch.pos_edge_index, batch.neg_edge_index], dim=1)
        scores.append(model(batch.x, batch.edge_index, pairs).cpu().numpy())
        labels.append(np.r_[np.ones(batch.pos_edge_index.size(1)), np.zeros(batch.neg_edge_index.size(1))])
    result = link_metrics(np.concatenate(scores) if scores else np.zeros(0),
                          np.concatenate(labels) if labels else np.zeros(0))
    result["graphs"] = [d.graph_id for d in items]
    return result


@torch.no_grad()
def evaluate_operator(model: OperatorModel, items: Any, device: str, batch_size: int = 32) -> dict[str, Any]:
    model.eval()
    preds, trues = [], []
    for batch in DataLoader(items, batch_size=batch_size):
        batch = batch.to(device)
        mask = batch.y != IGNORE_INDEX
        preds.append(model(batch.x, batch.edge_index)[mask].argmax(-1).cpu().numpy())
        trues.append(batch.y[mask].cpu().numpy())
    result = operator_metrics(np.concatenate(preds) if preds else np.zeros(0, np.int64),
                              np.concatenate(trues) if trues else np.zeros(0, np.int64))
    result["graphs"] = sorted({d.graph_id for d in items})
    result["items"] = len(items)
    return result


def train(splits: dict[str, Any], cfg: Config, log: Any = None) -> dict[str, Any]:
    """Train on splits["train"], select the epoch on "val", report "val" and "test"; returns the result dict."""
    if cfg.task not in TASKS:
        raise ValueError(f"task must be one of {', '.join(TASKS)}, not {cfg.task!r}")
    seed_everything(cfg.seed)
    device = cfg.device
    num_tokens = splits["train"].num_tokens
    link = cfg.task == "link"
    model: nn.Module = (LinkModel if link else OperatorModel)(num_tokens, cfg).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    if link:
        held = {s: [link_eval_item(d, cfg.hide, cfg.seed) for d in splits[s]] for s in ("val", "test")}
        evaluate, key = (lambda s: evaluate_link(model, held[s], device, cfg.batch_size)), "auc"  # type: ignore[arg-type]
    else:
        evaluate, key = (lambda s: evaluate_operator(model, splits[s], device, cfg.batch_size)), "f1"  # type: ignore[arg-type]
    loader = DataLoader(splits["train"], batch_size=cfg.batch_size, shuffle=True)
    history, best, best_state, best_epoch = [], -1.0, None, 0
    start = time.perf_counter()
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        total, batches = 0.0, 0
        for batch in loader:
            batch = batch.to(device)
            opt.zero_grad()
            if link:
                loss = _link_step(model, batch, cfg.hide)  # type: ignore[arg-type]
            else:
                loss = F.cross_entropy(model(batch.x, batch.edge_index), batch.y, ignore_index=IGNORE_INDEX)
            loss.backward()
            opt.step()
            total, batches = total + loss.item(), batches + 1
        val = evaluate("val")
        score = val[key] if val[key] is not None else -1.0
        history.append({"epoch": epoch, "loss": total / max(batches, 1),
                        "val": {k: v for k, v in val.items() if k != "graphs"}})
        if log:
            log(f"epoch {epoch:3d}  loss {total / max(batches, 1):.4f}  val {key} {val[key]}")
        if score >= best:
            best, best_state, best_epoch = score, copy.deepcopy(model.state_dict()), epoch
    seconds = time.perf_counter() - start
    if best_state is not None:
        model.load_state_dict(best_state)
    return {"config": asdict(cfg), "num_tokens": num_tokens, "best_epoch": best_epoch, "train_seconds": seconds,
            "train_graphs": sorted({d.graph_id for d in splits["train"]}), "train_items": len(splits["train"]),
            "val": evaluate("val"), "test": evaluate("test"), "history": history}


# -- command line ---------------------------------------------------------------------------------------
def _summary(result: dict[str, Any]) -> str:
    cfg = result["config"]
    keys = ("auc", "ap", "f1") if cfg["task"] == "link" else ("acc", "f1", "precision", "recall")
    fmt = lambda v: "-" if v is None else f"{v:.4f}"  # noqa: E731
    lines = [f"{cfg['task']} / {cfg['model']}: {cfg['epochs']} epochs in {result['train_seconds']:.1f} s "
             f"(best epoch {result['best_epoch']}, {result['train_items']} training items)"]
    for split in ("val", "test"):
        m = result[split]
        size = f"{m['edges']} edges" if cfg["task"] == "link" else f"{m['nodes']} boundary nodes"
        lines.append(f"  {split:5s} " + "  ".join(f"{k} {fmt(m[k])}" for k in keys) + f"   ({size})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--dataset", type=Path, help="an `export pyg` folder (task link or operator)")
    src.add_argument("--db", type=Path, help="a store: exported into a temporary folder first")
    p.add_argument("--task", choices=TASKS, default="link")
    p.add_argument("--model", choices=MODELS, default="gcn")
    d = Config()
    for name in ("epochs", "hidden", "layers", "batch_size"):
        p.add_argument(f"--{name.replace('_', '-')}", type=int, default=getattr(d, name))
    for name in ("lr", "weight_decay", "dropout", "hide"):
        p.add_argument(f"--{name.replace('_', '-')}", type=float, default=getattr(d, name))
    p.add_argument("--device", default="cpu", help="cpu | cuda | cuda:N")
    p.add_argument("--seed", type=int, default=1234, help="training seed, and the export's split seed with --db")
    p.add_argument("--view", choices=("noattrs", "attrs"), default="noattrs", help="--db: token view of the export")
    p.add_argument("--split", default="8:1:1", help="--db: split ratios of the export")
    p.add_argument("--keep-unseen", action="store_true", help="--db: keep val/test items with unseen tokens")
    p.add_argument("--json", type=Path, help="write the result here")
    a = p.parse_args(argv)
    if a.device.startswith("cuda") and not torch.cuda.is_available():
        p.error("--device cuda: torch sees no CUDA device")
    cfg = Config(task=a.task, model=a.model, epochs=a.epochs, hidden=a.hidden, layers=a.layers, dropout=a.dropout,
                 lr=a.lr, weight_decay=a.weight_decay, batch_size=a.batch_size, hide=a.hide, seed=a.seed,
                 device=a.device)
    with tempfile.TemporaryDirectory(prefix="younger-baselines-") as tmp:
        dataset = a.dataset
        if dataset is None:
            split = tuple(float(x) for x in a.split.split(":"))
            export_dataset(a.db, tmp, a.task, view=a.view, seed=a.seed, split=split,  # type: ignore[arg-type]
                           keep_unseen=a.keep_unseen)
            dataset = Path(tmp)
        splits = load_splits(dataset)
        task = splits["train"].meta["task"]
        if task != a.task:
            p.error(f"{dataset} is a {task!r} export, not {a.task!r}")
        result = train(splits, cfg, log=lambda line: print(line, file=sys.stderr))
        result["dataset"] = str(a.dataset) if a.dataset else f"exported from {a.db}"
        result["counts"] = splits["train"].meta.get("counts")
    print(_summary(result))
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
