"""`diff A B`: what differs between two models' architectures (docs/arch.md).

A and B are resolved like `similar`'s queries (a model file, a graph_id in the store, a model name
with one graph). The comparison runs on one view (the architecture view by default):

* `sizes`: nodes, operators, edges, depth, width, distinct op types, for A and B and B - A;
* `op_types`: operator counts per op type that differ;
* `paths`: operator-type paths of 2 and 3 operators (along flows) found in one graph only;
* `alignment`: the operator sequences (in model order) aligned with difflib's matcher: how much
  matches (`ratio`), which op types replace which (`Relu → Swish in 12 places`), and inserted or
  removed runs that repeat a block next to them (`B has 4 more repeats of a 15-operator block
  (MatMul, Add, ...)`: extra layers);
* `score`: the cosine similarity of their embeddings (what `similar` ranks by).
"""

from __future__ import annotations

import difflib
import os
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from younger_graph.errors import SimilarityError
from younger_graph.schema import KIND_OPERATOR
from younger_graph.views import check_view

if TYPE_CHECKING:
    from younger_graph.store.base import Store

MAX_ALIGN = 20_000  # operators per side above which the sequence alignment is skipped (quadratic)
TOP_PATHS = 20


@dataclass
class Side:
    """One side of a diff: where it came from and its graph in the chosen view."""

    query: str
    graph_id: str
    models: str
    op_type: list[str]
    kind: list[str]
    src: np.ndarray
    dst: np.ndarray
    vector: np.ndarray

    def operators(self) -> list[str]:
        return [t for t, k in zip(self.op_type, self.kind) if k == KIND_OPERATOR]


def _side_from_file(source: str, view: str) -> Side:
    from younger_graph.arch.embed import embed, embed_tables
    from younger_graph.arch.similar import extracted_graph
    from younger_graph.views import arch_of

    g = extracted_graph(source)
    if view == "arch":
        v = arch_of(g.operators, g.edges)
        return Side(source, g.graph_id, os.path.basename(source), v.op_type, v.kind, v.src, v.dst, embed([v])[0])
    ops, edges = g.operators.to_pydict(), g.edges.to_pydict()
    vector = embed_tables([g.graph_id], {g.graph_id: g.operators}, {g.graph_id: g.edges})[0]
    return Side(source, g.graph_id, os.path.basename(source), ops["op_type"], ops["kind"],
                np.asarray(edges["src"], dtype=np.int64), np.asarray(edges["dst"], dtype=np.int64), vector)


def _side_from_store(store: Store, query: str, view: str) -> Side:
    from younger_graph.arch.similar import graph_labels, resolve_query
    from younger_graph.reading import read_batch

    found = resolve_query(store, query, view)
    if len(found) > 1:
        ids = ", ".join(q.graph_id or "" for q in found[:4])
        raise SimilarityError(f"model {query!r} has {len(found)} graphs ({ids}...): give one graph_id")
    q = found[0]
    gid = q.graph_id or ""
    ops, flows = read_batch(store, [gid], view)
    label = graph_labels(store, [gid]).get(gid, {})
    return Side(query, gid, label.get("models", ""), ops["op_type"].tolist(), ops["kind"].tolist(),
                flows["src"].to_numpy(np.int64), flows["dst"].to_numpy(np.int64), q.vector)


def resolve_side(store: Store | None, query: str, view: str) -> Side:
    from younger_graph.arch.similar import is_model_source

    if is_model_source(query):
        if not os.path.exists(query) and query.lower().endswith(".onnx"):
            raise SimilarityError(f"{query}: no such file")
        return _side_from_file(query, view)
    if store is None:
        raise SimilarityError(f"{query!r} is not a model file (give --db to look it up in a store)")
    return _side_from_store(store, query, view)


# -- comparisons ----------------------------------------------------------------------------------
def sizes(side: Side) -> dict[str, Any]:
    from younger_graph.metrics import graph_metrics

    m = graph_metrics(side.kind, side.op_type, [""] * len(side.kind), side.src, side.dst)
    return {"nodes": len(side.kind), "operators": len(side.operators()), "edges": len(side.src),
            "depth": m["depth"], "width": m["width"], "op_types": m["num_op_types"]}


def paths(side: Side, length: int) -> Counter[tuple[str, ...]]:
    """Counts of operator-type paths of `length` operators along flows (parallel flows count once
    per flow, like the `patterns` queries)."""
    is_op = np.array([k == KIND_OPERATOR for k in side.kind], dtype=bool)
    keep = is_op[side.src] & is_op[side.dst] if len(side.src) else np.zeros(0, bool)
    src, dst = side.src[keep].tolist(), side.dst[keep].tolist()
    out: Counter[tuple[str, ...]] = Counter()
    if length == 2:
        for a, b in zip(src, dst):
            out[(side.op_type[a], side.op_type[b])] += 1
        return out
    by_src: dict[int, list[int]] = {}
    for a, b in zip(src, dst):
        by_src.setdefault(a, []).append(b)
    for a, b in zip(src, dst):
        for c in by_src.get(b, ()):
            out[(side.op_type[a], side.op_type[b], side.op_type[c])] += 1
    return out


MAX_BLOCK = 40  # longest repeated block looked for in an inserted run (operators)


def _block_note(run: str, mine: str, theirs: str, who: str, other: str, names: list[str]) -> str | None:
    """An inserted (or removed) run of operators, each op type one character: the block (2..MAX_BLOCK
    operators) that covers most of it by repeats; described by how often it occurs in each whole
    sequence (`B = A with 8 more repeats of a 5-operator block (Conv, Relu, ...) (4 → 12)`)."""
    best: tuple[int, int, str] | None = None
    for period in range(2, min(MAX_BLOCK, len(run)) + 1):
        for offset in range(min(period, len(run) - period + 1)):
            block = run[offset:offset + period]
            covered = run.count(block) * period
            if best is None or covered > best[0] or (covered == best[0] and period < best[1]):
                best = (covered, period, block)
    if best is None or best[0] * 2 < len(run):
        return None
    block = best[2]
    n_mine, n_theirs = mine.count(block), theirs.count(block)
    ops = [names[ord(c) - _BASE] for c in block]
    shown = ", ".join(ops[:6]) + (", ..." if len(ops) > 6 else "")
    extra = n_mine - n_theirs
    if extra <= 0:
        return None  # not a repeat this side has more of: the op-type and path differences describe it
    if n_theirs == 0:
        if n_mine < 2:
            return None  # a one-off run
        return f"{who} has a {len(ops)}-operator block ({shown}) {n_mine} times, {other} {n_theirs} times"
    return (f"{who} = {other} with {extra} more repeat{'s' if extra > 1 else ''} of a {len(ops)}-operator block "
            f"({shown}) ({n_theirs} → {n_mine})")


_BASE = 0x4E00  # op types become characters from here (str.count then finds repeats in C)


def alignment(a: Side, b: Side) -> dict[str, Any]:
    sa, sb = a.operators(), b.operators()
    if max(len(sa), len(sb)) > MAX_ALIGN:
        return {"skipped": f"more than {MAX_ALIGN} operators", "ratio": None, "substitutions": [], "notes": []}
    names = sorted(set(sa) | set(sb))
    code = {t: chr(_BASE + i) for i, t in enumerate(names)}
    ta, tb = "".join(code[t] for t in sa), "".join(code[t] for t in sb)
    matcher = difflib.SequenceMatcher(a=sa, b=sb, autojunk=False)
    substitutions: Counter[tuple[str, str]] = Counter()
    notes: list[str] = []
    inserted = removed = 0
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "replace" and i2 - i1 == j2 - j1:
            for x, y in zip(sa[i1:i2], sb[j1:j2]):
                substitutions[(x, y)] += 1
            continue
        if j2 - j1 > i2 - i1:
            inserted += j2 - j1 - (i2 - i1)
            note = _block_note(tb[j1:j2], tb, ta, "B", "A", names)
            if note:
                notes.append(note)
        if i2 - i1 > j2 - j1:
            removed += i2 - i1 - (j2 - j1)
            note = _block_note(ta[i1:i2], ta, tb, "A", "B", names)
            if note:
                notes.append(note)
    subs = [{"from": x, "to": y, "count": c} for (x, y), c in substitutions.most_common()]
    notes = [f"{s['from']} → {s['to']} in {s['count']} place{'s' if s['count'] > 1 else ''}" for s in subs[:10]] \
        + list(dict.fromkeys(notes))
    return {"ratio": round(matcher.ratio(), 6), "matched": sum(m.size for m in matcher.get_matching_blocks()),
            "inserted": inserted, "removed": removed, "substitutions": subs, "notes": notes}


def diff(store: Store | None, a: str, b: str, view: str = "arch") -> dict[str, Any]:
    """The comparison document of two models (module docstring); JSON-ready."""
    check_view(view)
    left, right = resolve_side(store, a, view), resolve_side(store, b, view)
    size_a, size_b = sizes(left), sizes(right)
    hist_a, hist_b = Counter(left.operators()), Counter(right.operators())
    op_types = [{"op_type": t, "a": hist_a[t], "b": hist_b[t], "delta": hist_b[t] - hist_a[t]}
                for t in sorted(set(hist_a) | set(hist_b)) if hist_a[t] != hist_b[t]]
    op_types.sort(key=lambda r: (-abs(r["delta"]), r["op_type"]))
    path_diff: dict[str, list[dict[str, Any]]] = {"only_a": [], "only_b": []}
    for length in (2, 3):
        pa_, pb_ = paths(left, length), paths(right, length)
        for key, mine, theirs in (("only_a", pa_, pb_), ("only_b", pb_, pa_)):
            found = [{"path": " → ".join(p), "length": length, "count": c} for p, c in mine.items() if p not in theirs]
            found.sort(key=lambda r: (-r["count"], r["path"]))
            path_diff[key].extend(found[:TOP_PATHS])
    score = float(np.dot(left.vector, right.vector)) if left.vector.size and right.vector.size else None
    return {
        "view": view,
        "a": {"query": a, "graph_id": left.graph_id, "models": left.models},
        "b": {"query": b, "graph_id": right.graph_id, "models": right.models},
        "same_graph": left.graph_id == right.graph_id,
        "score": None if score is None else round(min(max(score, 0.0), 1.0), 6),
        "sizes": {k: {"a": size_a[k], "b": size_b[k], "delta": size_b[k] - size_a[k]} for k in size_a},
        "op_types": op_types,
        "paths": path_diff,
        "alignment": alignment(left, right),
    }


__all__ = ["Side", "alignment", "diff", "paths", "resolve_side", "sizes"]
