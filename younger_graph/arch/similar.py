"""`similar`: the stored architectures nearest to a model (docs/arch.md).

A query is a model file (or zoo ref, or Younger instance folder: extracted on the fly, never
stored), a graph_id in the store, or a model name in the store. Its embedding (`younger_graph.arch.
embed`, of the architecture view by default) is compared with every stored one through the store's
index (`Store.nearest`: an exact numpy scan on the embedded store, Neo4j's vector index on Neo4j),
and the k nearest graphs other than the query's own graph come back with their models and tasks.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from younger_graph.errors import QueryError, SimilarityError, UsageError
from younger_graph.views import check_view

if TYPE_CHECKING:
    import pandas as pd

    from younger_graph.store.base import Store

COLUMNS = ["query", "query_graph_id", "rank", "graph_id", "score", "models", "tasks", "graph_id_arch",
           "num_operators"]
GRAPH_ID = re.compile(r"[0-9a-f]{32}")


@dataclass
class QueryGraph:
    """One graph a query stands for: its id (None for a file whose graph is not stored) and vector."""

    query: str
    graph_id: str | None
    vector: np.ndarray


def no_embeddings(store: Store) -> SimilarityError:
    return SimilarityError(f"the store has no embeddings yet: run `younger-graph embed --db {store.location}` "
                           "(graphs loaded by this version get them at load)")


def stored_vectors(store: Store, view: str, ids: list[str] | None = None) -> tuple[list[str], np.ndarray]:
    """(graph ids, unit vectors [n, dim]) of the stored embeddings of a view (of `ids`, or all)."""
    return store.embeddings(view, ids)


def extracted_graph(source: str) -> Any:
    """The graph a model file extracts to (walk.builder.BuiltGraph); SimilarityError with the walker's
    one-line reason when it does not."""
    from younger_graph.inspection import extract_one

    result = extract_one(source)
    if not result.ok or result.graph is None:
        raise SimilarityError(f"{source}: {result.row['error']}")
    return result.graph


def _file_vector(source: str, view: str) -> QueryGraph:
    from younger_graph.arch.embed import embed, embed_tables
    from younger_graph.views import arch_of

    g = extracted_graph(source)
    if view == "arch":
        vector = embed([arch_of(g.operators, g.edges)])[0]
    else:
        vector = embed_tables([g.graph_id], {g.graph_id: g.operators}, {g.graph_id: g.edges})[0]
    return QueryGraph(source, g.graph_id, vector)


def is_model_source(query: str) -> bool:
    from younger_graph.extract.sources import is_zoo_ref

    return os.path.exists(query) or is_zoo_ref(query) or query.lower().endswith(".onnx")


def resolve_query(store: Store, query: str, view: str) -> list[QueryGraph]:
    """The graphs a query argument stands for (module docstring); SimilarityError when none."""
    if is_model_source(query):
        if not os.path.exists(query) and query.lower().endswith(".onnx"):
            raise SimilarityError(f"{query}: no such file")
        return [_file_vector(query, view)]
    if GRAPH_ID.fullmatch(query):
        ids, vectors = stored_vectors(store, view, [query])
        if ids:
            return [QueryGraph(query, query, vectors[0])]
        found = store.run("MATCH (g:Graph) WHERE g.graph_id = $id RETURN g.graph_id AS graph_id", {"id": query})
        if len(found):
            raise SimilarityError(f"graph {query} has no {view} embedding: run `younger-graph embed --db "
                                  f"{store.location}`")
        raise SimilarityError(f"no graph {query} in the store")
    graphs = store.query("graphs_of_model_name", name=query)
    ids = [str(g) for g in graphs["graph_id"]] if len(graphs) else []
    if not ids:
        raise SimilarityError(f"{query!r} is not a model file, a graph_id in the store or the name of a stored "
                              "model")
    found_ids, vectors = stored_vectors(store, view, ids)
    if not found_ids:
        raise SimilarityError(f"the graphs of model {query!r} have no {view} embedding: run `younger-graph embed "
                              f"--db {store.location}`")
    # ordered by graph id: a name's graphs come back in the same order from every backend
    return sorted((QueryGraph(query, gid, vec) for gid, vec in zip(found_ids, vectors)), key=lambda q: q.graph_id)


def similar(store: Store, queries: list[str] | str, k: int = 10, view: str = "arch") -> pd.DataFrame:
    """For each query, the k nearest stored graphs (its own graph excluded): one row per (query graph,
    rank) with `score` (cosine similarity of the embeddings, 0..1, higher is closer), the graph's
    models, tasks, architecture hash and operator count (COLUMNS)."""
    import pandas as pd

    check_view(view)
    if isinstance(queries, str):
        queries = [queries]
    if k < 1:
        raise UsageError(f"--k must be at least 1, not {k}")
    if not queries:
        raise UsageError("give at least one QUERY (a model file, a graph_id or a model name)")
    counts = embedding_counts(store)
    if not counts.get(f"with_{view}"):
        raise no_embeddings(store)
    resolved = [q for query in queries for q in resolve_query(store, query, view)]
    nearest = store.nearest(np.stack([q.vector for q in resolved]), k + 1, view)
    rows: list[dict[str, Any]] = []
    for q, found in zip(resolved, nearest):
        kept = [(gid, score) for gid, score in found if gid != q.graph_id][:k]
        for rank, (gid, score) in enumerate(kept, 1):
            rows.append({"query": q.query, "query_graph_id": q.graph_id, "rank": rank, "graph_id": gid,
                         "score": round(float(min(max(score, 0.0), 1.0)), 6)})
    labels = graph_labels(store, sorted({r["graph_id"] for r in rows}))
    for r in rows:
        r.update(labels.get(r["graph_id"], {}))
    return pd.DataFrame(rows, columns=COLUMNS)


def embedding_counts(store: Store) -> dict[str, int]:
    try:
        df = store.query("embedding_counts")
    except QueryError:  # a store created before the architecture view existed
        return {}
    row = df.iloc[0].to_dict() if len(df) else {}
    return {k: int(v) if v == v and v is not None else 0 for k, v in row.items()}


def graph_labels(store: Store, ids: list[str]) -> dict[str, dict[str, Any]]:
    """graph id → models (names joined by ', '), tasks, graph_id_arch, num_operators."""
    if not ids:
        return {}
    df = store.query("graph_labels", ids=ids)
    out = {}
    for row in df.to_dict(orient="records"):
        out[row["graph_id"]] = {
            "models": ", ".join(sorted({str(m) for m in row["models"] or [] if m})),
            "tasks": ", ".join(sorted({str(t) for t in row["tasks"] or [] if t})),
            "graph_id_arch": row["graph_id_arch"],
            "num_operators": row["num_operators"],
        }
    return out


__all__ = ["COLUMNS", "QueryGraph", "embedding_counts", "extracted_graph", "graph_labels", "resolve_query", "similar",
           "stored_vectors"]
