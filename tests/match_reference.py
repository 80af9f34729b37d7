"""An independent count of pattern occurrences, straight from the Parquet tables with networkx.

Each (graph, scope) of operators.parquet becomes a networkx DiGraph whose edges carry the set of
(src_slot, dst_slot) pairs of edges.parquet; the pattern becomes a DiGraph whose edges carry the slot
pairs they require (none for a chain flow). `DiGraphMatcher.subgraph_monomorphisms_iter` then lists
every node-injective mapping with matching nodes and every pattern edge present (extra edges
allowed): the definition of an occurrence in younger_graph/match.py, computed without Cypher,
without the store and without matching attribute text (attributes are compared as parsed JSON).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import networkx as nx
import pandas as pd
from networkx.algorithms.isomorphism import DiGraphMatcher

DEFAULT_DOMAINS = ("", "ai.onnx")


def pattern_graph(pattern) -> nx.DiGraph:  # type: ignore[no-untyped-def]
    g = nx.DiGraph()
    for i, node in enumerate(pattern.nodes):
        g.add_node(i, op_type=node.op_type, domain=node.domain,
                   attrs={name: json.loads(value) for name, value in node.attrs})
    for f in pattern.flows:
        if not g.has_edge(f.src, f.dst):
            g.add_edge(f.src, f.dst, slots=set())
        if f.src_slot is not None:
            g.edges[f.src, f.dst]["slots"].add((f.src_slot, f.dst_slot))
    return g


def _same_value(a: object, b: object) -> bool:
    return type(a) is type(b) and a == b


def _node_match(target: dict, want: dict) -> bool:
    if target["kind"] != "operator" or target["op_type"] != want["op_type"]:
        return False
    domain = want["domain"]
    if domain is not None:
        if domain in DEFAULT_DOMAINS:
            if target["domain"] not in DEFAULT_DOMAINS:
                return False
        elif target["domain"] != domain:
            return False
    if want["attrs"]:
        have = json.loads(target["attrs"] or "{}")
        return all(name in have and _same_value(have[name], value) for name, value in want["attrs"].items())
    return True


def _edge_match(target: dict, want: dict) -> bool:
    return want["slots"] <= target["slots"]


def scope_graphs(operators: pd.DataFrame, edges: pd.DataFrame) -> Iterator[tuple[str, str, nx.DiGraph]]:
    """(graph_id, scope, DiGraph of that scope's nodes and the flows between them)."""
    edges_by = dict(tuple(edges.groupby("graph_id")))
    for gid, ops in operators.groupby("graph_id"):
        e = edges_by.get(gid, edges.iloc[0:0])
        scope_of = dict(zip(ops["idx"].tolist(), ops["scope"].tolist()))
        for scope, members in ops.groupby("scope"):
            g = nx.DiGraph()
            for row in members.itertuples(index=False):
                g.add_node(int(row.idx), kind=row.kind, op_type=row.op_type, domain=row.domain, attrs=row.attrs)
            for s, d, ss, ds in zip(e["src"].tolist(), e["dst"].tolist(), e["src_slot"].tolist(),
                                    e["dst_slot"].tolist()):
                if scope_of.get(s) == scope and scope_of.get(d) == scope:
                    if not g.has_edge(s, d):
                        g.add_edge(s, d, slots=set())
                    g.edges[s, d]["slots"].add((int(ss), int(ds)))
            yield str(gid), str(scope), g


def occurrences(operators: pd.DataFrame, edges: pd.DataFrame, pattern) -> list[tuple[str, str, tuple[int, ...]]]:  # type: ignore[no-untyped-def]
    """Every occurrence as (graph_id, scope, operator idx per pattern node), sorted."""
    want = pattern_graph(pattern)
    types = {n.op_type for n in pattern.nodes}
    kept = operators[operators["op_type"].isin(types) & (operators["kind"] == "operator")]
    graphs = set(kept["graph_id"])
    ops = operators[operators["graph_id"].isin(graphs)]
    found = []
    for gid, scope, g in scope_graphs(ops, edges[edges["graph_id"].isin(graphs)]):
        matcher = DiGraphMatcher(g, want, node_match=_node_match, edge_match=_edge_match)
        for mapping in matcher.subgraph_monomorphisms_iter():
            inverse = {p: t for t, p in mapping.items()}
            found.append((gid, scope, tuple(inverse[i] for i in range(len(pattern.nodes)))))
    return sorted(found)
