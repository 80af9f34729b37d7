"""Corpus statistics from a store, as one JSON document (schema in docs/stats.md).

Everything comes from the named `stats_*` queries in cypher/stats/, run on the store: operators and
edges are never loaded into Python. Per-graph aggregates (sizes, depth, width, entropy, components)
are Graph properties computed at extraction (younger_graph/metrics.py), so the per-graph queries
return one row per graph and percentiles and histograms are computed here with numpy.

The document holds only values derived from the data (no backend name, path or time), so the same
data gives the same document on every backend.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from younger_graph.errors import QueryLibraryError, StatsError
from younger_graph.query import resolve
from younger_graph.views import check_view

SCHEMA_VERSION = 1
TOP = 30
ENTROPY_BIN = 0.5  # bits per histogram bin of op_type_entropy

Progress = Callable[[str, int, int], None]

STATS_QUERIES = (
    "stats_by_task", "stats_by_origin", "stats_overview", "stats_op_types", "stats_graph_sizes",
    "stats_graph_structure", "stats_graph_features", "stats_in_degrees", "stats_out_degrees", "stats_cooccurrence",
)


def compute_stats(store: Any, task: str | None = None, where: str | None = None,
                  where_params: dict[str, Any] | None = None, *, top: int = TOP,
                  on_progress: Progress | None = None, view: str = "exact",
                  corpus_map: bool = False) -> dict[str, Any]:
    """The statistics document of the graphs in `store`, optionally restricted.

    `view`: `exact` (the graphs as extracted) or `arch` (their architecture view: operators, degrees,
    sizes and structure without exporter plumbing; younger_graph.views).
    `corpus_map`: add the `map` section (a 2-D projection of the graphs' embeddings and the nearest
    neighbours of the largest families; younger_graph.stats.corpus_map), which costs a t-SNE.

    `task`: only models whose metadata task is `task`, and the graphs they point at.
    `where`: a library query name (or .cypher file, or Cypher text) returning a `graph_id` column;
    only those graphs (and their models) are counted. `where_params` are that query's parameters.
    """
    steps = len(STATS_QUERIES) + (1 if where else 0) + (1 if task else 0) + (1 if corpus_map else 0)
    done = 0

    def tick(label: str) -> None:
        nonlocal done
        done += 1
        if on_progress:
            on_progress(label, done, steps)

    where_ids: list[str] | None = None
    given: dict[str, Any] = {}
    if where:
        where_ids, given = _where_graph_ids(store, where, where_params or {})
        tick("where")
    graph_ids = where_ids
    if task is not None:
        task_ids = list(store.query("stats_task_graphs", task=task)["graph_id"])
        tick("stats_task_graphs")
        graph_ids = task_ids if where_ids is None else sorted(set(task_ids) & set(where_ids))

    check_view(view)

    def run(name: str, **params: Any) -> pd.DataFrame:
        df = store.query(name, view=view, **params)
        tick(name)
        return df

    model_sel = {"task": task, "graph_ids": where_ids}
    by_task = _records(run("stats_by_task", **model_sel), ["task", "models", "models_ok", "models_failed", "graphs"])
    by_origin = run("stats_by_origin", **model_sel)
    overview = _one_row(run("stats_overview", graph_ids=graph_ids))
    op_types = _records(run("stats_op_types", graph_ids=graph_ids),
                        ["op_type", "domain", "occurrences", "graphs", "attr_variants"])
    sizes = run("stats_graph_sizes", graph_ids=graph_ids)
    structure = run("stats_graph_structure", graph_ids=graph_ids)
    features = _one_row(run("stats_graph_features", graph_ids=graph_ids))
    in_degrees = run("stats_in_degrees", graph_ids=graph_ids)
    out_degrees = run("stats_out_degrees", graph_ids=graph_ids)
    cooccurrence = run("stats_cooccurrence", graph_ids=graph_ids, top=top)

    graphs = _int(overview.get("graphs"))
    nodes = _int(overview.get("nodes"))
    models_ok = sum(r["models_ok"] for r in by_task)  # every model has one task row ('' when none)
    doc = {
        "schema_version": SCHEMA_VERSION,
        "selection": {
            "view": view,
            "task": task,
            "where": where,
            "where_params": {k: _plain(v) for k, v in sorted(given.items())},
            "graphs": graphs,
        },
        "overview": {
            "models": sum(r["models"] for r in by_task),
            "models_ok": models_ok,
            "models_failed": sum(r["models_failed"] for r in by_task),
            "graphs": graphs,
            "graphs_noattr": _int(overview.get("graphs_noattr")),
            "graphs_arch": _int(overview.get("graphs_arch")),
            "dedup_ratio": _ratio(models_ok, graphs),
            "nodes": nodes,
            "operators": _int(overview.get("operators")),
            "edges": _int(overview.get("edges")),
            "op_types": len({r["op_type"] for r in op_types}),
            # distinct (op_type, domain, attrs) = Σ over (op_type, domain) of its distinct attribute sets
            "vocabulary_with_attrs": sum(r["attr_variants"] for r in op_types),
            "vocabulary_without_attrs": len(op_types),
        },
        "by_task": by_task,
        "by_origin": _records(by_origin, ["origin", "models", "models_ok", "models_failed", "graphs"]),
        "sizes": {
            "operators": distribution(sizes["num_operators"] if len(sizes) else []),
            "edges": distribution(sizes["num_edges"] if len(sizes) else []),
            "nodes": distribution(sizes["num_nodes"] if len(sizes) else []),
        },
        "op_types": _op_types(op_types, top),
        "degrees": {"in": _degrees(in_degrees, nodes), "out": _degrees(out_degrees, nodes)},
        "structure": _structure(structure, features, graphs),
        "cooccurrence": _records(cooccurrence, ["producer", "consumer", "edges", "graphs"]),
    }
    if corpus_map:
        from younger_graph.stats.corpus_map import corpus_map as make_map

        doc["map"] = make_map(store, graph_ids)
        tick("map")
    return doc


# -- selection ----------------------------------------------------------------------------------
def _where_graph_ids(store: Any, where: str, params: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    """The graph ids the --where query returns, and the parameters given to it (typed)."""
    try:
        q = resolve(where)
        bound = q.bind(params)
    except QueryLibraryError as exc:
        raise StatsError(f"--where: {exc}") from None
    if q.writes:
        raise StatsError(f"--where query {q.name} modifies the store; it must only read")
    df = store.run(q.text_for(store.backend), bound)
    if "graph_id" not in df.columns:
        columns = ", ".join(map(str, df.columns)) or "none"
        raise StatsError(f"--where query {q.name} returns no graph_id column (it returns: {columns})")
    return sorted({g for g in df["graph_id"] if isinstance(g, str)}), {k: bound.get(k, v) for k, v in params.items()}


# -- distributions ------------------------------------------------------------------------------
def log2_bins(values: np.ndarray) -> list[dict[str, Any]]:
    """Integer values → bins [0,0], [1,1], [2,3], [4,7], ... from the bin of the smallest value to the
    bin of the largest (empty bins in between kept); `lo`/`hi` inclusive. Negative values are skipped."""
    v = np.asarray(values, dtype=np.int64)
    v = v[v >= 0]
    if v.size == 0:
        return []
    keys = np.array([int(x).bit_length() for x in v.tolist()], dtype=np.int64)  # 0 → 0, 1 → 1, 2..3 → 2, ...
    counts = np.bincount(keys)
    bins = []
    for k in range(int(keys.min()), int(keys.max()) + 1):
        lo, hi = (0, 0) if k == 0 else (1 << (k - 1), (1 << k) - 1)
        bins.append({"lo": lo, "hi": hi, "count": int(counts[k])})
    return bins


def linear_bins(values: np.ndarray, width: float) -> list[dict[str, Any]]:
    """Float values → bins [k·width, (k+1)·width) from the smallest to the largest value's bin."""
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0:
        return []
    keys = np.floor(v / width).astype(np.int64)
    first = int(keys.min())
    counts = np.bincount(keys - first)
    return [{"lo": (first + i) * width, "hi": (first + i + 1) * width, "count": int(c)} for i, c in enumerate(counts)]


def distribution(values: Any, *, bins: str = "log2") -> dict[str, Any]:
    """count, min, max, mean, median, p90 (linear interpolation) and a histogram of `values`."""
    v = np.asarray(pd.Series(values, dtype="float64").dropna(), dtype=np.float64)
    integral = bins == "log2"
    label = bins if integral else f"linear:{ENTROPY_BIN:g}"
    if v.size == 0:
        return {"count": 0, "min": None, "max": None, "mean": None, "median": None, "p90": None,
                "bins": label, "histogram": []}
    histogram = log2_bins(v.astype(np.int64)) if integral else linear_bins(v, ENTROPY_BIN)
    return {
        "count": int(v.size),
        "min": int(v.min()) if integral else float(v.min()),
        "max": int(v.max()) if integral else float(v.max()),
        "mean": float(v.mean()),
        "median": float(np.percentile(v, 50)),
        "p90": float(np.percentile(v, 90)),
        "bins": label,
        "histogram": histogram,
    }


def _op_types(rows: list[dict[str, Any]], top: int) -> dict[str, Any]:
    rows = [dict(r) for r in rows]
    total = sum(r["occurrences"] for r in rows)
    for r in rows:
        r["share"] = _ratio(r["occurrences"], total)
    by_occ = sorted(rows, key=lambda r: (-r["occurrences"], r["op_type"], r["domain"]))[:top]
    by_graphs = sorted(rows, key=lambda r: (-r["graphs"], -r["occurrences"], r["op_type"], r["domain"]))[:top]
    return {"distinct": len(rows), "occurrences": total, "top": top, "by_occurrences": by_occ,
            "by_graphs": by_graphs}


def _degrees(df: pd.DataFrame, nodes: int) -> dict[str, Any]:
    """The query lists degrees ≥ 1; the nodes it does not count have degree 0."""
    rows = sorted((r for r in _records(df, ["degree", "nodes"]) if r["degree"] > 0), key=lambda r: r["degree"])
    zero = nodes - sum(r["nodes"] for r in rows)
    if zero:
        rows.insert(0, {"degree": 0, "nodes": zero})
    total = sum(r["degree"] * r["nodes"] for r in rows)
    return {
        "nodes": nodes,
        "mean": _ratio(total, nodes),
        "max": rows[-1]["degree"] if rows else None,
        "histogram": rows,
    }


def _structure(df: pd.DataFrame, features: dict[str, Any], graphs: int) -> dict[str, Any]:
    have = df.dropna(subset=["depth"]) if len(df) else df
    acyclic = have[have["depth"] >= 0] if len(have) else have

    def col(frame: pd.DataFrame, name: str) -> Any:
        return frame[name] if len(frame) else []

    counts = {k: _int(features.get(k)) for k in ("control_flow", "subgraphs", "functions", "custom_domain",
                                                   "multi_component", "cyclic", "missing_metrics")}
    return {
        "graphs": graphs,
        "with_metrics": len(have),
        "depth": distribution(col(acyclic, "depth")),
        "width": distribution(col(acyclic, "width")),
        "entropy": distribution(col(have, "op_type_entropy"), bins="linear"),
        "components": distribution(col(have, "num_components")),
        "op_types_per_graph": distribution(col(have, "num_op_types")),
        "max_in_degree": distribution(col(have, "max_in_degree")),
        "max_out_degree": distribution(col(have, "max_out_degree")),
        "counts": counts,
        "fractions": {k: _ratio(v, graphs) for k, v in counts.items()},
    }


# -- small helpers ------------------------------------------------------------------------------
def _one_row(df: pd.DataFrame) -> dict[str, Any]:
    return df.iloc[0].to_dict() if len(df) else {}


def _records(df: pd.DataFrame, columns: list[str]) -> list[dict[str, Any]]:
    if not len(df):
        return []
    return [{c: _plain(row[c]) for c in columns} for row in df.to_dict(orient="records")]


def _plain(value: Any) -> Any:
    """numpy / pandas scalars → JSON-able Python values; NaN → None; integral floats stay floats."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _int(value: Any) -> int:
    value = _plain(value)
    return 0 if value is None else int(value)


def _ratio(a: float, b: float) -> float | None:
    return None if not b else float(a) / float(b)
