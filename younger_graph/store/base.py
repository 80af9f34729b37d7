"""The store interface and the load algorithm both backends share.

A backend is a transport: it runs Cypher with bound parameters and returns a DataFrame, and it
writes chunks of whole graphs atomically. Everything else (what to skip, chunking, attribute
properties, progress) lives here once.

Loading is graph-atomic: a chunk of complete graphs (their Graph node, Operators, CONTAINS and
FLOWS) commits in one transaction, so a half-written graph is never visible; a killed load is
resumed by loading again (graphs already present are skipped; models are merged by model_id).
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from younger_graph.errors import QueryError, StoreError, StoreErrorKind, first_line
from younger_graph.names import metadata_columns
from younger_graph.schema import CORE_TABLES, SCHEMAS, TABLE_NAMES
from younger_graph.store.properties import (
    MAX_INDEXED_CHARS,
    AttributeFlattener,
    bounded_text,
    infer_types,
    select_attributes,
)
from younger_graph.tables import read_table, table_path
from younger_graph.views import VIEW_GRAPH_SCHEMA, ViewChunk, arch_chunk

if TYPE_CHECKING:  # only for annotations: pandas costs 0.35 s at CLI start-up
    import pandas as pd

Progress = Callable[[str, int, int], None]

MODEL_CORE = SCHEMAS["models"].names
GRAPH_COLUMNS = SCHEMAS["graphs"].names
# The columns a table must have to be loaded (graphs.parquet of older versions lacks the metrics).
REQUIRED_COLUMNS = {"models": ["model_id", "status", "graph_id"], "graphs": ["graph_id"],
                    "operators": SCHEMAS["operators"].names, "edges": SCHEMAS["edges"].names}
# Rows of one load chunk times its columns, at most: the embedded COPY carries every declared
# Operator property, so a store with many attr_* properties loads in proportionally smaller chunks
# and a chunk's memory stays about the same (2M rows of ~64 columns).
CHUNK_CELLS = 128_000_000
MIN_CHUNK_ROWS = 10_000
EMBEDDING_ROWS = 2_000  # graphs per write_embeddings statement (rows travel as Python lists)
# Graph node properties beyond graphs.parquet: the architecture view's (younger_graph.views).
VIEW_GRAPH_COLUMNS = [n for n in VIEW_GRAPH_SCHEMA.names if n not in GRAPH_COLUMNS]
GRAPH_NODE_COLUMNS = [*GRAPH_COLUMNS, *VIEW_GRAPH_COLUMNS]

# Node keys and relationship endpoints of every label the stores hold; `Store.write_rows` writes
# rows for any of them (Neo4j needs the endpoints to match relationship rows to their nodes).
NODE_KEYS = {"Model": "model_id", "Graph": "graph_id", "Operator": "uid", "ArchOperator": "uid",
             "Community": "community_id"}
REL_ENDPOINTS = {
    "INSTANCE_OF": ("Model", "Graph"),
    "CONTAINS": ("Graph", "Operator"),
    "FLOWS": ("Operator", "Operator"),
    "ARCH_CONTAINS": ("Graph", "ArchOperator"),
    "ARCH_FLOWS": ("ArchOperator", "ArchOperator"),
    "HAS_COMMUNITY": ("Graph", "Community"),
    "MEMBER_OF": ("Operator", "Community"),
}


__all__ = ["BulkLoadRejected", "GraphChunk", "LoadSummary", "QueryError", "Store", "StoreError", "StoreErrorKind"]


class BulkLoadRejected(StoreError):
    """A bulk load met data the store refuses (a graph it cannot hold); the store is empty again and
    `load` takes the per-graph path, which skips and reports that graph."""

    def __init__(self, message: str) -> None:
        super().__init__(message, StoreErrorKind.REJECTED)


@dataclass
class LoadSummary:
    models: int = 0
    graphs: int = 0
    operators: int = 0
    edges: int = 0
    skipped_graphs: int = 0
    skipped_models: int = 0
    attribute_properties: int = 0
    rejected_graphs: dict[str, str] = field(default_factory=dict)  # graph_id → why the store refused it
    warnings: list[str] = field(default_factory=list)

    def line(self) -> str:
        rejected = f"; the store rejected {len(self.rejected_graphs)} graphs" if self.rejected_graphs else ""
        return (f"loaded {self.models} models, {self.graphs} graphs, {self.operators} operators, "
                f"{self.edges} edges; skipped {self.skipped_graphs} graphs and {self.skipped_models} "
                f"models already present{rejected}")

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()}


@dataclass
class GraphChunk:
    graphs: pa.Table  # graphs.parquet columns, then the architecture view's (GRAPH_NODE_COLUMNS)
    operators: pa.Table
    edges: pa.Table
    arch: ViewChunk | None = None  # the architecture view's nodes and edges
    # attr_* properties: one dict per distinct attrs string, and each operator's index into them
    # (real corpora repeat a few thousand attrs strings over millions of operators).
    attr_distinct: list[dict[str, Any]] = field(default_factory=list)
    attr_codes: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    @property
    def rows(self) -> int:
        return self.operators.num_rows + self.edges.num_rows

    def bound_indexed_strings(self) -> None:
        """op_type is indexed in the stores (Neo4j refuses index keys over ~8 KB), on operators and on
        the architecture view's: bound it by the rule attribute strings follow (properties.bounded_text)."""
        self.operators = _bounded_op_types(self.operators)
        if self.arch is not None:
            self.arch.operators = _bounded_op_types(self.arch.operators)

    def graph(self, graph_id: str) -> GraphChunk:
        """The part of this chunk that is one graph."""
        def rows_of(table: pa.Table) -> pa.Table:
            return table.filter(pc.equal(table.column("graph_id"), graph_id))

        arch = None
        if self.arch is not None:
            arch = ViewChunk(rows_of(self.arch.operators), rows_of(self.arch.edges), rows_of(self.arch.graphs))
        return GraphChunk(rows_of(self.graphs), rows_of(self.operators), rows_of(self.edges), arch)

    def flatten_attrs(self, flattener: AttributeFlattener) -> None:
        encoded = pc.dictionary_encode(self.operators.column("attrs")).combine_chunks()
        self.attr_distinct = [flattener.props(a) for a in encoded.dictionary.to_pylist()]
        self.attr_codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)

    @property
    def attr_props(self) -> list[dict[str, Any]]:
        """attr_* properties per operator row."""
        return [self.attr_distinct[i] for i in self.attr_codes.tolist()]

    def attr_columns(self, arrow_types: dict[str, pa.DataType]) -> dict[str, pa.Array]:
        """attr_* properties as columns (only those some operator of the chunk has)."""
        names = sorted({k for props in self.attr_distinct for k in props})
        codes = pa.array(self.attr_codes)
        return {name: pa.array([p.get(name) for p in self.attr_distinct], arrow_types[name]).take(codes)
                for name in names}


def _bounded_op_types(table: pa.Table) -> pa.Table:
    op_type = table.column("op_type")
    if (pc.max(pc.utf8_length(op_type)).as_py() or 0) <= MAX_INDEXED_CHARS:
        return table
    bounded = pa.array([bounded_text(t) for t in op_type.to_pylist()], pa.string())
    return table.set_column(table.schema.get_field_index("op_type"), "op_type", bounded)


def _runs(table: pa.Table) -> Iterator[tuple[str, pa.Table]]:
    """Split rows into runs of one graph_id each (tables are written grouped by graph)."""
    if table.num_rows == 0:
        return
    encoded = pc.dictionary_encode(table.column("graph_id")).combine_chunks()
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    starts = np.concatenate([[0], np.flatnonzero(np.diff(codes)) + 1, [len(codes)]])
    names = encoded.dictionary
    for start, end in zip(starts[:-1].tolist(), starts[1:].tolist()):
        yield names[codes[start]].as_py(), table.slice(start, end - start)


def iter_graph_rows(folder: Path, table: str) -> Iterator[tuple[str, pa.Table]]:
    """(graph_id, that graph's rows) in file order, across batch boundaries."""
    path = table_path(folder, table)
    if not path.exists():
        return
    pending_id, pending = None, []
    for batch in pq.ParquetFile(path).iter_batches(batch_size=200_000):
        for gid, rows in _runs(pa.Table.from_batches([batch])):
            if gid != pending_id and pending:
                yield pending_id, pa.concat_tables(pending)
                pending = []
            pending_id = gid
            pending.append(rows)
    if pending:
        yield pending_id, pa.concat_tables(pending)


class Store(ABC):
    """Run Cypher (→ DataFrame) and load extraction tables; one subclass per transport."""

    backend: str = "?"
    location: str = ""
    chunk_rows: int = 1_000_000
    _indexes: dict[str, Any]  # view → the exact index `nearest` searches (read on first use)

    def __new__(cls, *args: Any, **kwargs: Any) -> Store:
        self = super().__new__(cls)
        self._indexes = {}
        return self

    # -- transport ------------------------------------------------------------------------------
    @abstractmethod
    def run(self, cypher: str, params: dict[str, Any] | None = None, *, write: bool = False) -> pd.DataFrame:
        """Run one Cypher statement with bound parameters."""

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def ensure_schema(self, attr_kinds: dict[str, str], model_columns: list[str]) -> dict[str, str]:
        """Create tables/constraints; returns the attribute kinds the store now has."""

    @abstractmethod
    def write_graph_chunk(self, chunk: GraphChunk) -> None:
        """Graph nodes, operators (with attr_* properties), CONTAINS and FLOWS in one transaction."""

    def wait_for_writes(self) -> None:
        """Wait until every chunk handed to write_graph_chunk is committed (raising the first failure), for
        backends that commit chunks concurrently."""
        return None

    @abstractmethod
    def write_arch_view(self, chunk: ViewChunk) -> None:
        """ArchOperator nodes, ARCH_CONTAINS and ARCH_FLOWS of graphs already stored, in one
        transaction (their Graph properties are set by the caller: younger_graph.arch.backfill)."""

    @abstractmethod
    def write_models(self, models: pa.Table) -> None:
        """Upsert Model nodes and their INSTANCE_OF edges."""

    @abstractmethod
    def write_rows(self, steps: list[tuple[str, pa.Table]], *,
                   prepare: list[tuple[str, dict[str, Any]]] | None = None) -> None:
        """Create nodes and relationships in one transaction, after the `prepare` statements.

        Each step names a label of NODE_KEYS (rows: the key and properties, as the table declares
        them) or a relationship type of REL_ENDPOINTS (rows: `from` and `to` keys, then properties).
        `prepare` statements (Cypher, parameters) run first in the same transaction, e.g. to delete
        what the rows replace; all or nothing.
        """

    def attribute_properties(self) -> set[str]:
        """The attr_* properties the store has declared already (counted against MAX_ATTR_PROPERTIES).
        Empty on a schema-free store (Neo4j: its property keys outlive the nodes that had them)."""
        return set()

    @abstractmethod
    def ensure_properties(self, label: str, properties: dict[str, str]) -> dict[str, str]:
        """Declare node properties (name → STRING | DOUBLE | INT64 | BOOLEAN) on `label` where the store
        needs declarations before a SET (LadybugDB: ALTER TABLE ... ADD; Neo4j is schema-free). Returns
        each property's type as the store has it: an existing declaration wins over the one asked for."""

    def missing_properties(self, label: str, names: list[str]) -> list[str]:
        """Which of these properties `label` does not declare (none on a schema-free store such as Neo4j,
        where reading an absent property gives null); read-only, for readers of older stores."""
        return []

    # -- shared API -----------------------------------------------------------------------------
    writable: bool = False

    @staticmethod
    def read_only_error() -> StoreError:
        return StoreError("the store was opened read-only; pass --write (write=True) to modify it",
                          StoreErrorKind.READ_ONLY)

    def require_writable(self) -> None:
        if not self.writable:
            raise self.read_only_error()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def query(self, spec: str, params: dict[str, Any] | None = None, *, write: bool = False, view: str = "exact",
              **kwparams: Any) -> pd.DataFrame:
        """Run a library query by name (cypher/NAME.cypher), a .cypher file or Cypher text; parameters
        (a dict and/or keywords, converted to the types a query declares, defaults filled in) are
        bound by the driver, never pasted into the text. Write queries need a store opened for writing.
        `view="arch"` runs it on the architecture view (younger_graph.views.cypher)."""
        from younger_graph.query import resolve
        from younger_graph.views import cypher

        q = resolve(spec)
        text = cypher(q.text_for(self.backend), view)
        return self.run(text, q.bind({**(params or {}), **kwparams}), write=write or q.writes)

    def run_arrow(self, cypher: str, params: dict[str, Any] | None = None) -> pa.Table:
        """`run` as an Arrow table (a read): faster for large results with list columns (embeddings)."""
        df = self.run(cypher, params)
        return pa.Table.from_pandas(df, preserve_index=False) if len(df.columns) else pa.table({})

    def nearest(self, vectors: np.ndarray, k: int, view: str = "arch") -> list[list[tuple[str, float]]]:
        """For each row of `vectors` (unit length), the k stored graphs with the most similar embedding
        of `view`: (graph_id, cosine) best first. Here an exact scan over every stored embedding,
        read once per open store (younger_graph.arch.similar.ExactIndex); Neo4j uses its vector index."""
        from younger_graph.arch.index import ExactIndex

        index = self._indexes.get(view)
        if index is None:
            index = self._indexes[view] = ExactIndex(*self.embeddings(view))
        return index.search(vectors, k)

    def embeddings(self, view: str = "arch", ids: list[str] | None = None) -> tuple[list[str], Any]:
        """(graph ids, float32 matrix [n, dim]) of the stored embeddings of a view (of `ids`, or of
        every graph that has one); empty when the store has none (or predates them)."""
        from younger_graph.arch.index import vectors_from_arrow
        from younger_graph.query import resolve

        try:
            table = self.run_arrow(resolve(f"read_embeddings_{view}").text_for(self.backend), {"ids": ids})
        except QueryError:  # a store created before embeddings existed has no such property
            table = pa.table({})
        return vectors_from_arrow(table)

    def write_embeddings(self, table: pa.Table) -> None:
        """Set the embeddings of stored graphs: `table` has graph_id, embedding_arch,
        embedding_exact (lists of float32) and embedding_version. Here the library query
        `write_embeddings`, EMBEDDING_ROWS rows per statement; the embedded store overrides it."""
        for start in range(0, table.num_rows, EMBEDDING_ROWS):
            rows = table.slice(start, EMBEDDING_ROWS).to_pylist()
            self.query("write_embeddings", rows=rows, write=True)

    def reset_index(self) -> None:
        """Forget the embeddings `nearest` read (after they changed)."""
        self._indexes.clear()

    def match(self, pattern: Any, *, view: str = "exact", limit: int | None = None,
              graphs: list[str] | None = None, count: bool = False) -> pd.DataFrame:
        """Every occurrence of a pattern (a chain such as `Conv>Relu`, an .onnx file holding the block, or
        a `younger_graph.match.Pattern`): one row per occurrence (graph_id, scope, nodes, models), or with
        `count` one row per graph (graph_id, occurrences, models), found by one generated Cypher statement
        (`younger_graph.match`)."""
        from younger_graph.match import match

        return match(self, pattern, view=view, limit=limit, graphs=graphs, count=count)

    def loaded_graph_ids(self) -> set[str]:
        df = self.run("MATCH (g:Graph) RETURN g.graph_id AS graph_id")
        return set(df["graph_id"]) if len(df) else set()

    def loaded_model_ids(self) -> set[str]:
        df = self.run("MATCH (m:Model) RETURN m.model_id AS model_id")
        return set(df["model_id"]) if len(df) else set()

    def counts(self) -> dict[str, int]:
        out = {}
        for label in ("Model", "Graph", "Operator"):
            out[label] = int(self.run(f"MATCH (n:{label}) RETURN count(n) AS n")["n"].iloc[0])
        for rel in ("INSTANCE_OF", "CONTAINS", "FLOWS"):
            out[rel] = int(self.run(f"MATCH ()-[r:{rel}]->() RETURN count(r) AS n")["n"].iloc[0])
        return out

    def bulk_loadable(self) -> bool:
        """Whether `load` may take the backend's bulk path (an empty store that has one)."""
        return False

    def begin_bulk(self, folder: Path) -> None:
        """Enter bulk mode for loading `folder` into an empty store (only called when `bulk_loadable()`)."""
        raise NotImplementedError

    def end_bulk(self) -> None:
        """The bulk load is complete."""
        raise NotImplementedError

    def abandon_bulk(self) -> None:
        """Empty the store again after a bulk load the store's data refused (BulkLoadRejected)."""
        raise NotImplementedError

    def load(self, folder: str | Path, on_progress: Progress | None = None, *,
             attr_properties: bool = True) -> LoadSummary:
        """Load an extraction folder; idempotent and resumable (see module docstring).

        `attr_properties=False` skips the typed `attr_*` properties (attributes stay in the `attrs`
        JSON): on the embedded store those many sparse columns cost most of the load time. An empty
        store whose backend has a bulk mode (embedded) is filled with auto-committed COPYs instead of
        per-graph transactions, atomic by a completion marker (see EmbeddedStore.begin_bulk); when the
        store refuses some data there, the load starts again graph by graph, which skips and reports
        the graph the store refuses."""
        folder = Path(folder)
        check_tables(folder)  # all four, readable, before anything is written
        if not self.bulk_loadable():
            return self._load(folder, on_progress, attr_properties)
        self.begin_bulk(folder)
        try:
            summary = self._load(folder, on_progress, attr_properties)
        except BulkLoadRejected as exc:  # the store refused some data: find the graph, graph by graph
            self.abandon_bulk()
            summary = self._load(folder, on_progress, attr_properties)
            summary.warnings.insert(0, f"the bulk load stopped ({first_line(exc, 300)}); loaded graph by graph")
            return summary
        self.end_bulk()
        return summary

    def _load(self, folder: Path, on_progress: Progress | None, attr_properties: bool) -> LoadSummary:
        summary = LoadSummary()
        models = safe_model_columns(read_table(folder, "models"))
        model_columns = [c for c in models.column_names if c not in MODEL_CORE]
        graphs = read_table(folder, "graphs")
        self.ensure_schema({}, model_columns)
        present = self.loaded_graph_ids()
        wanted = [g for g in graphs.column("graph_id").to_pylist() if g not in present]
        summary.skipped_graphs = graphs.num_rows - len(wanted)
        wanted_kinds: dict[str, str] = {}
        if attr_properties and wanted:
            wanted_kinds, notes = select_attributes(*self._attribute_kinds(folder, set(wanted)),
                                                    self.attribute_properties())
            summary.warnings += notes
        kinds = self.ensure_schema(wanted_kinds, model_columns)
        if not attr_properties:  # the store's existing attr_* properties stay null on these operators
            kinds = {}
        summary.attribute_properties = len(kinds)
        flattener = AttributeFlattener(kinds)
        if wanted:
            limit = max(MIN_CHUNK_ROWS, min(self.chunk_rows, CHUNK_CELLS // (len(SCHEMAS["operators"]) + 1
                                                                            + len(self.attribute_properties()))))
            self._load_graphs(folder, graphs, set(wanted), flattener, summary, on_progress, self.limit_chunk(limit))
        self._load_models(models, summary, on_progress)
        return summary

    def limit_chunk(self, rows: int) -> int:
        """Rows per load chunk (a backend may bound them further, e.g. in bulk mode)."""
        return rows

    # -- load steps -----------------------------------------------------------------------------
    @staticmethod
    def _attribute_kinds(folder: Path, wanted: set[str]) -> tuple[dict[str, str], dict[str, int]]:
        """(kind, operators carrying it) per attribute name of the wanted graphs' operators."""
        per_attrs: dict[str, int] = {}
        for batch in pq.ParquetFile(table_path(folder, "operators")).iter_batches(
            batch_size=500_000, columns=["graph_id", "attrs"]
        ):
            keep = pc.is_in(batch.column("graph_id"), pa.array(sorted(wanted)))
            for item in pc.value_counts(batch.column("attrs").filter(keep)).to_pylist():
                per_attrs[item["values"]] = per_attrs.get(item["values"], 0) + item["counts"]
        return infer_types(per_attrs), attribute_counts(per_attrs)

    def _load_graphs(self, folder: Path, graphs: pa.Table, wanted: set[str], flattener: AttributeFlattener,
                     summary: LoadSummary, on_progress: Progress | None, chunk_rows: int) -> None:
        by_id = {g["graph_id"]: g for g in graphs.to_pylist() if g["graph_id"] in wanted}
        # Every graph-row table is grouped in the same graph order; a graph without rows in one (no
        # edges; no architecture view in a folder of format 1) has no run there.
        followers = {name: _Follower(folder, name) for name in ("edges", "arch_operators", "arch_edges")}
        pending: list[tuple[dict[str, Any], pa.Table, pa.Table, pa.Table | None, pa.Table | None]] = []
        rows = 0
        done = 0
        empty_edges = SCHEMAS["edges"].empty_table()
        for gid, ops in iter_graph_rows(folder, "operators"):
            found = followers["edges"].take(gid)
            edges = found if found is not None else empty_edges
            arch_ops, arch_edges = followers["arch_operators"].take(gid), followers["arch_edges"].take(gid)
            if gid not in by_id:
                continue
            pending.append((by_id.pop(gid), ops, edges, arch_ops, arch_edges))
            rows += ops.num_rows + edges.num_rows
            if rows >= chunk_rows:
                done += self._flush(pending, flattener, summary)
                pending, rows = [], 0
                if on_progress:
                    on_progress("graphs", done, len(wanted))
        for name, follower in followers.items():
            if follower.left():
                raise StoreError(f"{folder}: {name}.parquet is not grouped in the graph order of operators.parquet")
        # Graphs with no operator rows at all (empty graphs) still get their Graph node.
        pending.extend((row, SCHEMAS["operators"].empty_table(), empty_edges, None, None) for row in by_id.values())
        done += self._flush(pending, flattener, summary)
        self.wait_for_writes()
        if on_progress:
            on_progress("graphs", done, len(wanted))

    def _flush(self, pending: list[tuple[dict[str, Any], pa.Table, pa.Table, pa.Table | None, pa.Table | None]],
               flattener: AttributeFlattener, summary: LoadSummary) -> int:
        if not pending:
            return 0
        graphs = pa.Table.from_pylist([p[0] for p in pending], schema=SCHEMAS["graphs"])
        operators = pa.concat_tables([p[1] for p in pending])
        edges = pa.concat_tables([p[2] for p in pending])
        stored_ops = [p[3] for p in pending if p[3] is not None]
        stored_edges = [p[4] for p in pending if p[4] is not None]
        stored = (pa.concat_tables(stored_ops) if stored_ops else SCHEMAS["arch_operators"].empty_table(),
                  pa.concat_tables(stored_edges) if stored_edges else SCHEMAS["arch_edges"].empty_table())
        chunk = with_arch_view(graphs, operators, edges, stored, summary.warnings)
        chunk.bound_indexed_strings()
        self._write_or_reject(chunk, flattener, summary)
        return chunk.graphs.num_rows

    def _write_or_reject(self, chunk: GraphChunk, flattener: AttributeFlattener, summary: LoadSummary) -> None:
        """Write the chunk; when the store rejects its data, write its graphs one by one and skip (and
        report) those the store rejects alone: one bad graph never stops a load."""
        try:
            chunk.flatten_attrs(flattener)
            self.write_graph_chunk(chunk)
        except StoreError as exc:
            if exc.kind is not StoreErrorKind.REJECTED or isinstance(exc, BulkLoadRejected):
                raise  # a bulk load is started again graph by graph (load), not sorted out here
            ids = chunk.graphs.column("graph_id").to_pylist()
            if len(ids) == 1:
                summary.rejected_graphs[ids[0]] = first_line(exc, 300)
                summary.warnings.append(f"the store rejected graph {ids[0]}: {first_line(exc, 300)}")
                return
            # A staged Neo4j write publishes graph by graph: some may be in before the refusal.
            published = set(self.run("MATCH (g:Graph) WHERE g.graph_id IN $ids RETURN g.graph_id AS g",
                                     {"ids": ids})["g"])
            for gid in ids:
                part = chunk.graph(gid)
                if gid in published:
                    self._count(part, summary)
                else:
                    self._write_or_reject(part, flattener, summary)
            return
        self._count(chunk, summary)

    @staticmethod
    def _count(chunk: GraphChunk, summary: LoadSummary) -> None:
        summary.graphs += chunk.graphs.num_rows
        summary.operators += chunk.operators.num_rows
        summary.edges += chunk.edges.num_rows

    def _load_models(self, models: pa.Table, summary: LoadSummary, on_progress: Progress | None) -> None:
        present = self.loaded_model_ids()
        ids = models.column("model_id").to_pylist()
        keep = [i for i, m in enumerate(ids) if m not in present]
        summary.skipped_models = len(ids) - len(keep)
        if not keep:
            return
        new = reject_models(models.take(pa.array(keep, pa.int64())), summary.rejected_graphs)
        self.write_models(new)
        summary.models = new.num_rows
        touched = sorted({g for g in new.column("graph_id").to_pylist() if g})
        self.run(
            "MATCH (g:Graph) WHERE g.graph_id IN $ids "
            "OPTIONAL MATCH (m:Model)-[:INSTANCE_OF]->(g) "
            "WITH g, count(m) AS n SET g.num_models = n",
            {"ids": touched},
            write=True,
        )
        if on_progress:
            on_progress("models", new.num_rows, new.num_rows)


def check_tables(folder: Path) -> None:
    """Every table of an extraction folder is there, readable and has the columns a load needs;
    otherwise one StoreError, before anything is loaded (a load without edges.parquet would store
    graphs without flows, and a later complete load would skip them as present)."""
    if not folder.is_dir():
        raise StoreError(f"{folder} is not an extraction folder: run `younger-graph extract SRC... --out {folder}`",
                         StoreErrorKind.MISSING)
    for table in TABLE_NAMES:
        path = table_path(folder, table)
        if not path.is_file():
            if table not in CORE_TABLES:  # a folder of format 1: the load computes the architecture view
                continue
            raise StoreError(f"{folder} has no {table}.parquet (an incomplete extraction folder): "
                             "run `younger-graph extract` into it again", StoreErrorKind.MISSING)
        try:
            names = pq.ParquetFile(path).schema_arrow.names
        except (OSError, pa.ArrowException) as exc:
            raise StoreError(f"{path} cannot be read as Parquet ({first_line(exc, 200)})",
                             StoreErrorKind.INVALID) from None
        missing = [c for c in REQUIRED_COLUMNS.get(table, SCHEMAS[table].names) if c not in names]
        if missing:
            raise StoreError(f"{path} lacks the columns {', '.join(missing)}", StoreErrorKind.INVALID)


def safe_model_columns(models: pa.Table) -> pa.Table:
    """Metadata columns under the names the stores declare (names.metadata_columns): identity for a
    folder this version extracted, the same rule for tables written elsewhere."""
    extra = [c for c in models.column_names if c not in MODEL_CORE]
    stored = metadata_columns(extra, MODEL_CORE)
    if all(stored[c] == c for c in extra):
        return models
    return models.rename_columns([stored.get(c, c) if c not in MODEL_CORE else c for c in models.column_names])


def reject_models(models: pa.Table, rejected: dict[str, str]) -> pa.Table:
    """Models of graphs the store rejected become error rows saying why (no INSTANCE_OF: no graph)."""
    if not rejected:
        return models
    rows = models.to_pylist()
    for row in rows:
        why = rejected.get(row["graph_id"])
        if why is not None and row["status"] == "ok":
            row.update(status="error", error=f"the store rejected its graph: {why}")
    return pa.Table.from_pylist(rows, schema=models.schema)


def attribute_counts(per_attrs: dict[str, int]) -> dict[str, int]:
    """Operators carrying each attribute name, from (attrs JSON → operators) counts."""
    counts: dict[str, int] = {}
    for text, n in per_attrs.items():
        for name in json.loads(text):
            counts[name] = counts.get(name, 0) + n
    return counts
class _Follower:
    """The runs of one graph-row table, taken in step with the graphs of operators.parquet."""

    def __init__(self, folder: Path, table: str) -> None:
        self._runs = iter_graph_rows(folder, table)
        self._next = next(self._runs, None)

    def take(self, gid: str) -> pa.Table | None:
        if self._next is not None and self._next[0] == gid:
            rows = self._next[1]
            self._next = next(self._runs, None)
            return rows
        return None

    def left(self) -> bool:
        return self._next is not None


def with_arch_view(graphs: pa.Table, operators: pa.Table, edges: pa.Table,
                   stored: tuple[pa.Table, pa.Table] | None = None, warnings: list[str] | None = None) -> GraphChunk:
    """A chunk of whole graphs with their architecture view (younger_graph.views): as extracted
    (`stored` rows of arch_operators / arch_edges) or computed here for graphs that have none (folders
    written before format 2), and the Graph properties it adds (sizes, metrics, embeddings)."""
    ids = graphs.column("graph_id").to_pylist()
    arch = arch_chunk(ids, operators, edges, dict(zip(ids, graphs.column("graph_id_arch").to_pylist())), stored,
                      warnings)
    extra = arch.graphs.select(VIEW_GRAPH_COLUMNS)
    nodes = graphs
    for name in extra.column_names:
        nodes = nodes.append_column(name, extra.column(name))
    return GraphChunk(nodes, operators, edges, arch)


def model_rows(models: pa.Table) -> list[dict[str, Any]]:
    rows = models.to_pylist()
    for r in rows:
        for k, v in list(r.items()):
            if isinstance(v, float) and v != v:
                r[k] = None
    return rows

