"""The embedded store's similarity index: exact cosine over every stored embedding.

Embeddings are unit vectors, so cosine is a dot product; at Younger scale (7.6k graphs of 256
floats) a query is one matrix-vector product, well under a millisecond, and the whole matrix is
7.8 MB: an approximate index (faiss, usearch) would buy nothing here (benchmarks/similarity.py
measures the query time). Neo4j uses its own vector index instead (younger_graph/store/neo4j.py).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa


def vectors_from_arrow(table: pa.Table) -> tuple[list[str], np.ndarray]:
    """(graph ids, float32 matrix) from a table of `graph_id` and list-typed `embedding` columns."""
    if table.num_rows == 0:
        return [], np.zeros((0, 0), dtype=np.float32)
    values = table.column("embedding").combine_chunks()
    flat = np.asarray(values.flatten().to_numpy(zero_copy_only=False), dtype=np.float32)
    return table.column("graph_id").to_pylist(), flat.reshape(table.num_rows, -1)


class ExactIndex:
    """Exact nearest neighbours by cosine over unit vectors (a matrix product), the embedded store's
    index: at 7.6k graphs of 256 floats a query costs well under a millisecond, so an approximate
    index buys nothing (benchmarks/similarity.py measures it)."""

    def __init__(self, ids: list[str], vectors: np.ndarray) -> None:
        self.ids = ids
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self._names = np.array(ids, dtype=str)  # ties broken by graph id: the same order on every run

    def search(self, queries: np.ndarray, k: int) -> list[list[tuple[str, float]]]:
        if not self.ids:
            return [[] for _ in range(len(queries))]
        scores = np.asarray(queries, dtype=np.float32) @ self.vectors.T
        k = min(k, len(self.ids))
        out = []
        for row in scores:
            top = np.argpartition(-row, k - 1)[:k]
            top = top[np.lexsort((self._names[top], -row[top]))]
            out.append([(self.ids[i], float(row[i])) for i in top])
        return out



__all__ = ["ExactIndex", "vectors_from_arrow"]
