"""`embed`: give a store's graphs their architecture view and embeddings (docs/arch.md).

Graphs loaded by this version already have both (the load computes them). This is for the rest:

1. graphs loaded before the architecture view existed (no `arch_num_nodes`): their exact operators
   and flows are read back (younger_graph.reading), the view is computed (younger_graph.views, the
   same function the load runs) and written: ArchOperator nodes, ARCH_CONTAINS, ARCH_FLOWS, the
   `arch_*` Graph properties, graph_id_arch where the tables had none, and the embeddings;
2. graphs whose embeddings are missing or of another `EMBED_VERSION` (or all, with `force`): the
   embeddings are recomputed from what the store holds, reading only op types, convolution
   attributes and flow ends (the architecture view from ArchOperator/ARCH_FLOWS, the exact one from
   Operator/FLOWS), many graphs per statement.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from younger_graph.views import arch_chunk, cypher

if TYPE_CHECKING:
    from younger_graph.store.base import Store

Progress = Callable[[str, int, int], None]
BATCH_NODES = 500_000  # stored nodes read per statement when recomputing embeddings
VIEW_BATCH_NODES = 100_000  # exact nodes per batch when computing missing views (rows travel as Python objects)
ROWS_PER_STATEMENT = 2_000


@dataclass
class EmbedSummary:
    graphs: int = 0
    views_added: int = 0
    embedded: int = 0
    skipped: int = 0
    warnings: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (f"{self.graphs} graphs: architecture view added to {self.views_added}, embeddings computed for "
                f"{self.embedded}, {self.skipped} already up to date")

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def embed_store(store: Store, *, force: bool = False, on_progress: Progress | None = None) -> EmbedSummary:
    """Add the architecture view and embeddings where a store lacks them (module docstring);
    `force` recomputes every embedding. The store must be open for writing."""
    from younger_graph.arch.embed import EMBED_VERSION
    from younger_graph.reading import batches

    store.require_writable()
    store.ensure_schema({}, [])  # the view's node tables and Graph properties (stores older than them)
    summary = EmbedSummary()
    missing = store.query("graphs_without_view")
    summary.graphs = int(store.run("MATCH (g:Graph) RETURN count(g) AS n")["n"].iloc[0])
    done = 0
    for ids in batches(_sized(missing), VIEW_BATCH_NODES):
        add_views(store, ids)
        done += len(ids)
        summary.views_added += len(ids)
        if on_progress:
            on_progress("architecture views", done, len(missing))
    have = store.query("graphs_with_view")
    stale = have if force else have[have["embedding_version"].astype(str) != EMBED_VERSION]
    stale = stale[~stale["graph_id"].isin(set(missing["graph_id"]) if len(missing) else set())]
    summary.skipped = len(have) - len(stale) - len(missing)
    done = 0
    for ids in batches(_sized(stale), BATCH_NODES, max_graphs=5_000):
        write_embeddings(store, ids, *recompute_embeddings(store, ids))
        done += len(ids)
        summary.embedded += len(ids)
        if on_progress:
            on_progress("embeddings", done, len(stale))
    summary.embedded += summary.views_added
    store.reset_index()
    return summary


def _sized(df: Any) -> Any:
    import pandas as pd

    if not len(df):
        return pd.DataFrame({"graph_id": [], "num_nodes": [], "num_edges": []})
    df = df.copy()
    df["num_nodes"] = pd.to_numeric(df["num_nodes"], errors="coerce").fillna(0).astype("int64")
    return df


def add_views(store: Store, ids: list[str]) -> None:
    """Compute and write the architecture view of these graphs from their stored exact graph."""
    from younger_graph.reading import read_batch
    from younger_graph.schema import EDGES_SCHEMA, OPERATORS_SCHEMA

    ops, flows = read_batch(store, ids)
    operators = pa.Table.from_pandas(ops[OPERATORS_SCHEMA.names], schema=OPERATORS_SCHEMA, preserve_index=False)
    flows = flows.assign(scope="", tensor=flows["tensor"].replace("", None), dtype=flows["dtype"].replace("", None),
                         shape=flows["shape"].replace("", None))
    edges = pa.Table.from_pandas(flows[EDGES_SCHEMA.names], schema=EDGES_SCHEMA, preserve_index=False)
    known = store.run("MATCH (g:Graph) WHERE g.graph_id IN $ids RETURN g.graph_id AS graph_id, "
                      "g.graph_id_arch AS graph_id_arch", {"ids": ids})
    chunk = arch_chunk(ids, operators, edges, dict(zip(known["graph_id"], known["graph_id_arch"])))
    store.write_arch_view(chunk)
    props = chunk.graphs.drop_columns(["embedding_arch", "embedding_exact", "embedding_version"]).to_pylist()
    for start in range(0, len(props), ROWS_PER_STATEMENT):
        store.query("write_graph_views", rows=props[start:start + ROWS_PER_STATEMENT], write=True)
    embeddings = chunk.graphs.select(["graph_id", "embedding_arch", "embedding_exact", "embedding_version"])
    _write_embedding_rows(store, embeddings.to_pylist())


def _token_arrays(store: Store, ids: list[str], view: str) -> tuple[list[str], list[str], np.ndarray, np.ndarray,
                                                                      np.ndarray]:
    """(structure tokens, width tokens, src, dst, graph index) of these graphs' stored view, as one
    disjoint union (graph by graph, nodes by idx: the stores return rows in any order)."""
    from younger_graph.arch.embed import table_tokens
    from younger_graph.query import resolve

    position = {gid: i for i, gid in enumerate(ids)}
    nodes = store.run_arrow(cypher(resolve("read_tokens").text_for(store.backend), view), {"ids": ids})
    flows = store.run_arrow(cypher(resolve("read_flow_ends").text_for(store.backend), view), {"ids": ids})
    gids = nodes.column("graph_id").to_pylist()
    idx = np.asarray(nodes.column("idx").to_numpy(zero_copy_only=False), dtype=np.int64)
    graph_of = np.fromiter((position[g] for g in gids), dtype=np.int64, count=len(gids))
    order = np.lexsort((idx, graph_of))
    graph_of = graph_of[order]
    sizes = np.bincount(graph_of, minlength=len(ids))
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    structure, width = table_tokens(nodes.take(pa.array(order)))
    f_graph = np.fromiter((position[g] for g in flows.column("graph_id").to_pylist()), dtype=np.int64,
                          count=flows.num_rows)
    src = np.asarray(flows.column("src").to_numpy(zero_copy_only=False), dtype=np.int64) + offsets[f_graph]
    dst = np.asarray(flows.column("dst").to_numpy(zero_copy_only=False), dtype=np.int64) + offsets[f_graph]
    return structure, width, src, dst, graph_of


def recompute_embeddings(store: Store, ids: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(arch, exact) embeddings of these graphs from what the store holds."""
    from younger_graph.arch.embed import embed_arrays

    out = []
    for view in ("arch", "exact"):
        tokens, widths, src, dst, graph_of = _token_arrays(store, ids, view)
        out.append(embed_arrays(tokens, widths, src, dst, graph_of, len(ids)))
    return out[0], out[1]


def write_embeddings(store: Store, ids: list[str], arch: np.ndarray, exact: np.ndarray) -> None:
    from younger_graph.arch.embed import EMBED_VERSION

    rows = [{"graph_id": gid, "embedding_arch": a.tolist(), "embedding_exact": e.tolist(),
             "embedding_version": EMBED_VERSION} for gid, a, e in zip(ids, arch, exact)]
    _write_embedding_rows(store, rows)


def _write_embedding_rows(store: Store, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        store.query("write_embeddings", rows=rows[start:start + ROWS_PER_STATEMENT], write=True)


__all__ = ["EmbedSummary", "add_views", "embed_store", "recompute_embeddings",
           "write_embeddings"]
