"""The map of a corpus for the stats report: a 2-D projection of the graph embeddings (cf. the
Younger paper's Figure 6) and the nearest neighbours of the largest model families (docs/stats.md).

* projection: t-SNE (scikit-learn, PCA initialisation, seed 1234, perplexity min(30, (n - 1) / 3))
  of the stored embeddings of the selected graphs, in graph_id order; PCA (numpy) when scikit-learn
  is not installed or there are fewer than 5 graphs. `method` says which;
* families: a model's family is the leading run of letters of its name, lower-cased (`resnet18` →
  `resnet`, `bert-base-uncased` → `bert`, `vit_b_16` → `vit`; names of one or two letters keep their
  number: `t5-small` → `t5`); a graph's family is its first
  model's. For the `FAMILIES` families with most graphs, the graph with most models (then smallest
  id) and its `NEIGHBOURS` nearest graphs in the whole store, with their families and scores.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import TYPE_CHECKING, Any

import numpy as np

from younger_graph.schema import DEFAULT_SEED

if TYPE_CHECKING:
    from younger_graph.store.base import Store

FAMILIES = 8
NEIGHBOURS = 5
ID_CHUNK = 5_000


def family(name: str | None) -> str:
    """The family of a model name (module docstring); '' when it starts with no letter."""
    text = (name or "").strip().lower()
    short = re.match(r"[a-z]{1,2}\d+", text)  # t5, t0: a short name needs its number
    if short:
        return short.group(0)
    m = re.match(r"[a-z]+", text)
    return m.group(0) if m else ""


def project(vectors: np.ndarray) -> tuple[np.ndarray, str]:
    """2-D coordinates of the rows (scaled to -1..1) and the method used."""
    n = len(vectors)
    if n == 0:
        return np.zeros((0, 2)), "none"
    if n >= 5:
        try:
            from sklearn.manifold import TSNE
        except ImportError:
            pass
        else:
            tsne = TSNE(n_components=2, init="pca", random_state=DEFAULT_SEED, perplexity=min(30.0, (n - 1) / 3))
            return _scaled(tsne.fit_transform(vectors.astype(np.float64))), "tsne"
    centred = vectors.astype(np.float64) - vectors.mean(axis=0)
    if n < 2:
        return np.zeros((n, 2)), "pca"
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    coords = centred @ vt[:2].T
    if coords.shape[1] < 2:
        coords = np.pad(coords, ((0, 0), (0, 2 - coords.shape[1])))
    return _scaled(coords), "pca"


def _scaled(coords: np.ndarray) -> np.ndarray:
    span = np.abs(coords).max()
    return coords / span if span > 0 else coords


def corpus_map(store: Store, graph_ids: list[str] | None = None, view: str = "arch") -> dict[str, Any]:
    """The `map` section of the stats document (module docstring); empty points when no graph has an
    embedding (the report says to run `younger-graph embed`)."""
    from younger_graph.arch.similar import stored_vectors

    ids, vectors = stored_vectors(store, view)
    if graph_ids is not None:
        wanted = set(graph_ids)
        keep = [i for i, g in enumerate(ids) if g in wanted]
        ids, vectors = [ids[i] for i in keep], vectors[keep] if len(keep) else vectors[:0]
    order = np.argsort(np.array(ids, dtype=str), kind="stable") if ids else np.zeros(0, np.int64)
    ids = [ids[i] for i in order]
    vectors = vectors[order] if len(ids) else vectors
    coords, method = project(vectors)
    labels: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), ID_CHUNK):
        labels.update(_labels(store, ids[start:start + ID_CHUNK]))
    points = []
    for gid, (x, y) in zip(ids, coords.tolist()):
        lab = labels.get(gid, {})
        points.append({"graph_id": gid, "x": round(float(x), 5), "y": round(float(y), 5),
                       "task": lab.get("task", ""), "origin": lab.get("origin", ""), "family": lab.get("family", ""),
                       "models": lab.get("models", "")})
    return {"view": view, "method": method, "graphs": len(points), "points": points,
            "neighbours": _neighbours(store, points, view)}


def _labels(store: Store, ids: list[str]) -> dict[str, dict[str, Any]]:
    df = store.query("graph_labels", ids=ids)
    out = {}
    for row in df.to_dict(orient="records"):
        models = sorted({str(m) for m in row["models"] or [] if m})
        tasks = sorted({str(t) for t in row["tasks"] or [] if t})
        origins = sorted({str(o) for o in row["origins"] or [] if o})
        out[row["graph_id"]] = {"models": ", ".join(models), "task": tasks[0] if tasks else "",
                                "origin": origins[0] if origins else "", "family": family(models[0] if models else ""),
                                "n_models": len(models)}
    return out


def _neighbours(store: Store, points: list[dict[str, Any]], view: str) -> list[dict[str, Any]]:
    sizes = Counter(p["family"] for p in points if p["family"])
    largest = [f for f, n in sorted(sizes.items(), key=lambda item: (-item[1], item[0])) if n >= 2][:FAMILIES]
    if not largest:
        return []
    by_family = {f: sorted((p for p in points if p["family"] == f),
                           key=lambda p: (-len(p["models"].split(", ")), p["graph_id"]))[0] for f in largest}
    from younger_graph.arch.similar import stored_vectors

    reps = [by_family[f]["graph_id"] for f in largest]
    rep_ids, rep_vectors = stored_vectors(store, view, reps)
    vec_of = dict(zip(rep_ids, rep_vectors))
    found = store.nearest(np.stack([vec_of[g] for g in reps]), NEIGHBOURS + 1, view)
    neighbour_ids = sorted({g for row in found for g, _ in row})
    labels = _labels(store, neighbour_ids)
    rows = []
    for fam, gid, near in zip(largest, reps, found):
        kept = [(g, s) for g, s in near if g != gid][:NEIGHBOURS]
        for rank, (g, score) in enumerate(kept, 1):
            lab = labels.get(g, {})
            rows.append({"family": fam, "graph": by_family[fam]["models"], "rank": rank, "neighbour": lab.get(
                "models", g), "neighbour_family": lab.get("family", ""), "score": round(float(score), 4),
                "same_family": lab.get("family", "") == fam})
    return rows


__all__ = ["corpus_map", "family", "project"]
