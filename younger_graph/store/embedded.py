"""The embedded store: LadybugDB (the maintained continuation of Kùzu), a folder on disk.

Dialect notes (the rest of the code never needs them): tables are declared up front with a
single-column primary key, so Operator is keyed by an INT64 `uid` = `serial << 32 | idx`, where
`serial` is a Graph property numbered at load time (integer keys COPY ~2.5x faster than a
`<graph_id>:<idx>` string and keep the key index small at Younger scale); new `attr_*` properties
are added with ALTER TABLE; bulk loads are COPY FROM Arrow tables inside one explicit transaction
per chunk of graphs (all-or-nothing). Opened read-only unless a write is asked for.
"""

from __future__ import annotations

import contextlib
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from younger_graph.errors import StoreErrorKind, first_line
from younger_graph.schema import SCHEMAS
from younger_graph.store.base import (
    GRAPH_COLUMNS,
    MODEL_CORE,
    NODE_KEYS,
    REL_ENDPOINTS,
    GraphChunk,
    QueryError,
    Store,
    StoreError,
)
from younger_graph.store.properties import db_type

_ARROW_TO_DB = {pa.string(): "STRING", pa.int64(): "INT64", pa.int32(): "INT32", pa.float64(): "DOUBLE",
                pa.bool_(): "BOOLEAN"}
_DB_TO_ARROW = {"STRING": pa.string(), "INT64": pa.int64(), "INT32": pa.int32(), "DOUBLE": pa.float64(),
                "BOOLEAN": pa.bool_(), "INT64[]": pa.list_(pa.int64()), "DOUBLE[]": pa.list_(pa.float64()),
                "STRING[]": pa.list_(pa.string())}


def _columns_ddl(schema: pa.Schema, skip: tuple[str, ...] = ()) -> str:
    return ", ".join(f"{f.name} {_ARROW_TO_DB[f.type]}" for f in schema if f.name not in skip)


SCHEMA_DDL = [
    f"CREATE NODE TABLE IF NOT EXISTS Model({_columns_ddl(SCHEMAS['models'])}, PRIMARY KEY(model_id))",
    f"CREATE NODE TABLE IF NOT EXISTS Graph({_columns_ddl(SCHEMAS['graphs'])}, serial INT64, PRIMARY KEY(graph_id))",
    f"CREATE NODE TABLE IF NOT EXISTS Operator(uid INT64, {_columns_ddl(SCHEMAS['operators'])}, PRIMARY KEY(uid))",
    "CREATE REL TABLE IF NOT EXISTS INSTANCE_OF(FROM Model TO Graph)",
    "CREATE REL TABLE IF NOT EXISTS CONTAINS(FROM Graph TO Operator)",
    "CREATE REL TABLE IF NOT EXISTS FLOWS(FROM Operator TO Operator, src_slot INT32, dst_slot INT32, "
    "scope STRING, tensor STRING, dtype STRING, shape STRING)",
]
# Written by `younger-graph communities`; declared with the rest so queries naming them run (empty) before.
SCHEMA_DDL += [
    "CREATE NODE TABLE IF NOT EXISTS Community(community_id STRING, graph_id STRING, method STRING, k INT64, "
    "size INT64, boundary_size INT64, hash STRING, hash_noattr STRING, operators INT64, modularity DOUBLE, "
    "PRIMARY KEY(community_id))",
    "CREATE REL TABLE IF NOT EXISTS HAS_COMMUNITY(FROM Graph TO Community)",
    "CREATE REL TABLE IF NOT EXISTS MEMBER_OF(FROM Operator TO Community)",
]


def buffer_pool_bytes() -> int:
    """LadybugDB's buffer pool: its own default (0 → ~80% of RAM) unless YOUNGER_GRAPH_BUFFER_POOL_MB is
    set. A 4 GiB cap made the Younger-scale load fail ("buffer pool is full") at its checkpoint."""
    mb = os.environ.get("YOUNGER_GRAPH_BUFFER_POOL_MB")
    return int(mb) << 20 if mb else 0


class EmbeddedStore(Store):
    backend = "embedded"
    # Every COMMIT costs more as the database grows (1 s → 4 s per commit over the first third of a
    # Younger-scale load): 2M-row chunks make 4x fewer of them; peak memory stays ~2 GB per chunk.
    chunk_rows = 2_000_000

    def __init__(self, path: str | Path, *, write: bool = False) -> None:
        import ladybug

        self.location = str(path)
        self.writable = write
        self._serial: int | None = None  # the next Graph.serial; read from the store at the first write
        if not write and not os.path.exists(path):
            raise StoreError(f"no database at {path}: load one with `younger-graph load DIR --db {path}`",
                             StoreErrorKind.MISSING)
        try:
            self.db = ladybug.Database(str(path), read_only=not write, buffer_pool_size=buffer_pool_bytes())
            self.conn = ladybug.Connection(self.db)
        except RuntimeError as exc:
            raise StoreError(f"cannot open the embedded database at {path}: {first_line(exc)}",
                             StoreErrorKind.INVALID) from None

    def close(self) -> None:
        for obj in (getattr(self, "conn", None), getattr(self, "db", None)):
            if obj is not None:
                obj.close()

    def _execute(self, cypher: str, params: dict[str, Any] | None = None, conn: Any = None) -> Any:
        try:
            return (conn or self.conn).execute(cypher, params or {})
        except RuntimeError as exc:
            raise QueryError(str(exc).strip()) from None

    def run(self, cypher: str, params: dict[str, Any] | None = None, *, write: bool = False) -> pd.DataFrame:
        if write and not self.writable:
            raise self.read_only_error()
        result = self._execute(cypher, params)
        if isinstance(result, list):  # several statements: the last one's rows
            result = result[-1]
        names = result.get_column_names()
        rows = [[_plain(v) for v in row] for row in result.get_all()]
        return pd.DataFrame(rows, columns=names) if rows else pd.DataFrame({n: [] for n in names})

    # -- schema ---------------------------------------------------------------------------------
    def _properties(self, table: str) -> dict[str, str]:
        info = self._execute(f"CALL table_info('{table}') RETURN *").get_all()
        return {row[1]: row[2] for row in info}

    def ensure_schema(self, attr_kinds: dict[str, str], model_columns: list[str]) -> dict[str, str]:
        from younger_graph.store.properties import PREFIX, property_name

        for ddl in SCHEMA_DDL:
            self._execute(ddl)
        existing = self._properties("Operator")
        graph_props = self._properties("Graph")
        if existing.get("uid") != "INT64" or "serial" not in graph_props:
            raise StoreError(f"{self.location} was written by an older younger-graph (string operator keys): "
                             "load it again into a new database", StoreErrorKind.INVALID)
        for name, kind in sorted(attr_kinds.items()):
            prop = property_name(name)
            if prop not in existing:
                self._execute(f"ALTER TABLE Operator ADD {prop} {db_type(kind)}")
                existing[prop] = db_type(kind)
        model_props = self._properties("Model")
        for col in model_columns:
            if col not in model_props:
                self._execute(f"ALTER TABLE Model ADD {col} STRING")
        # Graph columns added to graphs.parquet after a database was created (null on old graphs).
        for f in SCHEMAS["graphs"]:
            if f.name not in graph_props:
                self._execute(f"ALTER TABLE Graph ADD {f.name} {_ARROW_TO_DB[f.type]}")
        # Kinds as the store has them (a type fixed by an earlier load wins).
        kinds = {}
        for prop, dbt in existing.items():
            if prop.startswith(PREFIX):
                kinds[prop[len(PREFIX):]] = dbt
        # Map property names back to the attribute names of this load.
        return {name: _kind_of(existing.get(property_name(name), db_type(kind)), kind)
                for name, kind in attr_kinds.items()} | {k: v for k, v in kinds.items() if k not in attr_kinds}

    def missing_properties(self, label: str, names: list[str]) -> list[str]:
        if label not in NODE_KEYS:
            raise StoreError(f"unknown node label {label!r}")
        try:
            existing = self._properties(label)
        except QueryError:  # a database created before the table existed
            existing = {}
        return [n for n in names if n not in existing]

    def ensure_properties(self, label: str, properties: dict[str, str]) -> dict[str, str]:
        if label not in NODE_KEYS:
            raise StoreError(f"unknown node label {label!r}")
        existing = self._properties(label)
        out = {}
        for name, kind in properties.items():
            if not name.isidentifier() or kind not in _DB_TO_ARROW:
                raise StoreError(f"cannot declare property {name!r} of type {kind!r}")
            if name not in existing:
                if not self.writable:
                    raise self.read_only_error()
                self._execute(f"ALTER TABLE {label} ADD {name} {kind}")
                existing[name] = kind
            out[name] = existing[name]
        return out

    # -- writing --------------------------------------------------------------------------------
    def _next_serials(self, count: int) -> np.ndarray:
        """Serial numbers for new graphs: after the largest committed one (gaps after a rollback are fine)."""
        if self._serial is None:
            top = self.run("MATCH (g:Graph) RETURN max(g.serial) AS s")["s"]
            self._serial = int(top.iloc[0]) + 1 if len(top) and pd.notna(top.iloc[0]) else 0
        return np.arange(self._serial, self._serial + count, dtype=np.int64)

    def write_graph_chunk(self, chunk: GraphChunk) -> None:
        serials = self._next_serials(chunk.graphs.num_rows)
        graph_ids = chunk.graphs.column("graph_id")
        graphs = chunk.graphs.select(GRAPH_COLUMNS).append_column("serial", pa.array(serials))
        ops, edges = chunk.operators, chunk.edges
        uid = operator_keys(serials_of_rows(serials, graph_ids, ops.column("graph_id")), ops.column("idx"))
        edge_serials = serials_of_rows(serials, graph_ids, edges.column("graph_id"))
        arrow_types = {p: _DB_TO_ARROW[t] for p, t in self._properties("Operator").items()}
        operators = pa.table({"uid": uid, **{c: ops.column(c) for c in ops.column_names},
                              **chunk.attr_columns(arrow_types)})
        contains = pa.table({"from": ops.column("graph_id"), "to": uid})
        flows = pa.table({
            "from": operator_keys(edge_serials, edges.column("src")),
            "to": operator_keys(edge_serials, edges.column("dst")),
            **{c: edges.column(c) for c in ("src_slot", "dst_slot", "scope", "tensor", "dtype", "shape")},
        })
        self._copy_in_transaction([("Graph", self._in_table_order("Graph", graphs)),
                                   ("Operator", self._in_table_order("Operator", operators)),
                                   ("CONTAINS", contains), ("FLOWS", flows)])
        self._serial += len(serials)

    def write_models(self, models: pa.Table) -> None:
        props = self._properties("Model")
        table = pa.Table.from_arrays(
            [models.column(p) if p in models.column_names else pa.nulls(models.num_rows, _DB_TO_ARROW[t])
             for p, t in props.items()],
            names=list(props),
        )
        present = set(self.run("MATCH (g:Graph) RETURN g.graph_id AS g")["g"])
        links = [(m, g) for m, g in zip(models.column("model_id").to_pylist(), models.column("graph_id").to_pylist())
                 if g in present]
        instance_of = pa.table({"from": [m for m, _ in links], "to": [g for _, g in links]},
                               schema=pa.schema([("from", pa.string()), ("to", pa.string())]))
        self._copy_in_transaction([("Model", table), ("INSTANCE_OF", instance_of)])

    def write_rows(self, steps: list[tuple[str, pa.Table]], *,
                   prepare: list[tuple[str, dict[str, Any]]] | None = None) -> None:
        if not self.writable:
            raise self.read_only_error()
        self._copy_in_transaction([(name, self._in_table_order(name, table)) for name, table in steps], prepare)

    def _in_table_order(self, name: str, table: pa.Table) -> pa.Table:
        """COPY matches columns by position: reorder to the table's declaration, absent ones null."""
        if name not in NODE_KEYS and name not in REL_ENDPOINTS:
            raise StoreError(f"unknown node label or relationship type {name!r}")
        lead = ["from", "to"] if name in REL_ENDPOINTS else []
        arrays, names = [table.column(c) for c in lead], list(lead)
        for prop, dbt in self._properties(name).items():
            arrow_type = _DB_TO_ARROW.get(dbt)
            if prop in table.column_names:
                column = table.column(prop)
                arrays.append(column.cast(arrow_type) if arrow_type is not None else column)
            else:
                arrays.append(pa.nulls(table.num_rows, arrow_type or pa.string()))
            names.append(prop)
        return pa.Table.from_arrays(arrays, names=names)

    def _copy_in_transaction(self, steps: list[tuple[str, pa.Table]],
                             prepare: list[tuple[str, dict[str, Any]]] | None = None) -> None:
        import ladybug

        # A connection of its own: LadybugDB 0.22 keeps every Arrow table a connection has COPYed
        # from until that connection closes (the whole corpus, at Younger scale).
        conn = ladybug.Connection(self.db)
        try:
            self._execute("BEGIN TRANSACTION", conn=conn)
            try:
                for statement, params in prepare or []:
                    self._execute(statement, params, conn)
                for table_name, table in steps:
                    if table.num_rows:
                        # One chunk per column: LadybugDB scans Arrow tables batch by batch and silently
                        # drops rows when columns are chunked differently (computed key columns lose the
                        # empty chunks of edge-less graphs that the other columns keep).
                        self._execute(f"COPY {table_name} FROM $rows", {"rows": table.combine_chunks()}, conn)
                self._execute("COMMIT", conn=conn)
            except BaseException:
                # A failed COPY may already have aborted the transaction; the COPY's error is the one to show.
                with contextlib.suppress(QueryError):
                    self._execute("ROLLBACK", conn=conn)
                raise
        finally:
            conn.close()


def serials_of_rows(serials: np.ndarray, graph_ids: pa.ChunkedArray, of_graph: pa.ChunkedArray) -> np.ndarray:
    """Each row's graph serial (`serials[i]` belongs to `graph_ids[i]`, the graphs of this chunk)."""
    return serials[pc.index_in(of_graph, value_set=graph_ids).to_numpy(zero_copy_only=False)]


def operator_keys(row_serials: np.ndarray, idx: pa.ChunkedArray) -> pa.Array:
    """INT64 operator keys `serial << 32 | idx`."""
    return pa.array((row_serials << 32) | idx.to_numpy().astype(np.int64))


def _plain(value: Any) -> Any:
    """LadybugDB sums are 128-bit integers (Decimal in Python): give plain ints like Neo4j does."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _kind_of(db_type_name: str, fallback: str) -> str:
    from younger_graph.store.properties import JSON

    if db_type_name == "STRING" and fallback != "STRING":
        return JSON
    return db_type_name if db_type_name in _DB_TO_ARROW else fallback



__all__ = ["MODEL_CORE", "EmbeddedStore"]
