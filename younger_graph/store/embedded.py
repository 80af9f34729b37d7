"""The embedded store: LadybugDB (the maintained continuation of Kùzu), a folder on disk.

Dialect notes (the rest of the code never needs them): tables are declared up front with a
single-column primary key, so Operator is keyed by an INT64 `uid` = `serial << 32 | idx`, where
`serial` is a Graph property numbered at load time (integer keys COPY ~2.5x faster than a
`<graph_id>:<idx>` string and keep the key index small at Younger scale); new `attr_*` properties
are added with ALTER TABLE; bulk loads are COPY FROM Arrow tables inside one explicit transaction
per chunk of graphs (all-or-nothing). Opened read-only unless a write is asked for.

Loading into an empty store takes the bulk path instead: whole tables COPYed in auto-committed
statements (no per-chunk transaction, no per-graph bookkeeping), made atomic by a completion marker:
`<db>.bulk-load` is written before the first COPY and removed after the last. A store that still has
the marker was killed mid-load: opening it says so in one line, and the next `load` deletes it and
loads again from scratch.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import stat
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from younger_graph import atomic
from younger_graph.errors import StoreErrorKind, first_line
from younger_graph.names import check_identifier, is_identifier
from younger_graph.schema import SCHEMAS
from younger_graph.store.base import (
    GRAPH_NODE_COLUMNS,
    MODEL_CORE,
    NODE_KEYS,
    REL_ENDPOINTS,
    VIEW_GRAPH_COLUMNS,
    BulkLoadRejected,
    GraphChunk,
    QueryError,
    Store,
    StoreError,
)
from younger_graph.store.properties import db_type
from younger_graph.store.readonly import check_read_only
from younger_graph.views import ARCH_OPERATORS_SCHEMA, VIEW_GRAPH_SCHEMA, ViewChunk

_ARROW_TO_DB = {pa.string(): "STRING", pa.int64(): "INT64", pa.int32(): "INT32", pa.float64(): "DOUBLE",
                pa.bool_(): "BOOLEAN", pa.list_(pa.float32()): "FLOAT[]"}
_DB_TO_ARROW = {"STRING": pa.string(), "INT64": pa.int64(), "INT32": pa.int32(), "DOUBLE": pa.float64(),
                "BOOLEAN": pa.bool_(), "INT64[]": pa.list_(pa.int64()), "DOUBLE[]": pa.list_(pa.float64()),
                "STRING[]": pa.list_(pa.string()), "FLOAT[]": pa.list_(pa.float32())}


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
# The architecture view (younger_graph.views), written at load with its graph.
SCHEMA_DDL += [
    f"CREATE NODE TABLE IF NOT EXISTS ArchOperator(uid INT64, "
    f"{_columns_ddl(ARCH_OPERATORS_SCHEMA)}, PRIMARY KEY(uid))",
    "CREATE REL TABLE IF NOT EXISTS ARCH_CONTAINS(FROM Graph TO ArchOperator)",
    "CREATE REL TABLE IF NOT EXISTS ARCH_FLOWS(FROM ArchOperator TO ArchOperator, src_slot INT32, dst_slot INT32, "
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


# The library query write_embeddings (cypher/internal/), reading its rows from an Arrow table.
WRITE_EMBEDDINGS = ("LOAD FROM $rows MATCH (g:Graph) WHERE g.graph_id = graph_id "
                    "SET g.embedding_arch = embedding_arch, g.embedding_exact = embedding_exact, "
                    "g.embedding_version = embedding_version RETURN count(g) AS n")


# Errors of a COPY that refused the data itself (base.Store._write_or_reject skips such a graph).
_REJECTED_WORDS = ("duplicated primary key", "Copy exception", "Conversion exception")


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

    # Rows per COPY of the bulk path: tables go in slices of this many rows, which bounds the Arrow memory
    # (one 3.2M-row operator slice with its attr_* columns peaked at 4.9 GB RSS).
    bulk_rows = 2_000_000

    def __init__(self, path: str | Path, *, write: bool = False) -> None:
        self.location = str(path)
        self.writable = write
        self._serial: int | None = None  # the next Graph.serial; read from the store at the first write
        self.marker = Path(f"{path}.bulk-load")
        # A killed bulk load: readers are told, a writer may only `load` (which rebuilds the store).
        self.interrupted = self.marker.exists()
        self._bulk_running = False
        if self.interrupted and not write:
            raise self.interrupted_error()
        if not write and not os.path.exists(path):
            raise StoreError(f"no database at {path}: load one with `younger-graph load DIR --db {path}`",
                             StoreErrorKind.MISSING)
        if os.path.exists(path) and not stat.S_ISREG(os.stat(path).st_mode):  # a FIFO would block forever
            raise StoreError(f"{path} is not a database file (a directory, pipe, socket or device)",
                             StoreErrorKind.INVALID)
        try:
            self._open()
        except StoreError:
            if not self.interrupted:
                raise
            self._remove_files()  # the killed load left a database that does not even open
            self._open()

    def _open(self) -> None:
        import ladybug

        if self.writable:  # a new database may name a folder that does not exist yet
            Path(self.location).parent.mkdir(parents=True, exist_ok=True)
        try:
            self.db = self._database(self.location, self.writable)
            self.conn = ladybug.Connection(self.db)
        except RuntimeError as exc:
            raise StoreError(f"cannot open the embedded database at {self.location}: {first_line(exc)}",
                             StoreErrorKind.INVALID) from None

    @staticmethod
    def _database(path: str, write: bool) -> Any:
        """The database, opened read-only unless `write`. A write killed during a checkpoint (a kill,
        a full disk) leaves recovery that only a read-write open performs: a read-only open then does
        it first (open for writing, close), and says what to run when it cannot (another process
        holds the database, or the file is not writable)."""
        import ladybug

        try:
            return ladybug.Database(path, read_only=not write, buffer_pool_size=buffer_pool_bytes())
        except RuntimeError as exc:
            if write or "read-write mode" not in str(exc):
                raise
        try:
            ladybug.Database(path, read_only=False, buffer_pool_size=buffer_pool_bytes()).close()
        except RuntimeError as exc:
            raise StoreError(f"the embedded database at {path} has an interrupted write to recover, and opening it "
                             f"for writing failed ({first_line(exc)}): when no other process uses it, run any "
                             f"command that writes to it (e.g. `younger-graph load DIR --db {path}`)",
                             StoreErrorKind.INVALID) from None
        return ladybug.Database(path, read_only=True, buffer_pool_size=buffer_pool_bytes())

    def interrupted_error(self) -> StoreError:
        try:
            folder = json.loads(self.marker.read_text())["folder"]
        except (OSError, ValueError, KeyError, TypeError):
            folder = "DIR"
        return StoreError(f"{self.location} holds an interrupted bulk load: rebuild it with "
                          f"`younger-graph load {folder} --db {self.location}`", StoreErrorKind.INVALID)

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
        if not write:  # the engine's read-only mode does not stop file access (store/readonly.py)
            check_read_only(cypher)
        if write and self.interrupted and not self._bulk_running:
            raise self.interrupted_error()
        result = self._execute(cypher, params)
        if isinstance(result, list):  # several statements: the last one's rows
            result = result[-1]
        names = result.get_column_names()
        rows = [[_plain(v) for v in row] for row in result.get_all()]
        return pd.DataFrame(rows, columns=names) if rows else pd.DataFrame({n: [] for n in names})

    def run_arrow(self, cypher: str, params: dict[str, Any] | None = None) -> pa.Table:
        result = self._execute(cypher, params)
        if isinstance(result, list):
            result = result[-1]
        return result.get_as_arrow()

    # -- schema ---------------------------------------------------------------------------------
    def _properties(self, table: str) -> dict[str, str]:
        if table not in NODE_KEYS and table not in REL_ENDPOINTS:  # a constant: table_info binds no parameter
            raise StoreError(f"unknown table {table!r}")
        info = self._execute(f"CALL table_info('{table}') RETURN *").get_all()
        return {row[1]: row[2] for row in info}

    def ensure_schema(self, attr_kinds: dict[str, str], model_columns: list[str]) -> dict[str, str]:
        from younger_graph.store.properties import PREFIX, property_name

        self._ddl(SCHEMA_DDL)
        existing = self._properties("Operator")
        graph_props = self._properties("Graph")
        if existing.get("uid") != "INT64" or "serial" not in graph_props:
            raise StoreError(f"{self.location} was written by an older younger-graph (string operator keys): "
                             "load it again into a new database", StoreErrorKind.INVALID)
        alters = []
        for name, kind in sorted(attr_kinds.items()):
            prop = property_name(name)
            if prop not in existing:
                alters.append(self._property_ddl("Operator", prop, db_type(kind)))
                existing[prop] = db_type(kind)
        model_props = self._properties("Model")
        alters += [self._property_ddl("Model", col, "STRING") for col in model_columns if col not in model_props]
        # Graph columns added to graphs.parquet (or by the architecture view) after a database was
        # created (null on old graphs).
        alters += [self._property_ddl("Graph", f.name, _ARROW_TO_DB[f.type])
                   for f in [*SCHEMAS["graphs"], *(VIEW_GRAPH_SCHEMA.field(n) for n in VIEW_GRAPH_COLUMNS)]
                   if f.name not in graph_props]
        self._ddl(alters)
        # Kinds as the store has them (a type fixed by an earlier load wins).
        kinds = {}
        for prop, dbt in existing.items():
            if prop.startswith(PREFIX):
                kinds[prop[len(PREFIX):]] = dbt
        # Map property names back to the attribute names of this load.
        return {name: _kind_of(existing.get(property_name(name), db_type(kind)), kind)
                for name, kind in attr_kinds.items()} | {k: v for k, v in kinds.items() if k not in attr_kinds}

    @staticmethod
    def _property_ddl(table: str, name: str, kind: str) -> str:
        """ALTER TABLE ... ADD: the one DDL statement with a name that is not a constant of the
        package; the name must be an identifier (names.check_identifier) and goes in backticks."""
        if table not in NODE_KEYS or kind not in _DB_TO_ARROW:
            raise StoreError(f"cannot declare property {name!r} of type {kind!r} on {table!r}")
        return f"ALTER TABLE {table} ADD `{check_identifier(name)}` {kind}"

    def _add_property(self, table: str, name: str, kind: str) -> None:
        self._ddl([self._property_ddl(table, name, kind)])

    def attribute_properties(self) -> set[str]:
        from younger_graph.store.properties import PREFIX

        return {p for p in self._properties("Operator") if p.startswith(PREFIX)}

    def _ddl(self, statements: list[str]) -> None:
        """Schema statements in one transaction: each auto-committed one would sync the WAL to disk on its
        own (a corpus with 60 attribute names meant 120 syncs, seconds on a busy disk)."""
        if not statements:
            return
        self._execute("BEGIN TRANSACTION")
        try:
            for statement in statements:
                self._execute(statement)
            self._execute("COMMIT")
        except BaseException:
            with contextlib.suppress(QueryError):
                self._execute("ROLLBACK")
            raise
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
            if not is_identifier(name) or kind not in _DB_TO_ARROW:
                raise StoreError(f"cannot declare property {name!r} of type {kind!r}")
            if name not in existing:
                if not self.writable:
                    raise self.read_only_error()
                self._add_property(label, name, kind)
                existing[name] = kind
            out[name] = existing[name]
        return out

    # -- bulk load ------------------------------------------------------------------------------
    def bulk_loadable(self) -> bool:
        if self.interrupted:
            return True
        for label in ("Graph", "Model"):
            try:
                if len(self.run(f"MATCH (n:{label}) RETURN n LIMIT 1")):
                    return False
            except QueryError:  # the table does not exist yet: a new database
                pass
        return True

    def begin_bulk(self, folder: Path) -> None:
        """Bulk mode: every COPY commits on its own (no per-graph transactions, the WAL syncs once per
        COPY) until `end_bulk`; the completion marker `<db>.bulk-load` says meanwhile that the store
        is incomplete, so a killed bulk load is refused on open and rebuilt by the next `load`."""
        if self.interrupted:  # start again from nothing: what the killed load committed is unknowable
            self._reset()
        atomic.write_text(self.marker, json.dumps({"folder": str(folder)}) + "\n")
        self.interrupted = self._bulk_running = True

    def end_bulk(self) -> None:
        self.marker.unlink()
        self.interrupted = self._bulk_running = False

    def abandon_bulk(self) -> None:
        self._reset()

    def limit_chunk(self, rows: int) -> int:
        return min(rows, self.bulk_rows) if self._bulk_running else rows

    def _copy(self, name: str, rows: pa.Table) -> None:
        """One auto-committed COPY on a connection of its own: LadybugDB 0.22 keeps every Arrow table a
        connection has COPYed from until the connection closes (the whole corpus, on one connection)."""
        import ladybug

        conn = ladybug.Connection(self.db)
        try:  # one chunk per column (see _copy_in_transaction)
            self._execute(f"COPY {name} FROM $rows", {"rows": rows.combine_chunks()}, conn)
        except QueryError as exc:
            raise _rejected_or(exc) from None
        finally:
            conn.close()

    def _reset(self) -> None:
        """An empty store again, open for writing, without the completion marker."""
        self.close()
        self._remove_files()
        self._serial = None
        self._open()
        self.marker.unlink(missing_ok=True)
        self.interrupted = self._bulk_running = False

    def _remove_files(self) -> None:
        for path in (self.location, f"{self.location}.wal", f"{self.location}.shadow", f"{self.location}.tmp"):
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            elif os.path.lexists(path):
                os.unlink(path)

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
        graphs = chunk.graphs.select(GRAPH_NODE_COLUMNS).append_column("serial", pa.array(serials))
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
        try:
            self._copy_in_transaction([("Graph", self._in_table_order("Graph", graphs)),
                                       ("Operator", self._in_table_order("Operator", operators)),
                                       ("CONTAINS", contains), ("FLOWS", flows),
                                       *self._arch_steps(chunk.arch, serials, graph_ids)])
        except QueryError as exc:
            raise _rejected_or(exc) from None
        self._serial += len(serials)

    def write_embeddings(self, table: pa.Table) -> None:
        """One statement scanning the Arrow table (LOAD FROM): no Python object per float."""
        self.run(WRITE_EMBEDDINGS, {"rows": table.combine_chunks()}, write=True)

    def write_arch_view(self, chunk: ViewChunk) -> None:
        if not self.writable:
            raise self.read_only_error()
        ids = chunk.graphs.column("graph_id")
        found = self.run("MATCH (g:Graph) WHERE g.graph_id IN $ids RETURN g.graph_id AS graph_id, g.serial AS serial",
                         {"ids": ids.to_pylist()})
        serial_of = dict(zip(found["graph_id"], found["serial"]))
        serials = np.array([int(serial_of[g]) for g in ids.to_pylist()], dtype=np.int64)
        self._copy_in_transaction(self._arch_steps(chunk, serials, ids))

    def _arch_steps(self, arch: ViewChunk | None, serials: np.ndarray,
                    graph_ids: pa.ChunkedArray) -> list[tuple[str, pa.Table]]:
        """The architecture view's nodes (keyed like operators: serial << 32 | idx) and relationships."""
        if arch is None:
            return []
        ops, edges = arch.operators, arch.edges
        uid = operator_keys(serials_of_rows(serials, graph_ids, ops.column("graph_id")), ops.column("idx"))
        edge_serials = serials_of_rows(serials, graph_ids, edges.column("graph_id"))
        nodes = pa.table({"uid": uid, **{c: ops.column(c) for c in ops.column_names}})
        contains = pa.table({"from": ops.column("graph_id"), "to": uid})
        flows = pa.table({
            "from": operator_keys(edge_serials, edges.column("src")),
            "to": operator_keys(edge_serials, edges.column("dst")),
            **{c: edges.column(c) for c in ("src_slot", "dst_slot", "scope", "tensor", "dtype", "shape")},
        })
        return [("ArchOperator", self._in_table_order("ArchOperator", nodes)), ("ARCH_CONTAINS", contains),
                ("ARCH_FLOWS", flows)]

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
        if self._bulk_running and not prepare:  # bulk mode: each COPY commits alone (begin_bulk)
            try:
                for table_name, table in steps:
                    if table.num_rows:
                        self._copy(table_name, table)
            except StoreError as exc:
                if exc.kind is StoreErrorKind.REJECTED:
                    raise BulkLoadRejected(str(exc)) from None
                raise
            return
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


def _rejected_or(exc: QueryError) -> StoreError:
    """A COPY the data made fail (a duplicated key, a value of the wrong type) is the store refusing
    that data (REJECTED: the graph is skipped and reported); anything else stays the query error."""
    if any(word in str(exc) for word in _REJECTED_WORDS):
        return StoreError(str(exc), StoreErrorKind.REJECTED)
    return exc


def operator_keys(row_serials: np.ndarray, idx: pa.ChunkedArray | pa.Array) -> pa.Array:
    """INT64 operator keys `serial << 32 | idx` (docs/schema.md)."""
    return pa.array((row_serials << 32) | np.asarray(idx.to_numpy(zero_copy_only=False), dtype=np.int64))


def serials_of_rows(serials: np.ndarray, graph_ids: pa.ChunkedArray, of_graph: pa.ChunkedArray) -> np.ndarray:
    """Each row's graph serial (`serials[i]` belongs to `graph_ids[i]`, the graphs of this chunk)."""
    return serials[pc.index_in(of_graph, value_set=graph_ids).to_numpy(zero_copy_only=False)]


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
