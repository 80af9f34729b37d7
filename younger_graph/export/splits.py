"""Leakage-aware splits for every export: the rule, the grouping keys, `splits.json`, leakage figures.

`--split-by` rules (docs/export.md#splits):

- `graph` (default): items permuted by the seed, cut by the ratios (`vocab.split_labels`, unchanged);
- `arch`: items of graphs sharing an architecture key stay on one side (`architecture_key`: graphs
  linked by a shared `graph_id_noattr`, the hash without attribute values and initializer shapes, or
  a shared `graph_id_arch`, the hash of the architecture view, are one group);
- `family`, `task`, `origin` or any other Model property: group k-fold style, a group (the graph's
  models' most common value, ties the smallest) never on two sides; graphs without a value are
  groups of their own. `family` is the Model property when the store has one, else derived from the
  model name (`family_of_name`);
- `size`: out of distribution, train on the smallest graphs and test on the largest (by stored
  node count, ties by key), val in between.

Grouped splits are deterministic in the seed: groups are taken largest first (equal sizes in an
order permuted by the seed) and each goes to the split furthest below its target share, relative to
that share: every split with a positive ratio gets a group while groups remain, and the ratios come
out as close as whole groups allow.

Stage 1 of an export (store open) reads the keys (`read_keys`); stage 2 assigns splits from them
(`split_items`) or from a frozen `--splits FILE` (`Frozen`), so `processed/` stays a pure function of
raw/. Every export writes `splits.json` (`splits_document`) and leakage figures in meta.json
(`leakage`): how many val/test graphs share a `graph_id_noattr` with a training graph.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from younger_graph.errors import ExportError
from younger_graph.export.vocab import SPLITS, split_labels
from younger_graph.reading import ID_CHUNK, read_graph_keys, read_graph_models
from younger_graph.store.base import Store

FORMAT = "younger-graph-splits/1"
FILE = "splits.json"
KEYS_FILE = "groups.parquet"  # in raw/: graph_id, graph_id_noattr, num_nodes, group
FROZEN_FILE = "splits.frozen.json"  # in raw/: the validated --splits file
BUILTIN_RULES = ("graph", "arch", "family", "task", "origin", "size")
UNGROUPED = ("graph", "size")
LEAKAGE_KEY = "graph_id_noattr"
_PROPERTY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SINGLETON = "\0graph:"  # prefix of the group of a graph without a value: a group of its own


def check_rule(rule: str) -> str:
    """A rule is a built-in name or a property name (letters, digits, _); whether the store's models
    have that property is checked against the store (`read_keys`)."""
    if rule in BUILTIN_RULES or _PROPERTY.match(rule or ""):
        return rule
    raise ExportError(f"--split-by must be one of {', '.join(BUILTIN_RULES)} or a Model property name, not {rule!r}")


def architecture_key(keys: pd.DataFrame) -> pd.Series:
    """The architecture key graphs are grouped by (`--split-by arch`): graphs sharing a
    `graph_id_noattr` (same structure, other attribute values or initializer shapes) or a
    `graph_id_arch` (same architecture view: other exporter, plumbing or fused decompositions) are
    linked, and each connected set of links is one group, named by its smallest noattr hash. A graph
    without an architecture hash (a store loaded from format-1 tables) is linked by noattr only."""
    parent: dict[str, str] = {}

    def root(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    noattr = [str(v) for v in keys["graph_id_noattr"]]
    arch = [str(v) if v else "" for v in keys.get("graph_id_arch", pd.Series([""] * len(keys)))]
    for n, a in zip(noattr, arch):
        if a:
            ra, rn = root("a:" + a), root("n:" + n)
            if ra != rn:
                parent[max(ra, rn)] = min(ra, rn)
    # name each group by its smallest noattr hash, so the key is a hash like the one it generalises
    name: dict[str, str] = {}
    for n in noattr:
        r = root("n:" + n)
        name[r] = min(name.get(r, n), n)
    return pd.Series([name[root("n:" + n)] for n in noattr], index=keys.index, dtype=object)


# -- stage 1: keys out of the store -----------------------------------------------------------------
def read_keys(store: Store, ids: list[str], rule: str) -> pd.DataFrame:
    """graph_id, graph_id_noattr, graph_id_arch, num_nodes and the rule's group (None: no value) of these graphs,
    sorted by graph_id. A property rule naming no property of the selected graphs' models is an error."""
    check_rule(rule)
    frames = [read_graph_keys(store, ids[i:i + ID_CHUNK]) for i in range(0, len(ids), ID_CHUNK)]
    keys = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        {"graph_id": pd.Series([], dtype=object), "graph_id_noattr": pd.Series([], dtype=object),
         "graph_id_arch": pd.Series([], dtype=object), "num_nodes": pd.Series([], dtype="int64")})
    keys = keys.sort_values("graph_id", kind="stable").reset_index(drop=True)
    if rule == "arch":
        keys["group"] = architecture_key(keys).astype(object)
    elif rule in UNGROUPED:
        keys["group"] = None
    else:
        keys["group"] = _property_groups(store, list(keys["graph_id"]), rule)
    return keys


def _property_groups(store: Store, ids: list[str], prop: str) -> list[str | None]:
    values: dict[str, list[str]] = {}
    seen_property = False
    for i in range(0, len(ids), ID_CHUNK):
        for gid, models in read_graph_models(store, ids[i:i + ID_CHUNK]).items():
            for m in models:
                if prop == "family" and "family" not in m:
                    value = family_of_name(m.get("name"))
                    seen_property = True
                elif prop in m:
                    value = m[prop]
                    seen_property = True
                else:
                    continue
                if value is not None and str(value) != "":
                    values.setdefault(gid, []).append(str(value))
    if ids and not seen_property:
        raise ExportError(f"--split-by {prop}: the selected graphs' models have no property {prop!r} "
                          f"(use graph, arch, size, family, task, origin or a metadata column of --meta)")
    return [_most_common(values.get(g, [])) for g in ids]


def _most_common(values: list[str]) -> str | None:
    if not values:
        return None
    counts = Counter(values)
    best = max(counts.values())
    return min(v for v, c in counts.items() if c == best)


def family_of_name(name: Any) -> str | None:
    """A model family from its name when no `family` metadata exists: the name without a zoo prefix,
    up to the first `_`, `-`, `.` or digit, lower-cased (resnet18 → resnet, mobilenet_v3_small →
    mobilenet, vit_tiny_patch16_224 → vit); names too short for that (t5) stay whole."""
    if name is None or str(name) == "":
        return None
    text = str(name).split(":", 1)[-1].lower()
    token = re.split(r"[_\-.\s/]", text, maxsplit=1)[0]
    letters = re.match(r"[a-z]+", token)
    if letters and len(letters.group(0)) >= 2:
        return letters.group(0)
    return token or text


def check_frozen_against_store(store: Store, frozen: Frozen) -> None:
    """A --splits file naming graphs the store does not have is an error (one line)."""
    known = store.loaded_graph_ids()
    missing = sorted({unit_graph(k, frozen.unit) for k in frozen.label_of} - known)
    if missing:
        more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        raise ExportError(f"--splits {frozen.source}: {len(missing)} graphs are not in the store "
                          f"({', '.join(missing[:3])}{more})")


def unit_graph(key: str, unit: str) -> str:
    """The graph a split unit belongs to (a community id is `<graph_id>:<method>:<k>`)."""
    return key.split(":", 1)[0] if unit == "community" else key


# -- frozen splits -----------------------------------------------------------------------------------
@dataclass
class Frozen:
    """A splits.json reused with --splits: unit key (graph id or community id) → split label."""

    source: str
    unit: str
    rule: str
    label_of: dict[str, int]

    @classmethod
    def load(cls, path: str | Path) -> Frozen:
        path = Path(path)
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ExportError(f"--splits {path}: no such file") from None
        except (OSError, ValueError) as exc:
            raise ExportError(f"--splits {path}: not a JSON splits file ({exc})") from None
        return cls.from_document(doc, str(path))

    @classmethod
    def from_document(cls, doc: Any, source: str) -> Frozen:
        if not isinstance(doc, dict) or doc.get("format") != FORMAT or not isinstance(doc.get("splits"), dict):
            raise ExportError(f"--splits {source}: not a {FORMAT} file (written by an export as {FILE})")
        unit = doc.get("unit", "graph")
        if unit not in ("graph", "community"):
            raise ExportError(f"--splits {source}: unknown unit {unit!r}")
        label_of: dict[str, int] = {}
        for label, split in enumerate(SPLITS):
            keys = doc["splits"].get(split, [])
            if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
                raise ExportError(f"--splits {source}: splits.{split} must be a list of ids")
            for key in keys:
                if label_of.setdefault(key, label) != label:
                    raise ExportError(f"--splits {source}: {key} is in two splits")
        return cls(source, unit, str(doc.get("rule", "frozen")), label_of)

    def as_document(self) -> dict[str, Any]:
        splits: dict[str, list[str]] = {s: [] for s in SPLITS}
        for key, label in sorted(self.label_of.items()):
            splits[SPLITS[label]].append(key)
        return {"format": FORMAT, "unit": self.unit, "rule": self.rule, "source": self.source, "splits": splits}


# -- stage 2: labels ---------------------------------------------------------------------------------
def split_items(rule: str, groups: Sequence[str | None], sizes: Sequence[int], keys: Sequence[str],
                ratios: Sequence[float], seed: int) -> np.ndarray:
    """Split label (0 train, 1 val, 2 test) of each item, given in sorted-key order, by the rule."""
    n = len(keys)
    if rule == "graph":
        return split_labels(n, ratios, seed).astype(np.int64)
    if rule == "size":
        order = sorted(range(n), key=lambda i: (int(sizes[i]), keys[i]))
        return _cut(order, ratios)
    named = [g if g is not None else f"{_SINGLETON}{k}" for g, k in zip(groups, keys)]
    return grouped_labels(named, ratios, seed)


def _cut(order: list[int], ratios: Sequence[float]) -> np.ndarray:
    n = len(order)
    rank = np.empty(n, dtype=np.int64)
    rank[np.asarray(order, dtype=np.int64)] = np.arange(n)
    cuts = np.rint(np.cumsum(ratios)[:2] / float(sum(ratios)) * n).astype(np.int64)
    return np.searchsorted(cuts, rank, side="right").astype(np.int64)


def grouped_labels(groups: Sequence[str], ratios: Sequence[float], seed: int) -> np.ndarray:
    """Whole groups to one side: largest first (ties in a seed-permuted order), each to the split
    furthest below its target share relative to that share (ties: train, val, test), so every split
    with a positive ratio gets a group while groups remain."""
    sizes = Counter(groups)
    names = sorted(sizes)
    permuted = np.random.Generator(np.random.PCG64(seed)).permutation(len(names))
    tie = {name: int(r) for name, r in zip(names, permuted)}
    share = np.asarray(ratios, dtype=float) / float(sum(ratios)) * len(groups)
    filled = np.zeros(3)
    label_of: dict[str, int] = {}
    for name in sorted(names, key=lambda g: (-sizes[g], tie[g])):
        # relative shortfall: an empty split (shortfall 1) is served before a half-full one
        shortfall = np.where(share > 0, (share - filled) / np.where(share > 0, share, 1.0), -np.inf)
        best = int(np.argmax(shortfall))
        label_of[name] = best
        filled[best] += sizes[name]
    return np.asarray([label_of[g] for g in groups], dtype=np.int64)


# -- what is written -----------------------------------------------------------------------------------
def splits_document(rule: str, seed: int, ratios: Sequence[float], unit: str, keys: Sequence[str],
                    labels: np.ndarray, *, frozen: str | None = None, removed: Sequence[str] = ()) -> dict[str, Any]:
    """splits.json: the unit keys (graph ids, or community ids for the operator task) per split."""
    splits: dict[str, list[str]] = {s: [] for s in SPLITS}
    for key, label in zip(keys, labels.tolist()):
        if label >= 0:
            splits[SPLITS[label]].append(str(key))
    return {"format": FORMAT, "rule": rule, "key": rule_key(rule), "seed": seed, "ratios": list(ratios),
            "unit": unit, "frozen_from": frozen, "counts": {s: len(v) for s, v in splits.items()},
            "splits": {s: sorted(v) for s, v in splits.items()}, "removed": sorted(set(map(str, removed)))}


ARCH_RULE_KEY = "graph_id_noattr+graph_id_arch"  # splits.json's key of --split-by arch (architecture_key)


def rule_key(rule: str) -> str | None:
    if rule == "arch":
        return ARCH_RULE_KEY
    if rule == "size":
        return "num_nodes"
    return None if rule == "graph" else rule


def leakage(graph_of_item: Sequence[str], labels: np.ndarray, noattr: dict[str, str]) -> dict[str, Any]:
    """Per val/test: graphs there, and how many share a graph_id_noattr with a training graph."""
    by_split: dict[int, set[str]] = {0: set(), 1: set(), 2: set()}
    for gid, label in zip(graph_of_item, labels.tolist()):
        if label >= 0:
            by_split[label].add(gid)
    train = {noattr.get(g) for g in by_split[0]} - {None}
    out: dict[str, Any] = {"key": LEAKAGE_KEY}
    for label, split in ((1, "val"), (2, "test")):
        graphs = by_split[label]
        out[split] = {"graphs": len(graphs), "sharing_with_train": sum(noattr.get(g) in train for g in graphs)}
    return out


def write_json(path: Path, doc: dict[str, Any]) -> None:
    from younger_graph import atomic

    atomic.write_text(path, json.dumps(doc, indent=1) + "\n")
