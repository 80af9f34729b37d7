"""Whole extraction tables as the rows an empty embedded store is bulk-loaded with.

The per-graph load (store/base.py) groups rows by graph to commit whole graphs; a bulk load into an
empty store needs none of that: each table is read in large slices and turned into the store's rows
(integer operator keys, typed `attr_*` columns) with vectorised Arrow/numpy work only.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from younger_graph.errors import StoreError
from younger_graph.schema import SCHEMAS
from younger_graph.store.base import GRAPH_COLUMNS, GraphChunk
from younger_graph.store.properties import AttributeFlattener
from younger_graph.tables import read_table, table_path

# (progress stage, node label or relationship type, rows, rows of the stage done, rows of the stage)
Step = tuple[str, str, pa.Table, int, int]
FLOW_PROPERTIES = ("src_slot", "dst_slot", "scope", "tensor", "dtype", "shape")


def operator_keys(serials: np.ndarray, idx: pa.ChunkedArray | pa.Array) -> pa.Array:
    """INT64 operator keys `serial << 32 | idx` (docs/schema.md)."""
    return pa.array((serials << 32) | np.asarray(idx.to_numpy(zero_copy_only=False), dtype=np.int64))


def row_serials(graph_ids: pa.Array, of_rows: pa.ChunkedArray | pa.Array, table: str) -> np.ndarray:
    """Each row's graph serial, where graph i of graphs.parquet has serial i."""
    index = pc.index_in(of_rows, value_set=graph_ids)
    if index.null_count:
        raise StoreError(f"{table}.parquet has rows of graphs that graphs.parquet does not list")
    return index.to_numpy(zero_copy_only=False).astype(np.int64)


def embedded_steps(folder: Path, kinds: dict[str, str], arrow_types: dict[str, pa.DataType],
                   slice_rows: int) -> Iterator[Step]:
    """Graph nodes (serials 0..n-1), then Operator + CONTAINS and FLOWS, slice by slice."""
    graphs = read_table(folder, "graphs")
    graph_ids = graphs.column("graph_id").combine_chunks()
    serials = pa.array(np.arange(graphs.num_rows, dtype=np.int64))
    yield "graphs", "Graph", graphs.select(GRAPH_COLUMNS).append_column("serial", serials), graphs.num_rows, \
        graphs.num_rows
    flattener = AttributeFlattener(kinds)
    empty_edges = SCHEMAS["edges"].empty_table()
    total = _rows(folder, "operators")
    done = 0
    for ops in _slices(folder, "operators", slice_rows):
        uid = operator_keys(row_serials(graph_ids, ops.column("graph_id"), "operators"), ops.column("idx"))
        chunk = GraphChunk(graphs, ops, empty_edges)
        chunk.bound_indexed_strings()  # as the per-graph load does
        chunk.flatten_attrs(flattener)
        ops = chunk.operators
        done += ops.num_rows
        yield "operators", "Operator", pa.table({"uid": uid, **{c: ops.column(c) for c in ops.column_names},
                                                 **chunk.attr_columns(arrow_types)}), done, total
        yield "operators", "CONTAINS", pa.table({"from": ops.column("graph_id"), "to": uid}), done, total
    total, done = _rows(folder, "edges"), 0
    for edges in _slices(folder, "edges", slice_rows):
        edge_serials = row_serials(graph_ids, edges.column("graph_id"), "edges")
        done += edges.num_rows
        yield "edges", "FLOWS", pa.table({
            "from": operator_keys(edge_serials, edges.column("src")),
            "to": operator_keys(edge_serials, edges.column("dst")),
            **{c: edges.column(c) for c in FLOW_PROPERTIES},
        }), done, total


def _rows(folder: Path, table: str) -> int:
    path = table_path(folder, table)
    return pq.ParquetFile(path).metadata.num_rows if path.exists() else 0


def _slices(folder: Path, table: str, rows: int) -> Iterator[pa.Table]:
    path = table_path(folder, table)
    if not path.exists():
        return
    pending: list[pa.RecordBatch] = []
    count = 0
    for batch in pq.ParquetFile(path).iter_batches(batch_size=min(rows, 1_000_000)):
        pending.append(batch)
        count += batch.num_rows
        if count >= rows:
            yield pa.Table.from_batches(pending)
            pending, count = [], 0
    if pending:
        yield pa.Table.from_batches(pending)
