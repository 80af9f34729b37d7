"""The `communities` section of the statistics document: the corpus's building blocks.

Read from the Community nodes `younger-graph communities` writes (docs/communities.md) by the named
`stats_community_*` queries in cypher/stats/; like the rest of `stats`, members are never loaded
into Python except for the few example blocks shown. One entry per method present in the store,
computed over the selected graphs whose communities are *current* (written with `operators` and
`modularity`; older ones are counted in `graphs_outdated` and left out until `communities` runs again).

A building block is a community holding at least one operator (kind `operator`), identified by its
hash (`hash`, or `hash_noattr` ignoring attribute values): equal hashes are the same subgraph in the
same context, wherever it occurs (docs/communities.md#hashing-and-deduplication).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from younger_graph.communities import ADDED_PROPERTIES, METHODS
from younger_graph.stats.values import as_int, distribution, plain, ratio

MODULARITY_BIN = 0.05  # width of the modularity histogram's bins
HASH_KINDS = ("hash", "hash_noattr")
COMMAND = "younger-graph communities --method cnm|louvain|wcc"  # what computes the section

Run = Callable[..., pd.DataFrame]  # run(query name, **params) → rows, ticking the progress
COMMUNITY_QUERIES = 7  # queries per method (graphs, sizes, then coverage, blocks, examples per hash kind)


def community_methods(store: Any, graph_ids: list[str] | None) -> pd.DataFrame:
    """method, graphs, communities for every method in the store (empty when none, or no Community table)."""
    if store.missing_properties("Community", ["community_id"]):
        return pd.DataFrame({"method": [], "graphs": [], "communities": []})
    return store.query("stats_community_methods", graph_ids=graph_ids)


def community_section(store: Any, run: Run, methods: pd.DataFrame, graph_ids: list[str] | None,
                      top: int) -> dict[str, Any]:
    """{method: entry} in METHODS order (then any other method name, sorted): see docs/stats.md."""
    current = not store.missing_properties("Community", sorted(ADDED_PROPERTIES))
    order = {m: i for i, m in enumerate(METHODS)}
    names = sorted((str(m) for m in methods["method"]), key=lambda m: (order.get(m, len(order)), m))
    counts = {str(r.method): as_int(r.graphs) for r in methods.itertuples()}
    out = {}
    for method in names:
        if current:
            out[method] = method_entry(run, method, graph_ids, top)
        else:  # an embedded store whose communities all predate `operators` and `modularity`
            out[method] = empty_entry(top, outdated=counts[method])
    return out


def method_entry(run: Run, method: str, graph_ids: list[str] | None, top: int) -> dict[str, Any]:
    sel = {"method": method, "graph_ids": graph_ids}
    graphs = run("stats_community_graphs", **sel)
    have = graphs[graphs["current"] > 0] if len(graphs) else graphs
    sizes = run("stats_community_sizes", **sel)
    size_counts = sizes["communities"].to_numpy(np.int64) if len(sizes) else np.zeros(0, np.int64)

    def repeated(column: str) -> np.ndarray:  # one value per community, from the (size, boundary) counts
        return np.repeat(sizes[column].to_numpy(np.int64), size_counts) if len(sizes) else np.zeros(0, np.int64)

    entry: dict[str, Any] = {
        "graphs": len(have),
        "graphs_outdated": len(graphs) - len(have),
        "communities": int(size_counts.sum()),
        "per_graph": distribution(have["communities"] if len(have) else []),
        "size": distribution(repeated("size")),
        "boundary_size": distribution(repeated("boundary_size")),
        "modularity": distribution(have["modularity"] if len(have) else [], bins="linear", width=MODULARITY_BIN),
        "blocks": {"top": top},
        "coverage": {},
    }
    for kind in HASH_KINDS:
        noattr = kind == "hash_noattr"
        cover = run("stats_community_coverage", **sel, noattr=noattr)
        cover = cover.iloc[0].to_dict() if len(cover) else {}
        ranking = _ranking(run, method, run("stats_community_blocks", **sel, noattr=noattr, top=top), noattr)
        entry["blocks"][kind] = {"distinct": as_int(cover.get("blocks")), "shared": as_int(cover.get("shared_blocks")),
                                 "ranking": ranking}
        entry["coverage"]["operators"] = as_int(cover.get("operators"))
        shared = as_int(cover.get("shared_operators"))
        entry["coverage"][kind] = {"operators": shared, "share": ratio(shared, as_int(cover.get("operators")))}
    return entry


def empty_entry(top: int, *, outdated: int) -> dict[str, Any]:
    """The entry of a method whose communities are all outdated: counts only, nothing to rank."""
    kinds = {k: {"distinct": 0, "shared": 0, "ranking": []} for k in HASH_KINDS}
    return {
        "graphs": 0, "graphs_outdated": outdated, "communities": 0,
        "per_graph": distribution([]), "size": distribution([]), "boundary_size": distribution([]),
        "modularity": distribution([], bins="linear", width=MODULARITY_BIN),
        "blocks": {"top": top, **kinds},
        "coverage": {"operators": 0, **{k: {"operators": 0, "share": None} for k in HASH_KINDS}},
    }


def _ranking(run: Run, method: str, blocks: pd.DataFrame, noattr: bool) -> list[dict[str, Any]]:
    """The ranked blocks, each with its example: the first community (by k) of the block in the first
    graph (by graph_id) holding it, and that community's operator types in idx order."""
    if not len(blocks):
        return []
    members = run("stats_community_examples", method=method, hashes=[str(h) for h in blocks["hash"]],
                  ids=sorted({str(g) for g in blocks["example_graph"]}), noattr=noattr)
    examples: dict[tuple[str, str], tuple[str, list[str], list[int]]] = {}
    if len(members):
        for (h, gid), rows in members.groupby(["hash", "graph_id"], sort=False):
            first = rows[rows["k"] == rows["k"].min()].sort_values("idx")
            examples[(str(h), str(gid))] = (str(first["community_id"].iloc[0]), [str(t) for t in first["op_type"]],
                                            [int(i) for i in first["idx"]])
    out = []
    for r in blocks.to_dict(orient="records"):
        community_id, op_types, nodes = examples.get((str(r["hash"]), str(r["example_graph"])), (None, [], []))
        out.append({
            "hash": r["hash"], "graphs": as_int(r["graphs"]), "occurrences": as_int(r["occurrences"]),
            "size": as_int(r["size"]), "operators": as_int(r["operators"]), "boundary_size": as_int(r["boundary_size"]),
            "op_types": op_types,
            "example": {"graph_id": plain(r["example_graph"]), "community_id": community_id, "nodes": nodes},
        })
    return out
