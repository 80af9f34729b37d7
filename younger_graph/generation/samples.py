"""Generated samples → view graphs (views.py), from the two layouts `check-generated` reads.

- **`dense.npz`** in the layout of `export dense` (docs/export.md#export-dense), with the export's
  `vocab.json` beside it: `X` [G, N, V] (one-hot; any scores work: a node's token is its row's
  argmax), `A` [G, N, N] strictly upper-triangular (entries ≥ 0.5 are flows), `mask` [G, N] (real
  nodes; without it, the nodes are the positions with a non-zero X row); `graph_ids` optional (names).
  Wrong shapes, a vocabulary of another width, or an adjacency with an entry on or below the
  diagonal (not a DAG in topological order) are errors: the file is not in the layout.
- **a folder** of `.onnx` files (extracted like any model, then seen in the view) and `.json` edge
  lists: `{"nodes": ["Conv|", "Relu|", ...], "edges": [[0, 1], ...]}` (tokens as in vocab.json; a
  bare op type means the default domain). A file that cannot be read becomes an invalid sample with
  its reason, never an error for the batch. The view is the `vocab.json` in the folder's, else noattrs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from younger_graph.errors import UsageError, first_line
from younger_graph.export.vocab import VOCAB_FORMAT
from younger_graph.generation.views import ViewGraph, token, view_of_rows

EDGE_LIST_SUFFIXES = (".json",)


@dataclass
class Samples:
    path: str
    kind: str  # "dense.npz" | "folder"
    view: str
    names: list[str]
    graphs: list[ViewGraph | None]  # None: the file could not be read (its reason in `unreadable`)
    max_nodes: int  # N of the npz, or the largest sample
    unreadable: dict[int, str] = field(default_factory=dict)


def load_samples(path: str | Path) -> Samples:
    path = Path(path)
    if path.is_dir():
        return _folder(path)
    if not path.exists():
        raise UsageError(f"{path}: no such file or folder")
    if path.suffix != ".npz":
        raise UsageError(f"{path}: samples are a .npz in the layout of export dense, or a folder of .onnx / .json")
    return _npz(path)


def read_vocab(path: Path) -> dict[str, Any]:
    try:
        vocab = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"no {path}: the samples' vocabulary (vocab.json of the export) is needed") from None
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path} is not a vocabulary ({first_line(exc)})") from None
    if not isinstance(vocab, dict) or vocab.get("format") != VOCAB_FORMAT or not isinstance(vocab.get("tokens"), list):
        raise UsageError(f"{path} is not a {VOCAB_FORMAT} vocabulary (vocab.json of an export)")
    return vocab


def _npz(path: Path) -> Samples:
    vocab = read_vocab(path.parent / "vocab.json")
    tokens = [str(t) for t in vocab["tokens"]]
    try:
        data = np.load(path, allow_pickle=False)
        arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path} is not a readable .npz ({first_line(exc)})") from None
    x, a = arrays.get("X"), arrays.get("A")
    if x is None or a is None:
        raise UsageError(f"{path} needs arrays X and A (it has {', '.join(sorted(arrays)) or 'none'})")
    if x.ndim != 3 or a.ndim != 3 or a.shape[0] != x.shape[0] or a.shape[1:] != (x.shape[1], x.shape[1]):
        raise UsageError(f"{path}: X must be [G, N, V] and A [G, N, N], not X {list(x.shape)} and A {list(a.shape)}")
    if x.shape[2] != len(tokens):
        raise UsageError(f"{path}: X has {x.shape[2]} token columns but vocab.json has {len(tokens)} tokens")
    mask = arrays.get("mask")
    if mask is None:
        mask = x.reshape(x.shape[0], x.shape[1], -1).any(axis=2)
    if mask.shape != x.shape[:2]:
        raise UsageError(f"{path}: mask must be [G, N] = {list(x.shape[:2])}, not {list(mask.shape)}")
    edges = np.asarray(a) >= 0.5
    below = np.tril(np.ones(a.shape[1:], dtype=bool))
    bad = np.flatnonzero((edges & below).any(axis=(1, 2)))
    if len(bad):
        raise UsageError(f"{path}: A of sample {int(bad[0])} has flows on or below the diagonal: not a DAG in "
                         "topological order (A must be strictly upper-triangular)")
    ids = arrays.get("graph_ids")
    names = [str(v) for v in ids] if ids is not None and len(ids) == x.shape[0] else \
        [f"sample-{k}" for k in range(x.shape[0])]
    graphs: list[ViewGraph | None] = []
    for g in range(x.shape[0]):
        real = np.flatnonzero(mask[g])
        rows = x[g, real]
        toks = [tokens[int(k)] if rows[j].any() else "<none>" for j, k in enumerate(rows.argmax(axis=1))]
        sub = edges[g][np.ix_(real, real)]
        s, d = np.nonzero(sub)
        graphs.append(ViewGraph.make(toks, s, d))
    return Samples(str(path), "dense.npz", str(vocab.get("view", "noattrs")), names, graphs, int(x.shape[1]))


def _folder(path: Path) -> Samples:
    files = sorted(p for p in path.iterdir() if p.is_file() and (p.suffix == ".onnx" or p.suffix in EDGE_LIST_SUFFIXES))
    files = [p for p in files if p.name != "vocab.json" and p.name != "splits.json"]
    if not files:
        raise UsageError(f"{path} holds no .onnx or .json samples")
    vocab_path = path / "vocab.json"
    view = str(read_vocab(vocab_path).get("view", "noattrs")) if vocab_path.exists() else "noattrs"
    graphs: list[ViewGraph | None] = []
    unreadable: dict[int, str] = {}
    for k, f in enumerate(files):
        try:
            graphs.append(_onnx_sample(f, view) if f.suffix == ".onnx" else _edge_list(f, view))
        except (UsageError, ValueError, KeyError, TypeError, OSError) as exc:
            graphs.append(None)
            unreadable[k] = f"{f.name}: {first_line(exc)}"
    sizes = [g.n for g in graphs if g is not None]
    return Samples(str(path), "folder", view, [f.name for f in files], graphs, max(sizes, default=0), unreadable)


def _onnx_sample(path: Path, view: str) -> ViewGraph:
    from younger_graph.loaders.onnx_files import extract_file

    result = extract_file(str(path))
    if not result.ok or result.graph is None:
        raise UsageError(result.row["error"] or "does not extract")
    ops = result.graph.operators.to_pandas()
    flows = result.graph.edges.to_pandas()
    return view_of_rows(ops, flows, view)


def _edge_list(path: Path, view: str) -> ViewGraph:
    doc = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(doc, dict) or not isinstance(doc.get("nodes"), list):
        raise UsageError('an edge list is {"nodes": [tokens], "edges": [[src, dst], ...]}')
    toks = [str(t) if "|" in str(t) else token(str(t), "", "{}", view) for t in doc["nodes"]]
    pairs = np.asarray(doc.get("edges") or [], dtype=np.int64).reshape(-1, 2)
    if len(pairs) and (pairs.min() < 0 or pairs.max() >= len(toks)):
        raise UsageError(f"edges name nodes outside 0..{len(toks) - 1}")
    return ViewGraph.make(toks, pairs[:, 0], pairs[:, 1])
