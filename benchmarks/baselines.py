"""The Younger paper's GNN baselines on an exported dataset: link prediction and operator prediction.

Usage:
    python benchmarks/baselines.py --dataset DIR --task link     --model gcn|gat|sage|gae|vgae|mlp [--json OUT]
    python benchmarks/baselines.py --db DB       --task operator --model gcn|gat|sage|mlp [--device cuda]
    python benchmarks/baselines.py ... --preset paper          # the Younger code's hyperparameters
    python benchmarks/baselines.py ... --shuffle-labels        # the control: the same run on shuffled labels

`--dataset` is a folder written by `younger-graph export pyg --task link|operator`; with `--db` the
store is exported into a temporary folder first (`--view`, `--split`, `--seed`, `--keep-unseen` as in
`export pyg`; the operator task needs `younger-graph communities --db DB --method cnm` beforehand).

Model: each node's token (vocab.json) embedded, plus embeddings of its in- and out-degree in the
graph the encoder sees (`--no-degrees` drops them), then `--layers` graph convolutions (GCNConv,
GATConv, SAGEConv; `mlp` uses plain linear layers: no message passing, the control) over the flows
taken as undirected (`--direction directed`: along the flows only), ReLU and dropout between them.

- `link`: hidden flows are scored against non-flows of the same graph. Training: per batch, `--hide`
  of each graph's distinct flows are hidden from the encoder and scored as positives against as
  many uniformly sampled non-flows (`batched_negative_sampling`). Evaluation on the held-out val/test
  graphs only: per graph the same fraction of its distinct flows is hidden (a generator seeded by
  `--seed` and the graph id), the encoder sees the rest, the hidden flows are scored against as many
  of the export's stored `neg_edge_index` pairs. The decoder (`--decoder mlp`) is an MLP over
  [z_u, z_v, z_u * z_v] whose last layer starts at zero, so every pair starts at probability 0.5;
  `dot` is the paper's <z_u, z_v>. `gae` is a GCN encoder with the dot decoder (PyG's GAE),
  `vgae` its variational twin (mean / log-std convolutions, KL term weighted `--kl-weight` / nodes).
  `--protocol visible` is the Younger code's protocol, where the encoder also sees the flows it
  scores (kept to compare with the paper's figures; it leaks the answer).
- `operator`: a linear classifier over the vocabulary on each node; the loss and the metrics count
  only the boundary nodes (`y != -100`, their tokens are `<mask>` in x).

Metrics: `younger_graph.evaluate.LinkEvaluator` (ROC-AUC, average precision, F1 at probability 0.5)
and `OperatorEvaluator` (accuracy, macro F1 / precision / recall), over all held-out pairs / nodes
of a split. The operator result also reports the majority-class control (the most frequent
training target predicted everywhere).

Recipe (`--preset default`): Adam, `--lr 3e-3` with a linear warm-up over the first 5% of the step
budget then cosine decay to 5% of it, `--epochs 30` at most with early stopping when the validation
score (AUC for link, accuracy for operator) has not improved for `--patience 8` epochs, the best
epoch's weights restored; mini-batches of `--batch-size` graphs (link, 8) or items (operator, 64).
`--preset paper` takes the Younger code's settings (docs/baselines.md quotes them). Every epoch's
loss and validation metrics, the wall time, peak memory and load average are in the JSON (`--json`).
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import random
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from itertools import pairwise
from pathlib import Path
from typing import Any

# Before torch loads OpenMP: idle OpenMP threads sleep instead of spinning. On a shared, oversubscribed
# machine spinning threads made a 2-thread run 10-20x slower than a 1-thread one (measured: 2 epochs on
# the sample, 22-30 s vs 1.5-3 s at load average 17; 0.3-0.6 s for both with PASSIVE).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.data import Data
from torch_geometric.loader import DataLoader
from torch_geometric.nn import GATConv, GCNConv, SAGEConv
from torch_geometric.utils import batched_negative_sampling, coalesce, degree, to_undirected

from younger_graph.atomic import atomic_path, write_text
from younger_graph.datasets import SPLITS, YoungerDataset, export_pyg
from younger_graph.errors import UsageError, YoungerGraphError, first_line
from younger_graph.evaluate import IGNORE_INDEX, LinkEvaluator, OperatorEvaluator
from younger_graph.export.items import graph_rng
from younger_graph.export.raw import PygOptions

TASKS = ("link", "operator")
MODELS = ("gcn", "gat", "sage", "gae", "vgae", "mlp")
LINK_ONLY = ("gae", "vgae")  # autoencoders: link reconstruction models
PRESETS = ("default", "paper")
MAX_DEGREE = 15  # degree embeddings: 0..15, larger degrees share the last row


@dataclass
class Config:
    task: str = "link"
    model: str = "gcn"
    preset: str = "default"
    epochs: int = 30  # at most: early stopping may end the run before
    patience: int = 8  # epochs without a better validation score before stopping (0: never stop early)
    embed: int = 0  # token embedding width (0: hidden)
    hidden: int = 128
    out: int = 0  # last layer width (0: hidden)
    layers: int = 3
    heads: int = 2  # gat
    dropout: float = 0.1
    lr: float = 3e-3
    weight_decay: float = 1e-5
    warmup: float = 0.05  # fraction of the step budget
    schedule: str = "cosine"  # cosine | constant
    batch_size: int = 0  # graphs (link) or items (operator) per step (0: 8 for link, 64 for operator)
    hide: float = 0.2  # link: fraction of each graph's distinct flows hidden from the encoder and scored
    decoder: str = "mlp"  # link: mlp | dot
    degrees: bool = True  # in/out-degree embeddings of the graph the encoder sees
    direction: str = "undirected"  # undirected | directed
    protocol: str = "hidden"  # link: hidden | visible (the Younger code's: the encoder sees the scored flows)
    kl_weight: float = 1.0  # vgae
    shuffle_labels: bool = False  # the control: training labels permuted within each batch
    time_limit: float = 0.0  # seconds of training at most (0: none); the best epoch so far is kept
    seed: int = 1234
    device: str = "cpu"
    threads: int = 2

    def check(self) -> Config:
        choices = {"task": TASKS, "model": MODELS, "preset": PRESETS, "schedule": ("cosine", "constant"),
                   "decoder": ("mlp", "dot"), "direction": ("undirected", "directed"),
                   "protocol": ("hidden", "visible")}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise UsageError(f"--{name} must be one of {', '.join(allowed)}, not {getattr(self, name)!r}")
        if self.task == "operator" and self.model in LINK_ONLY:
            raise UsageError(f"--model {self.model} is a link autoencoder: use it with --task link")
        if not 0 < self.hide < 1:
            raise UsageError("--hide must be a fraction between 0 and 1")
        if min(self.epochs, self.hidden, self.layers) < 1:
            raise UsageError("--epochs, --hidden and --layers must be at least 1")
        return self

    @property
    def steps_batch(self) -> int:
        return self.batch_size or (8 if self.task == "link" else 64)


# The Younger code's settings (github.com/Yangs-AI/Younger, younger/configuration_and_logs/ at commit
# ff7b266^, the task configs behind the paper's Tables 7 and 10): token embedding 1024, hidden 512,
# link output 256, dropout 0.5, Adam with weight decay 5e-5, lr 1e-4 (GCN, SAGE link) or 1e-3 (GAT
# link, every operator model), the dot-product decoder, messages along the flows, no LR schedule
# (StepLR is built but never stepped), batches of 1 graph for 6 epochs (link) and 512 items for 200
# epochs (operator); the best validation checkpoint is kept.
PAPER: dict[str, dict[str, Any]] = {
    "link": dict(embed=1024, hidden=512, out=256, layers=2, heads=8, dropout=0.5, lr=1e-4, weight_decay=5e-5,
                 warmup=0.0, schedule="constant", batch_size=1, epochs=6, patience=0, decoder="dot",
                 degrees=False, direction="directed", kl_weight=0.001),
    "operator": dict(embed=1024, hidden=512, out=512, layers=2, heads=8, dropout=0.5, lr=1e-3, weight_decay=5e-5,
                     warmup=0.0, schedule="constant", batch_size=512, epochs=200, patience=20, degrees=False,
                     direction="directed"),
}


def preset_config(preset: str, task: str, model: str, **overrides: Any) -> Config:
    """The preset's Config for (task, model), then `overrides` (None values ignored)."""
    base: dict[str, Any] = {"task": task, "model": model, "preset": preset}
    if preset == "paper":
        base.update(PAPER.get(task, {}))
        if task == "link" and model == "gat":
            base["lr"] = 1e-3
    elif preset not in PRESETS:
        raise UsageError(f"--preset must be one of {', '.join(PRESETS)}, not {preset!r}")
    base.update({k: v for k, v in overrides.items() if v is not None})
    return Config(**base).check()


# -- data ---------------------------------------------------------------------------------------------
def load_splits(dataset: str | Path) -> dict[str, YoungerDataset]:
    root = Path(dataset)
    if not (root / "meta.json").exists() and not (root / "raw" / "export.json").exists():
        raise UsageError(f"{root} is not a dataset folder: write one with `younger-graph export pyg --out {root}`")
    try:
        return {s: YoungerDataset(root, split=s, log=False) for s in SPLITS}
    except FileNotFoundError as exc:
        raise UsageError(f"{root} is not a readable dataset folder ({exc})") from None


def check_splits(splits: dict[str, Any], task: str) -> None:
    """The dataset answers `task` and every split has items: one sentence otherwise."""
    meta = splits["train"].meta
    if meta.get("task") != task:
        raise UsageError(f"{splits['train'].root} is a {meta.get('task')!r} export, not {task!r}: export it with "
                         f"`younger-graph export pyg --task {task}`")
    empty = [s for s in SPLITS if len(splits[s]) == 0]
    if empty:
        counts = ", ".join(f"{s} {len(splits[s])}" for s in SPLITS)
        raise UsageError(f"the {' and '.join(empty)} split{'s are' if len(empty) > 1 else ' is'} empty ({counts} "
                         "items): use a larger corpus, other --split ratios, --keep-unseen or --view noattrs")


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


def link_eval_item(data: Data, hide: float, seed: int, visible: bool = False) -> Data:
    """A held-out graph prepared for scoring: `edge_index` = the flows the encoder sees, `pos_edge_index`
    = the hidden flows, `neg_edge_index` = as many of the export's negatives (deterministic per graph).
    `visible`: the encoder sees the scored flows too (the Younger code's protocol)."""
    n = int(data.num_nodes)
    edges = _distinct_edges(data.edge_index, n)
    rng = graph_rng(seed, data.graph_id)
    m = edges.size(1)
    k = min(m, max(1, math.ceil(hide * m))) if m else 0
    order = torch.from_numpy(rng.permutation(m))
    pos, msg = edges[:, order[:k]], edges[:, order[k:]]
    neg_all = data.neg_edge_index
    neg = neg_all[:, torch.from_numpy(rng.permutation(neg_all.size(1))[:k])]
    return Data(x=data.x, edge_index=edges if visible else msg, pos_edge_index=pos, neg_edge_index=neg,
                graph_id=data.graph_id, num_nodes=n)


# -- models ---------------------------------------------------------------------------------------------
def _layer(model: str, d_in: int, d_out: int, heads: int) -> nn.Module:
    if model in ("gcn", "gae", "vgae"):
        return GCNConv(d_in, d_out)
    if model == "gat":
        return GATConv(d_in, d_out, heads=heads, concat=False)
    if model == "sage":
        return SAGEConv(d_in, d_out)
    return nn.Linear(d_in, d_out)  # mlp: no message passing


class Encoder(nn.Module):
    """Token (+ degree) embeddings, then `layers` convolutions; returns one vector per node."""

    def __init__(self, num_tokens: int, cfg: Config, variational: bool = False) -> None:
        super().__init__()
        embed, out = cfg.embed or cfg.hidden, cfg.out or cfg.hidden
        self.embed = nn.Embedding(num_tokens, embed)
        nn.init.normal_(self.embed.weight, std=embed ** -0.5)  # unit-norm rows: activations start O(1)
        self.degrees = cfg.degrees
        if cfg.degrees:
            self.in_degree = nn.Embedding(MAX_DEGREE + 1, embed)
            self.out_degree = nn.Embedding(MAX_DEGREE + 1, embed)
            for table in (self.in_degree, self.out_degree):
                nn.init.normal_(table.weight, std=embed ** -0.5)
        dims = [embed] + [cfg.hidden] * (cfg.layers - 1) + [out]
        self.message_passing = cfg.model != "mlp"
        self.convs = nn.ModuleList(_layer(cfg.model, a, b, cfg.heads) for a, b in pairwise(dims[:-1]))
        self.last = _layer(cfg.model, dims[-2], out, cfg.heads)
        self.logstd = _layer(cfg.model, dims[-2], out, cfg.heads) if variational else None
        self.dropout = cfg.dropout
        self.undirected = cfg.direction == "undirected"

    def features(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        h = self.embed(x)
        if self.degrees:
            n = x.size(0)
            din = degree(edge_index[1], n).long().clamp_(max=MAX_DEGREE)
            dout = degree(edge_index[0], n).long().clamp_(max=MAX_DEGREE)
            h = h + self.in_degree(din) + self.out_degree(dout)
        return h

    def _conv(self, conv: nn.Module, h: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        return conv(h, edge_index) if self.message_passing else conv(h)

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        h = self.features(x, edge_index)  # degrees of the flows as given (directed)
        if self.undirected:
            edge_index = to_undirected(edge_index, num_nodes=x.size(0))
        h = F.dropout(h, p=self.dropout, training=self.training)
        for conv in self.convs:
            h = F.dropout(F.relu(self._conv(conv, h, edge_index)), p=self.dropout, training=self.training)
        z = self._conv(self.last, h, edge_index)
        if self.logstd is None:
            return z
        return z, self._conv(self.logstd, h, edge_index).clamp(max=10.0)


class LinkModel(nn.Module):
    def __init__(self, num_tokens: int, cfg: Config) -> None:
        super().__init__()
        self.variational = cfg.model == "vgae"
        self.encoder = Encoder(num_tokens, cfg, variational=self.variational)
        self.dot = cfg.decoder == "dot" or cfg.model in LINK_ONLY
        out = cfg.out or cfg.hidden
        self.kl = torch.zeros(())
        if not self.dot:
            last = nn.Linear(cfg.hidden, 1)
            nn.init.zeros_(last.weight)  # every pair starts at logit 0, probability 0.5
            nn.init.zeros_(last.bias)
            self.decoder = nn.Sequential(nn.Linear(3 * out, cfg.hidden), nn.ReLU(), last)

    def encode(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        if not self.variational:
            return self.encoder(x, edge_index)  # type: ignore[return-value]
        mu, logstd = self.encoder(x, edge_index)
        # KL(q(z) || N(0, 1)) per node, averaged over nodes (PyG's VGAE.kl_loss)
        self.kl = -0.5 * torch.mean(torch.sum(1 + 2 * logstd - mu ** 2 - logstd.exp() ** 2, dim=1))
        return mu + torch.randn_like(logstd) * logstd.exp() if self.training else mu

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor, pairs: torch.Tensor) -> torch.Tensor:
        z = self.encode(x, edge_index)
        zu, zv = z[pairs[0]], z[pairs[1]]
        if self.dot:
            return (zu * zv).sum(-1)
        return self.decoder(torch.cat([zu, zv, zu * zv], dim=-1)).squeeze(-1)


class OperatorModel(nn.Module):
    def __init__(self, num_tokens: int, cfg: Config) -> None:
        super().__init__()
        self.encoder = Encoder(num_tokens, cfg)
        self.head = nn.Linear(cfg.out or cfg.hidden, num_tokens)
        self.dropout = cfg.dropout

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        z = F.relu(self.encoder(x, edge_index))  # type: ignore[arg-type]
        return self.head(F.dropout(z, p=self.dropout, training=self.training))


# -- evaluation -----------------------------------------------------------------------------------------
def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


@torch.no_grad()
def evaluate_link(model: LinkModel, items: list[Data], device: str, batch_size: int = 32,
                  keep: bool = False) -> dict[str, Any]:
    """The split's metrics; `keep`: also its scored pairs under "_predictions" (graph, label, probability)."""
    model.eval()
    pos, neg, graphs, offset = [], [], [], 0
    for batch in DataLoader(items, batch_size=batch_size):
        batch = batch.to(device)
        pairs = torch.cat([batch.pos_edge_index, batch.neg_edge_index], dim=1)
        prob = torch.sigmoid(model(batch.x, batch.edge_index, pairs)).cpu().numpy()
        k = batch.pos_edge_index.size(1)
        pos.append(prob[:k])
        neg.append(prob[k:])
        graphs.append((batch.batch[pairs[0]] + offset).cpu().numpy())
        offset += batch.num_graphs
    result = LinkEvaluator().eval({"y_pred_pos": np.concatenate(pos), "y_pred_neg": np.concatenate(neg)})
    result["edges"] = result["positives"] + result["negatives"]
    result["graphs"] = [d.graph_id for d in items]
    if keep:
        labels = np.concatenate([np.r_[np.ones(len(p)), np.zeros(len(n))] for p, n in zip(pos, neg)])
        result["_predictions"] = {"graph": np.concatenate(graphs), "label": labels.astype(np.int8),
                                  "score": np.concatenate([np.r_[p, n] for p, n in zip(pos, neg)]),
                                  "graph_ids": np.array(result["graphs"])}
    return result


@torch.no_grad()
def evaluate_operator(model: OperatorModel, items: Any, device: str, batch_size: int = 64,
                      keep: bool = False) -> dict[str, Any]:
    """The split's metrics; `keep`: also its target nodes under "_predictions" (item, y_true, y_pred)."""
    model.eval()
    preds, trues, owners, offset = [], [], [], 0
    for batch in DataLoader(items, batch_size=batch_size):
        batch = batch.to(device)
        mask = batch.y != IGNORE_INDEX
        preds.append(model(batch.x, batch.edge_index)[mask].argmax(-1).cpu().numpy())
        trues.append(batch.y[mask].cpu().numpy())
        owners.append((batch.batch[mask] + offset).cpu().numpy())
        offset += batch.num_graphs
    result = OperatorEvaluator().eval({"y_true": np.concatenate(trues), "y_pred": np.concatenate(preds)})
    result["graphs"] = sorted({d.graph_id for d in items})
    result["items"] = len(items)
    if keep:
        result["_predictions"] = {"item": np.concatenate(owners), "y_true": np.concatenate(trues),
                                  "y_pred": np.concatenate(preds),
                                  "community_ids": np.array([d.community_id for d in items])}
    return result


def majority_control(splits: dict[str, Any]) -> dict[str, Any]:
    """Operator task: the most frequent training target predicted for every test node (no learning)."""
    train_y = torch.cat([d.y[d.y != IGNORE_INDEX] for d in splits["train"]])
    majority = int(torch.bincount(train_y).argmax())
    out: dict[str, Any] = {"class": majority}
    for split in ("val", "test"):
        y = torch.cat([d.y[d.y != IGNORE_INDEX] for d in splits[split]])
        out[split] = OperatorEvaluator().eval({"y_true": y, "y_pred": torch.full_like(y, majority)})
    return out


# -- training -------------------------------------------------------------------------------------------
def _link_loss(model: LinkModel, batch: Data, cfg: Config) -> torch.Tensor:
    edges = _distinct_edges(batch.edge_index, batch.num_nodes)
    hidden = torch.rand(edges.size(1), device=edges.device) < cfg.hide
    if not bool(hidden.any()):
        hidden[torch.randint(edges.size(1), (1,), device=edges.device)] = True
    pos, msg = edges[:, hidden], edges[:, ~hidden]
    if cfg.protocol == "visible":
        msg = edges
    per_graph = max(1, math.ceil(pos.size(1) / batch.num_graphs))
    neg = batched_negative_sampling(batch.edge_index, batch.batch, num_neg_samples=per_graph)
    logits = model(batch.x, msg, torch.cat([pos, neg], dim=1))
    labels = torch.cat([torch.ones(pos.size(1)), torch.zeros(neg.size(1))]).to(logits.device)
    if cfg.shuffle_labels:
        labels = labels[torch.randperm(len(labels), device=labels.device)]
    # Positives and negatives weigh the same whatever their counts.
    weight = torch.where(labels > 0, 0.5 / max(pos.size(1), 1), 0.5 / max(neg.size(1), 1))
    loss = (F.binary_cross_entropy_with_logits(logits, labels, reduction="none") * weight).sum()
    if model.variational:
        loss = loss + cfg.kl_weight * model.kl / max(int(batch.num_nodes), 1)
    return loss


def _operator_loss(model: OperatorModel, batch: Data, cfg: Config) -> torch.Tensor:
    y = batch.y
    if cfg.shuffle_labels:
        mask = y != IGNORE_INDEX
        y = y.clone()
        y[mask] = y[mask][torch.randperm(int(mask.sum()), device=y.device)]
    return F.cross_entropy(model(batch.x, batch.edge_index), y, ignore_index=IGNORE_INDEX)


def lr_schedule(cfg: Config, total_steps: int) -> Callable[[int], float]:
    """Linear warm-up over `warmup` of the budget, then cosine decay to 5% (or constant)."""
    warm = int(cfg.warmup * total_steps)

    def factor(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        if cfg.schedule == "constant":
            return 1.0
        progress = min(1.0, (step - warm) / max(1, total_steps - warm))
        return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress))

    return factor


def _device(cfg: Config) -> str:
    if cfg.device.startswith("cuda") and not torch.cuda.is_available():
        raise UsageError(f"--device {cfg.device}: torch sees no CUDA device (torch {torch.__version__}, "
                         f"built for CUDA {torch.version.cuda or 'none'})")
    return cfg.device


def train(splits: dict[str, Any], cfg: Config, log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Train on splits["train"], stop early on "val", report "val" and "test"; returns the result dict
    (result["test"]["_predictions"]: the test split's predictions, as numpy arrays)."""
    cfg = cfg.check()
    device = _device(cfg)
    torch.set_num_threads(cfg.threads)
    seed_everything(cfg.seed)
    num_tokens = splits["train"].num_tokens
    link = cfg.task == "link"
    model: nn.Module = (LinkModel if link else OperatorModel)(num_tokens, cfg).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    if link:
        held = {s: [link_eval_item(d, cfg.hide, cfg.seed, cfg.protocol == "visible") for d in splits[s]]
                for s in ("val", "test")}
        evaluate, key = (lambda s, keep=False: evaluate_link(model, held[s], device, keep=keep)), "auc"  # type: ignore[arg-type]
        step_loss: Callable[[Any, Data], torch.Tensor] = lambda m, b: _link_loss(m, b, cfg)  # noqa: E731
    else:
        evaluate, key = (lambda s, keep=False: evaluate_operator(model, splits[s], device, keep=keep)), "acc"  # type: ignore[arg-type]
        step_loss = lambda m, b: _operator_loss(m, b, cfg)  # noqa: E731
    loader = DataLoader(splits["train"], batch_size=cfg.steps_batch, shuffle=True)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_schedule(cfg, cfg.epochs * len(loader)))
    history: list[dict[str, Any]] = []
    best, best_state, best_epoch, stopped = -1.0, None, 0, "epochs"
    start = time.perf_counter()
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        total, batches = 0.0, 0
        for batch in loader:
            batch = batch.to(device)
            opt.zero_grad()
            loss = step_loss(model, batch)
            loss.backward()
            opt.step()
            sched.step()
            total, batches = total + loss.item(), batches + 1
        val = evaluate("val")
        score = val[key] if val[key] is not None else -1.0
        history.append({"epoch": epoch, "loss": total / max(batches, 1), "lr": opt.param_groups[0]["lr"],
                        "seconds": time.perf_counter() - start,
                        "val": {k: v for k, v in val.items() if k != "graphs"}})
        if log:
            log(f"epoch {epoch:3d}  loss {total / max(batches, 1):.4f}  val {key} {val[key]}  "
                f"({time.perf_counter() - start:.0f} s)")
        if score > best:
            best, best_state, best_epoch = score, copy.deepcopy(model.state_dict()), epoch
        if cfg.patience and epoch - best_epoch >= cfg.patience:
            stopped = "early"
            break
        if cfg.time_limit and time.perf_counter() - start > cfg.time_limit:
            stopped = "time limit"
            break
    seconds = time.perf_counter() - start
    if best_state is not None:
        model.load_state_dict(best_state)
    result = {"config": asdict(cfg), "num_tokens": num_tokens, "best_epoch": best_epoch, "epochs_run": len(history),
              "stopped": stopped, "train_seconds": seconds, "steps_per_epoch": len(loader),
              "parameters": sum(p.numel() for p in model.parameters()),
              "train_graphs": sorted({d.graph_id for d in splits["train"]}), "train_items": len(splits["train"]),
              "val": evaluate("val"), "test": evaluate("test", keep=True), "history": history}
    if not link:
        result["controls"] = {"majority": majority_control(splits)}
    return result


# -- command line ---------------------------------------------------------------------------------------
class Parser(argparse.ArgumentParser):
    """argparse whose usage errors are one line (the project's rule for bad input)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"error: {message}", file=sys.stderr)
        raise SystemExit(2)


def _summary(result: dict[str, Any]) -> str:
    cfg = result["config"]
    keys = ("auc", "ap", "f1") if cfg["task"] == "link" else ("acc", "f1", "precision", "recall")
    fmt = lambda v: "-" if v is None else f"{v:.4f}"  # noqa: E731
    lines = [f"{cfg['task']} / {cfg['model']} ({cfg['preset']}{', shuffled labels' if cfg['shuffle_labels'] else ''})"
             f": {result['epochs_run']} epochs in {result['train_seconds']:.1f} s, best epoch {result['best_epoch']}"
             f" ({result['stopped']}), {result['train_items']} training items, {result['steps_per_epoch']} steps/epoch"]
    for split in ("val", "test"):
        m = result[split]
        size = f"{m['edges']} pairs" if cfg["task"] == "link" else f"{m['nodes']} boundary nodes"
        lines.append(f"  {split:5s} " + "  ".join(f"{k} {fmt(m[k])}" for k in keys) + f"   ({size})")
    if "controls" in result:
        m = result["controls"]["majority"]["test"]
        lines.append("  test majority-class control: " + "  ".join(f"{k} {fmt(m[k])}" for k in keys))
    lines.append(f"  wall {result['wall_seconds']:.0f} s, peak RSS {result['peak_rss_mb']:.0f} MiB, load average "
                 f"{result['load_average']['start']:.1f} → {result['load_average']['end']:.1f}")
    return "\n".join(lines)


def _parser() -> Parser:
    p = Parser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--dataset", type=Path, help="an `export pyg` folder (task link or operator)")
    src.add_argument("--db", type=Path, help="a store: exported into a temporary folder first")
    p.add_argument("--task", choices=TASKS, default="link")
    p.add_argument("--model", choices=MODELS, default="gcn")
    p.add_argument("--preset", choices=PRESETS, default="default", help="default recipe or the Younger code's")
    for f in fields(Config):
        if f.name in ("task", "model", "preset", "device", "seed", "degrees", "shuffle_labels"):
            continue
        flag = f"--{f.name.replace('_', '-')}"
        kind = {"int": int, "float": float, "str": str}[str(f.type)]
        p.add_argument(flag, type=kind, default=None, help=f"(default {f.default!r}, or the preset's)")
    p.add_argument("--no-degrees", dest="degrees", action="store_false", default=None,
                   help="no in/out-degree embeddings")
    p.add_argument("--shuffle-labels", action="store_true", help="the control: training labels shuffled")
    p.add_argument("--device", default="cpu", help="cpu | cuda | cuda:N")
    p.add_argument("--seed", type=int, default=1234, help="training seed, and the export's split seed with --db")
    p.add_argument("--view", choices=("noattrs", "attrs"), default="noattrs", help="--db: token view of the export")
    p.add_argument("--split", default="8:1:1", help="--db: split ratios of the export")
    p.add_argument("--keep-unseen", action="store_true", help="--db: keep val/test items with unseen tokens")
    p.add_argument("--json", type=Path, help="write the result here")
    p.add_argument("--save-predictions", type=Path, metavar="NPZ",
                   help="the test split's predictions: link graph/label/score, operator item/y_true/y_pred")
    return p


def config_from_args(a: argparse.Namespace) -> Config:
    names = {f.name for f in fields(Config)} - {"task", "model", "preset"}
    overrides = {n: getattr(a, n) for n in names if hasattr(a, n)}
    overrides["shuffle_labels"] = a.shuffle_labels or None
    return preset_config(a.preset, a.task, a.model, **overrides)


def run(a: argparse.Namespace) -> dict[str, Any]:
    cfg = config_from_args(a)
    _device(cfg)
    load_start = os.getloadavg()[0]
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="younger-baselines-") as tmp:
        dataset = a.dataset
        if dataset is None:
            try:
                split = tuple(float(x) for x in a.split.split(":"))
            except ValueError:
                raise UsageError(f"--split expects three ratios such as 8:1:1, not {a.split!r}") from None
            export_dataset(a.db, tmp, a.task, view=a.view, seed=a.seed, split=split,  # type: ignore[arg-type]
                           keep_unseen=a.keep_unseen)
            dataset = Path(tmp)
        splits = load_splits(dataset)
        check_splits(splits, a.task)
        result = train(splits, cfg, log=lambda line: print(line, file=sys.stderr, flush=True))
        predictions = result["test"].pop("_predictions")
        if a.save_predictions:
            save_predictions(a.save_predictions, predictions)
        result["dataset"] = str(a.dataset) if a.dataset else f"exported from {a.db}"
        result["counts"] = splits["train"].meta.get("counts")
    result["wall_seconds"] = time.perf_counter() - start
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result["load_average"] = {"start": load_start, "end": os.getloadavg()[0]}
    result["torch"] = {"version": torch.__version__, "threads": torch.get_num_threads(),
                       "cuda": torch.cuda.get_device_name(0) if cfg.device.startswith("cuda") else None}
    return result


def save_predictions(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """The test split's predictions as a .npz (atomic), for yg.LinkEvaluator / OperatorEvaluator elsewhere."""
    with atomic_path(path, suffix=".npz") as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, **arrays)


def main(argv: list[str] | None = None) -> int:
    a = _parser().parse_args(argv)
    try:
        result = run(a)
    except YoungerGraphError as exc:
        print(f"error: {first_line(exc)}", file=sys.stderr)
        return 2
    print(_summary(result))
    if a.json:
        write_text(a.json, json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
