"""The store interface and the load algorithm both backends share.

A backend is a transport: it runs Cypher with bound parameters and returns a DataFrame, and it
writes chunks of whole graphs atomically. Everything else (what to skip, chunking, attribute
properties, progress) lives here once.

Loading is graph-atomic: a chunk of complete graphs (their Graph node, Operators, CONTAINS and
FLOWS) commits in one transaction, so a half-written graph is never visible; a killed load is
resumed by loading again (graphs already present are skipped; models are merged by model_id).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from younger_graph.errors import QueryError, StoreError, StoreErrorKind
from younger_graph.schema import SCHEMAS
from younger_graph.store.properties import AttributeFlattener, infer_types
from younger_graph.tables import read_table, table_path

if TYPE_CHECKING:  # only for annotations: pandas costs 0.35 s at CLI start-up
    import pandas as pd

Progress = Callable[[str, int, int], None]

MODEL_CORE = SCHEMAS["models"].names
GRAPH_COLUMNS = SCHEMAS["graphs"].names

# Node keys and relationship endpoints of every label the stores hold; `Store.write_rows` writes
# rows for any of them (Neo4j needs the endpoints to match relationship rows to their nodes).
NODE_KEYS = {"Model": "model_id", "Graph": "graph_id", "Operator": "uid", "Community": "community_id"}
REL_ENDPOINTS = {
    "INSTANCE_OF": ("Model", "Graph"),
    "CONTAINS": ("Graph", "Operator"),
    "FLOWS": ("Operator", "Operator"),
    "HAS_COMMUNITY": ("Graph", "Community"),
    "MEMBER_OF": ("Operator", "Community"),
}


__all__ = ["GraphChunk", "LoadSummary", "QueryError", "Store", "StoreError", "StoreErrorKind"]


@dataclass
class LoadSummary:
    models: int = 0
    graphs: int = 0
    operators: int = 0
    edges: int = 0
    skipped_graphs: int = 0
    skipped_models: int = 0
    attribute_properties: int = 0
    warnings: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (f"loaded {self.models} models, {self.graphs} graphs, {self.operators} operators, "
                f"{self.edges} edges; skipped {self.skipped_graphs} graphs and {self.skipped_models} "
                f"models already present")

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()}


@dataclass
class GraphChunk:
    graphs: pa.Table
    operators: pa.Table
    edges: pa.Table
    # attr_* properties: one dict per distinct attrs string, and each operator's index into them
    # (real corpora repeat a few thousand attrs strings over millions of operators).
    attr_distinct: list[dict[str, Any]] = field(default_factory=list)
    attr_codes: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    @property
    def rows(self) -> int:
        return self.operators.num_rows + self.edges.num_rows

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

    def query(self, spec: str, params: dict[str, Any] | None = None, *, write: bool = False,
              **kwparams: Any) -> pd.DataFrame:
        """Run a library query by name (cypher/NAME.cypher), a .cypher file or Cypher text; parameters
        (a dict and/or keywords, converted to the types a query declares, defaults filled in) are
        bound by the driver, never pasted into the text. Write queries need a store opened for writing."""
        from younger_graph.query import resolve

        q = resolve(spec)
        return self.run(q.text_for(self.backend), q.bind({**(params or {}), **kwparams}), write=write or q.writes)

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

    def load(self, folder: str | Path, on_progress: Progress | None = None, *,
             attr_properties: bool = True) -> LoadSummary:
        """Load an extraction folder; idempotent and resumable (see module docstring).

        `attr_properties=False` skips the typed `attr_*` properties (attributes stay in the `attrs`
        JSON): on the embedded store those many sparse columns cost most of the load time."""
        folder = Path(folder)
        if not table_path(folder, "graphs").exists():
            raise StoreError(f"{folder} has no graphs.parquet: run `younger-graph extract` first",
                             StoreErrorKind.MISSING)
        summary = LoadSummary()
        graphs = read_table(folder, "graphs")
        models = read_table(folder, "models")
        model_columns = [c for c in models.column_names if c not in MODEL_CORE]
        self.ensure_schema({}, model_columns)
        present = self.loaded_graph_ids()
        wanted = [g for g in graphs.column("graph_id").to_pylist() if g not in present]
        summary.skipped_graphs = graphs.num_rows - len(wanted)
        kinds = self.ensure_schema(self._attribute_kinds(folder, set(wanted)) if attr_properties else {},
                                   model_columns)
        if not attr_properties:  # the store's existing attr_* properties stay null on these operators
            kinds = {}
        summary.attribute_properties = len(kinds)
        flattener = AttributeFlattener(kinds)
        if wanted:
            self._load_graphs(folder, graphs, set(wanted), flattener, summary, on_progress)
        self._load_models(models, summary, on_progress)
        return summary

    # -- load steps -----------------------------------------------------------------------------
    @staticmethod
    def _attribute_kinds(folder: Path, wanted: set[str]) -> dict[str, str]:
        if not wanted:
            return {}
        distinct: set[str] = set()
        for batch in pq.ParquetFile(table_path(folder, "operators")).iter_batches(
            batch_size=500_000, columns=["graph_id", "attrs"]
        ):
            keep = pc.is_in(batch.column("graph_id"), pa.array(sorted(wanted)))
            distinct.update(pc.unique(batch.column("attrs").filter(keep)).to_pylist())
        return infer_types(distinct)

    def _load_graphs(self, folder: Path, graphs: pa.Table, wanted: set[str], flattener: AttributeFlattener,
                     summary: LoadSummary, on_progress: Progress | None) -> None:
        by_id = {g["graph_id"]: g for g in graphs.to_pylist() if g["graph_id"] in wanted}
        edges_iter = iter_graph_rows(folder, "edges")
        next_edges = next(edges_iter, None)
        pending: list[tuple[dict[str, Any], pa.Table, pa.Table]] = []
        rows = 0
        done = 0
        empty_edges = SCHEMAS["edges"].empty_table()
        for gid, ops in iter_graph_rows(folder, "operators"):
            # Edges are grouped in the same graph order; a graph without edges has no run.
            edges = empty_edges
            if next_edges is not None and next_edges[0] == gid:
                edges = next_edges[1]
                next_edges = next(edges_iter, None)
            if gid not in by_id:
                continue
            pending.append((by_id.pop(gid), ops, edges))
            rows += ops.num_rows + edges.num_rows
            if rows >= self.chunk_rows:
                done += self._flush(pending, flattener, summary)
                pending, rows = [], 0
                if on_progress:
                    on_progress("graphs", done, len(wanted))
        if next_edges is not None:
            raise StoreError(f"{folder}: edges.parquet is not grouped in the graph order of operators.parquet")
        # Graphs with no operator rows at all (empty graphs) still get their Graph node.
        pending.extend((row, SCHEMAS["operators"].empty_table(), empty_edges) for row in by_id.values())
        done += self._flush(pending, flattener, summary)
        if on_progress:
            on_progress("graphs", done, len(wanted))

    def _flush(self, pending: list[tuple[dict[str, Any], pa.Table, pa.Table]], flattener: AttributeFlattener,
               summary: LoadSummary) -> int:
        if not pending:
            return 0
        chunk = GraphChunk(
            pa.Table.from_pylist([p[0] for p in pending], schema=SCHEMAS["graphs"]),
            pa.concat_tables([p[1] for p in pending]),
            pa.concat_tables([p[2] for p in pending]),
        )
        chunk.flatten_attrs(flattener)
        self.write_graph_chunk(chunk)
        summary.graphs += chunk.graphs.num_rows
        summary.operators += chunk.operators.num_rows
        summary.edges += chunk.edges.num_rows
        return chunk.graphs.num_rows

    def _load_models(self, models: pa.Table, summary: LoadSummary, on_progress: Progress | None) -> None:
        present = self.loaded_model_ids()
        ids = models.column("model_id").to_pylist()
        keep = [i for i, m in enumerate(ids) if m not in present]
        summary.skipped_models = len(ids) - len(keep)
        if not keep:
            return
        new = models.take(pa.array(keep, pa.int64()))
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


def model_rows(models: pa.Table) -> list[dict[str, Any]]:
    rows = models.to_pylist()
    for r in rows:
        for k, v in list(r.items()):
            if isinstance(v, float) and v != v:
                r[k] = None
    return rows

