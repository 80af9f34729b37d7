"""`export pyg`, stage 2a: `raw/` as flat numpy arrays (nodes and edges of every graph, in graph order).

Node i of every graph is operator idx i; `GraphArrays` holds token codes per node and, unless the
edges are streamed (`flow_chunks`, `EdgeStream`), every flow as edge_index / edge_attr, checked
against the graph and node counts of raw/graphs.parquet while it is read.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from younger_graph.errors import ExportError
from younger_graph.export.features import AttrTable
from younger_graph.export.vocab import TokenTable


@dataclass
class GraphArrays:
    """Every raw graph as flat arrays: nodes of graph g are codes[node_ptr[g]:node_ptr[g+1]] (idx order),
    its edges src/dst/slots[edge_ptr[g]:edge_ptr[g+1]] with node numbers local to the graph."""

    ids: list[str]
    node_ptr: np.ndarray
    edge_ptr: np.ndarray
    codes: np.ndarray  # int32 code into table.tokens per node
    edge_index: np.ndarray | None  # int64 [2, E]: src, dst (the tensors' layout, so Data objects take views)
    edge_attr: np.ndarray | None  # int64 [E, 2]: src_slot, dst_slot; both None: edges not held (streamed)
    table: TokenTable
    attr_codes: np.ndarray | None = None  # --attr-features: int32 row of attr_table per node
    attr_table: np.ndarray | None = None  # float32 [distinct attrs, F]

    @property
    def src(self) -> np.ndarray:
        assert self.edge_index is not None
        return self.edge_index[0]

    @property
    def dst(self) -> np.ndarray:
        assert self.edge_index is not None
        return self.edge_index[1]

    @property
    def num_nodes(self) -> np.ndarray:
        return np.diff(self.node_ptr)

    @property
    def num_edges(self) -> np.ndarray:
        return np.diff(self.edge_ptr)

    def row_of(self) -> dict[str, int]:
        return {g: i for i, g in enumerate(self.ids)}

    def attr_rows(self, nodes: np.ndarray | slice) -> np.ndarray:
        """float32 [n, F]: the attribute features of the given flat node positions."""
        assert self.attr_codes is not None and self.attr_table is not None
        return self.attr_table[self.attr_codes[nodes]]


def rows_for(graph_ids: pa.Array | pa.ChunkedArray, row_of: dict[str, int], what: str) -> np.ndarray:
    enc = pc.dictionary_encode(graph_ids)
    if isinstance(enc, pa.ChunkedArray):
        enc = enc.combine_chunks()
    try:
        lookup = np.array([row_of[g] for g in enc.dictionary.to_pylist()], dtype=np.int64)
    except KeyError as exc:
        raise ExportError(f"raw/{what}.parquet has rows of graph {exc.args[0]} "
                          "missing from raw/graphs.parquet") from None
    return lookup[enc.indices.to_numpy(zero_copy_only=False)]


def read_arrays(raw: Path, view: str, batch_rows: int = 100_000, *, attr_features: bool = False,
                edges: bool = True) -> GraphArrays:
    """raw/ as flat arrays; `edges=False` leaves the flows on disk (read later with `flow_chunks`)."""
    graphs = pq.read_table(raw / "graphs.parquet")
    ids = graphs.column("graph_id").to_pylist()
    if ids != sorted(ids) or len(set(ids)) != len(ids):
        raise ExportError("raw/graphs.parquet is not sorted by unique graph_id")
    row_of = {g: i for i, g in enumerate(ids)}
    node_ptr = np.concatenate([[0], np.cumsum(graphs.column("num_nodes").to_numpy())]).astype(np.int64)
    edge_ptr = np.concatenate([[0], np.cumsum(graphs.column("num_edges").to_numpy())]).astype(np.int64)
    table = TokenTable(view)
    codes = np.empty(int(node_ptr[-1]), dtype=np.int32)
    attrs = AttrTable() if attr_features else None
    attr_codes = np.empty(len(codes), dtype=np.int32) if attrs else None
    pos = 0
    with_attrs = view == "attrs" or attr_features
    columns = ["graph_id", "idx", "op_type", "domain"] + (["attrs"] if with_attrs else [])
    for batch in pq.ParquetFile(raw / "operators.parquet").iter_batches(batch_size=batch_rows, columns=columns):
        n = batch.num_rows
        if pos + n > len(codes):
            raise ExportError("raw/operators.parquet has more rows than raw/graphs.parquet counts")
        rows = rows_for(batch.column("graph_id"), row_of, "operators")
        idx = batch.column("idx").to_numpy(zero_copy_only=False).astype(np.int64)
        if not np.array_equal(idx, np.arange(pos, pos + n) - node_ptr[rows]):
            raise ExportError("raw/operators.parquet is not grouped by graph in idx order 0..n-1 "
                              "(operator idx must be contiguous within a graph)")
        codes[pos:pos + n] = table.encode(batch.column("op_type"), batch.column("domain"),
                                          batch.column("attrs") if view == "attrs" else None)
        if attrs is not None and attr_codes is not None:
            attr_codes[pos:pos + n] = attrs.encode(batch.column("attrs"))
        pos += n
    if pos != len(codes):
        raise ExportError("raw/operators.parquet has fewer rows than raw/graphs.parquet counts")
    arrays = GraphArrays(ids, node_ptr, edge_ptr, codes, None, None, table, attr_codes,
                         attrs.matrix() if attrs else None)
    if edges:
        n_edges = int(edge_ptr[-1])
        arrays.edge_index = np.empty((2, n_edges), dtype=np.int64)
        arrays.edge_attr = np.empty((n_edges, 2), dtype=np.int64)
        pos = 0
        for ei, ea in flow_chunks(raw, arrays, batch_rows):
            arrays.edge_index[:, pos:pos + len(ea)] = ei
            arrays.edge_attr[pos:pos + len(ea)] = ea
            pos += len(ea)
    return arrays


def flow_chunks(raw: Path, arrays: GraphArrays, batch_rows: int = 100_000) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """raw/flows.parquet in order, chunk by chunk: (edge_index int64 [2, n], edge_attr int64 [n, 2]),
    checked against the graphs and node counts of `arrays` (the last check once every row is read)."""
    edge_ptr = arrays.edge_ptr
    n_edges = int(edge_ptr[-1])
    num_nodes = arrays.num_nodes
    row_of = arrays.row_of()
    seen = np.zeros(len(arrays.ids), dtype=np.int64)
    pos, last = 0, 0
    for batch in pq.ParquetFile(raw / "flows.parquet").iter_batches(batch_size=batch_rows):
        n = batch.num_rows
        if n == 0:
            continue
        if pos + n > n_edges:
            raise ExportError("raw/flows.parquet has more rows than raw/graphs.parquet counts")
        rows = rows_for(batch.column("graph_id"), row_of, "flows")
        if np.any(np.diff(rows) < 0) or rows[0] < last:
            raise ExportError("raw/flows.parquet is not grouped by graph in the order of raw/graphs.parquet")
        last = int(rows[-1])
        seen += np.bincount(rows, minlength=len(seen))
        ei = np.stack([_int64(batch, "src"), _int64(batch, "dst")])
        ea = np.stack([_int64(batch, "src_slot"), _int64(batch, "dst_slot")], axis=1)
        if ei.min() < 0 or np.any(ei >= num_nodes[rows]):
            raise ExportError("raw/flows.parquet has an edge whose endpoint is not an operator of its graph")
        yield ei, ea
        pos += n
    if pos != n_edges or not np.array_equal(seen, np.diff(edge_ptr)):
        raise ExportError("raw/flows.parquet does not match the edge counts of raw/graphs.parquet")


def _int64(batch: pa.RecordBatch, name: str) -> np.ndarray:
    return batch.column(name).to_numpy(zero_copy_only=False).astype(np.int64)


class EdgeStream:
    """The edges of graphs taken in increasing flat position, read from `flow_chunks` as needed: only
    the chunks spanning the current graph are held."""

    def __init__(self, chunks: Iterator[tuple[np.ndarray, np.ndarray]]) -> None:
        self._chunks = chunks
        self._start = 0  # flat position of the buffer's first edge
        self._ei = np.zeros((2, 0), dtype=np.int64)
        self._ea = np.zeros((0, 2), dtype=np.int64)

    def take(self, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        """edge_index [2, hi-lo] and edge_attr [hi-lo, 2] of flat positions lo..hi (lo never decreases)."""
        if lo < self._start:
            raise ValueError("EdgeStream.take: positions must not decrease")
        cut = lo - self._start
        self._ei, self._ea, self._start = self._ei[:, cut:], self._ea[cut:], lo
        while self._start + len(self._ea) < hi:
            ei, ea = next(self._chunks)
            self._ei, self._ea = np.concatenate([self._ei, ei], axis=1), np.concatenate([self._ea, ea])
        return self._ei[:, :hi - lo], self._ea[:hi - lo]

    def finish(self) -> None:
        """Read the remaining rows, so the end-of-file checks of `flow_chunks` run."""
        for _ in self._chunks:
            pass


def content_fingerprint(arrays: GraphArrays) -> str:
    """sha256 over the exported graphs' ids with their node and edge counts, in id order."""
    h = hashlib.sha256()
    for gid, n, e in zip(arrays.ids, arrays.num_nodes.tolist(), arrays.num_edges.tolist()):
        h.update(f"{gid}\t{n}\t{e}\n".encode())
    return h.hexdigest()


