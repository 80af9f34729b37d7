"""`younger-graph check-generated`: are generated architectures valid, unique, novel and realistic?

One JSON document (docs/generation.md#check-generated):

- `validity`: valid samples / samples (validity.py: the rule, reason codes);
- `uniqueness`: distinct view hashes / samples (the dense view: tokens + collapsed flows, views.py);
- `novelty`: valid samples whose view hash no reference graph has / valid samples;
- `mmd`: MMD² to the reference per statistic (mmd.py), with `baseline`: the same between two
  seeded halves of the reference, the scale a generator's number compares to;
- `reasons`: samples per failed rule; `details` (with `details=True`): per sample its name, view
  hash, validity, reasons and whether the reference holds it.

The reference is the store's graphs a dense export of the samples' size would hold (at most N
nodes, N = the npz's padding or the largest sample): every one (`reference="all"`) or the training
split of a `splits.json` (`reference="train"`: the file beside the samples, or `splits`).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from younger_graph.errors import UsageError
from younger_graph.export.splits import Frozen
from younger_graph.generation import mmd as mmd_stats
from younger_graph.generation.samples import Samples, load_samples
from younger_graph.generation.validity import RULES, Reference, Verdict, check
from younger_graph.generation.views import store_views
from younger_graph.reading import Selection, select_graphs
from younger_graph.store.base import Store

FORMAT = "younger-graph-check/1"
REFERENCES = ("all", "train")
Progress = Callable[[str, int, int], None]


def check_generated(store: Store, samples: str | Path, *, reference: str = "all", splits: str | Path | None = None,
                    details: bool = False, seed: int = 1234, max_graphs: int = mmd_stats.MAX_GRAPHS,
                    on_progress: Progress | None = None) -> dict[str, Any]:
    """The check document for generated samples against the store (module docstring)."""
    if reference not in REFERENCES:
        raise UsageError(f"--reference must be one of {', '.join(REFERENCES)}, not {reference!r}")
    if max_graphs < 2:
        raise UsageError("--max-graphs must be at least 2")
    found = load_samples(samples)
    graphs = _reference_graphs(store, found, reference, splits)
    ref_views, ref_opsets = [], []
    for sv in store_views(store, graphs, found.view,
                          (lambda d, t: on_progress("reading the reference", d, t)) if on_progress else None):
        ref_views.append(sv.graph)
        ref_opsets.append(sv.opsets)
    opsets = Reference.from_reference(ref_opsets, ref_views)
    ref_hashes = {g.view_hash() for g in ref_views}
    verdicts, hashes = _judge(found, opsets, on_progress)
    valid = [k for k, v in enumerate(verdicts) if v.valid]
    n = len(found.graphs)
    doc: dict[str, Any] = {
        "format": FORMAT,
        "samples": {"path": found.path, "layout": found.kind, "view": found.view, "count": n,
                    "max_nodes": found.max_nodes},
        "reference": {"rule": reference, "graphs": len(ref_views), "max_nodes": found.max_nodes,
                      "opsets": {k: v[:3] for k, v in opsets.candidates.items() if v}},
        "validity": len(valid) / n if n else None,
        "valid": len(valid),
        "uniqueness": len({h for h in hashes if h is not None}) / n if n else None,
        "novelty": (sum(hashes[k] not in ref_hashes for k in valid) / len(valid)) if valid else None,
        "mmd": _mmd_block(found, ref_views, seed, max_graphs),
        "reasons": _reason_counts(verdicts),
    }
    if details:
        doc["details"] = [
            {"sample": name, "view_hash": h, "valid": v.valid, "in_reference": h in ref_hashes if h else False,
             "reasons": [f"{code}: {text}" for code, text in v.reasons]}
            for name, h, v in zip(found.names, hashes, verdicts)
        ]
    return doc


def _reference_graphs(store: Store, found: Samples, reference: str, splits: str | Path | None) -> Any:
    graphs = select_graphs(store, Selection())
    graphs = graphs[(graphs["num_nodes"] > 0) & (graphs["num_nodes"] <= max(found.max_nodes, 1))]
    if reference == "train":
        beside = Path(found.path).parent if found.kind == "dense.npz" else Path(found.path)
        path = Path(splits) if splits else beside / "splits.json"
        if not path.exists():
            raise UsageError(f"--reference train needs a splits.json ({path} does not exist; pass --splits FILE)")
        frozen = Frozen.load(path)
        if frozen.unit != "graph":
            raise UsageError(f"{path} lists communities, not graphs")
        train = {k for k, label in frozen.label_of.items() if label == 0}
        known = store.loaded_graph_ids()
        missing = sorted(train - known)
        if missing:
            raise UsageError(f"{path}: {len(missing)} training graphs are not in the store (e.g. {missing[0]})")
        graphs = graphs[graphs["graph_id"].isin(train)]
    return graphs.reset_index(drop=True)


def _judge(found: Samples, opsets: Reference, on_progress: Progress | None) -> tuple[list[Verdict], list[str | None]]:
    verdicts: list[Verdict] = []
    hashes: list[str | None] = []
    for k, g in enumerate(found.graphs):
        if g is None:
            verdicts.append(Verdict(False, [("unreadable", found.unreadable.get(k, "unreadable"))]))
            hashes.append(None)
        else:
            verdicts.append(check(g, opsets))
            hashes.append(g.view_hash())
        if on_progress:
            on_progress("checking samples", k + 1, len(found.graphs))
    return verdicts, hashes


def _reason_counts(verdicts: list[Verdict]) -> dict[str, int]:
    """Samples failing each rule (a sample counts once per rule it breaks)."""
    counts: Counter[str] = Counter()
    for v in verdicts:
        counts.update({code for code, _ in v.reasons})
    order = [*RULES, "unreadable"]
    return {code: counts[code] for code in order if counts.get(code)}


def _mmd_block(found: Samples, ref_views: list[Any], seed: int, max_graphs: int) -> dict[str, Any]:
    samples = [g for g in found.graphs if g is not None and g.n > 0]
    sample_keep = mmd_stats.subsample(list(range(len(samples))), max_graphs, seed)
    ref_keep = mmd_stats.subsample(list(range(len(ref_views))), max_graphs, seed + 1)
    block: dict[str, Any] = {"graphs": {"samples": len(sample_keep), "reference": len(ref_keep)},
                             "kernels": {k: {"kernel": mmd_stats.KERNELS[k], "sigma": mmd_stats.SIGMA[k]}
                                         for k in mmd_stats.STATISTICS}}
    if not sample_keep or not ref_keep:
        block.update({k: None for k in mmd_stats.STATISTICS})
        return block
    ref = mmd_stats.describe([ref_views[k] for k in ref_keep])
    gen = mmd_stats.describe([samples[k] for k in sample_keep])
    vocabulary = mmd_stats.op_type_vocabulary(ref)
    values = mmd_stats.mmd(gen, ref, vocabulary)
    baseline = _baseline(ref, vocabulary, seed)
    for name in mmd_stats.STATISTICS:
        block[name] = {"value": _round(values[name]), "baseline": _round(baseline.get(name))}
    return block


def _baseline(ref: mmd_stats.Descriptors, vocabulary: list[str], seed: int) -> dict[str, float]:
    """MMD² between two seeded halves of the reference: what 'as close as real graphs are' means."""
    n = len(ref.degree)
    if n < 2:
        return {}
    perm = np.random.Generator(np.random.PCG64(seed + 2)).permutation(n)
    half = n // 2
    a = mmd_stats.select(ref, sorted(perm[:half].tolist()))
    b = mmd_stats.select(ref, sorted(perm[half:].tolist()))
    return mmd_stats.mmd(a, b, vocabulary)


def _round(value: float | None) -> float | None:
    if value is None or not np.isfinite(value):
        return None
    return float(f"{value:.6g}")


def render_table(doc: dict[str, Any]) -> list[tuple[str, str]]:
    """(metric, value) rows for the CLI's table."""
    def pct(v: float | None) -> str:
        return "—" if v is None else f"{v:.4g}"

    rows = [("samples", f"{doc['samples']['count']} ({doc['samples']['layout']}, view {doc['samples']['view']})"),
            ("reference", f"{doc['reference']['graphs']} graphs ({doc['reference']['rule']}, "
                          f"≤ {doc['reference']['max_nodes']} nodes)"),
            ("validity", pct(doc["validity"])), ("uniqueness", pct(doc["uniqueness"])),
            ("novelty", pct(doc["novelty"]))]
    for name in mmd_stats.STATISTICS:
        entry = doc["mmd"].get(name)
        if isinstance(entry, dict):
            rows.append((f"mmd {name}", f"{pct(entry['value'])} (reference halves {pct(entry['baseline'])})"))
    if doc["reasons"]:
        rows.append(("invalid by rule", ", ".join(f"{k} {v}" for k, v in doc["reasons"].items())))
    return rows


def dumps(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
