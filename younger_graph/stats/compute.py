"""Corpus statistics from a store, as one JSON document (schema in docs/stats.md).

Everything comes from the named `stats_*` queries in cypher/stats/, run on the store: operators and
edges are never loaded into Python. Per-graph aggregates (sizes, depth, width, entropy, components)
are Graph properties computed at extraction (younger_graph/metrics.py), so the per-graph queries
return one row per graph and percentiles and histograms are computed here with numpy.

The document holds only values derived from the data (no backend name, path or time), so the same
data gives the same document on every backend.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from younger_graph.errors import QueryLibraryError, StatsError
from younger_graph.query import resolve
from younger_graph.stats.communities import COMMUNITY_QUERIES, community_methods, community_section
from younger_graph.stats.values import as_int, distribution, plain, ratio
from younger_graph.views import check_view

SCHEMA_VERSION = 2  # 2: the `communities` section
TOP = 30

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
    steps = len(STATS_QUERIES) + 1 + (1 if where else 0) + (1 if task else 0) + (1 if corpus_map else 0)
    done = 0

    def tick(label: str) -> None:
        nonlocal done
        done += 1
        if on_progress:
            on_progress(label, done, max(steps, done))

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
    methods = community_methods(store, graph_ids)
    tick("stats_community_methods")
    steps += len(methods) * COMMUNITY_QUERIES

    graphs = as_int(overview.get("graphs"))
    nodes = as_int(overview.get("nodes"))
    models_ok = sum(r["models_ok"] for r in by_task)  # every model has one task row ('' when none)
    doc = {
        "schema_version": SCHEMA_VERSION,
        "selection": {
            "view": view,
            "task": task,
            "where": where,
            "where_params": {k: plain(v) for k, v in sorted(given.items())},
            "graphs": graphs,
        },
        "overview": {
            "models": sum(r["models"] for r in by_task),
            "models_ok": models_ok,
            "models_failed": sum(r["models_failed"] for r in by_task),
            "graphs": graphs,
            "graphs_noattr": as_int(overview.get("graphs_noattr")),
            "graphs_arch": as_int(overview.get("graphs_arch")),
            "dedup_ratio": ratio(models_ok, graphs),
            "nodes": nodes,
            "operators": as_int(overview.get("operators")),
            "edges": as_int(overview.get("edges")),
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
    if len(methods):  # only once `younger-graph communities` has written some
        doc["communities"] = community_section(store, run, methods, graph_ids, top)
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


def _op_types(rows: list[dict[str, Any]], top: int) -> dict[str, Any]:
    rows = [dict(r) for r in rows]
    total = sum(r["occurrences"] for r in rows)
    for r in rows:
        r["share"] = ratio(r["occurrences"], total)
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
        "mean": ratio(total, nodes),
        "max": rows[-1]["degree"] if rows else None,
        "histogram": rows,
    }


def _structure(df: pd.DataFrame, features: dict[str, Any], graphs: int) -> dict[str, Any]:
    have = df.dropna(subset=["depth"]) if len(df) else df
    acyclic = have[have["depth"] >= 0] if len(have) else have

    def col(frame: pd.DataFrame, name: str) -> Any:
        return frame[name] if len(frame) else []

    counts = {k: as_int(features.get(k)) for k in ("control_flow", "subgraphs", "functions", "custom_domain",
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
        "fractions": {k: ratio(v, graphs) for k, v in counts.items()},
    }


# -- small helpers ------------------------------------------------------------------------------
def _one_row(df: pd.DataFrame) -> dict[str, Any]:
    return df.iloc[0].to_dict() if len(df) else {}


def _records(df: pd.DataFrame, columns: list[str]) -> list[dict[str, Any]]:
    if not len(df):
        return []
    return [{c: plain(row[c]) for c in columns} for row in df.to_dict(orient="records")]
