"""Reading graphs out of a store for exports: the selection first, then whole graphs in batches.

1. `select_graphs`: the graph ids to export (every Graph, a library query's `graph_id` column, a
   Cypher condition on `g`, or both), with their stored sizes, sorted by graph_id;
2. `batches`: consecutive runs of those ids holding at most ~`BATCH_NODES` operators (always at
   least one whole graph);
3. `read_batch`: per batch, one Cypher statement for operators and one for flows, both reached
   through `(:Graph)-[:CONTAINS]->(:Operator)`, returned sorted (graph_id, idx) and
   (graph_id, src, dst, src_slot, dst_slot) so that every backend gives identical rows.

`RawWriter` appends the rows to Parquet files as they arrive, so memory stays one batch deep.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from younger_graph import dialect
from younger_graph.store.base import QueryError, Store, StoreError

Progress = Callable[[str, int, int], None]

# Operators per read batch. A batch's rows travel as Python objects (Store.run → DataFrame), ~1 KiB
# per operator row with its attributes, so this bounds the reading phase's memory to ~100 MiB.
BATCH_NODES = 50_000
BATCH_GRAPHS = 1_000
ID_CHUNK = 10_000

GRAPH_FIELDS = "g.graph_id AS graph_id, g.num_nodes AS num_nodes, g.num_edges AS num_edges"
OPERATORS = (
    "MATCH (g:Graph)-[:CONTAINS]->(o:Operator) WHERE g.graph_id IN $ids "
    "RETURN g.graph_id AS graph_id, o.idx AS idx, o.op_type AS op_type, o.domain AS domain, o.attrs AS attrs, "
    "o.kind AS kind"
)
FLOWS = (
    "MATCH (g:Graph)-[:CONTAINS]->(a:Operator)-[f:FLOWS]->(b:Operator) WHERE g.graph_id IN $ids "
    "RETURN g.graph_id AS graph_id, a.idx AS src, b.idx AS dst, f.src_slot AS src_slot, f.dst_slot AS dst_slot"
)
COMMUNITY_MEMBERS = (
    "MATCH (o:Operator)-[:MEMBER_OF]->(c:Community) WHERE c.graph_id IN $ids AND c.method = $method "
    "RETURN c.graph_id AS graph_id, c.k AS k, c.community_id AS community_id, c.hash AS hash, "
    "c.hash_noattr AS hash_noattr, o.idx AS idx"
)
COMMUNITY_GRAPHS = "MATCH (c:Community) WHERE c.method = $method RETURN DISTINCT c.graph_id AS graph_id"

RAW_SCHEMAS: dict[str, pa.Schema] = {
    "operators": pa.schema([("graph_id", pa.string()), ("idx", pa.int32()), ("kind", pa.string()),
                            ("op_type", pa.string()), ("domain", pa.string()), ("attrs", pa.string())]),
    "flows": pa.schema([("graph_id", pa.string()), ("src", pa.int32()), ("dst", pa.int32()),
                        ("src_slot", pa.int32()), ("dst_slot", pa.int32())]),
    "graphs": pa.schema([("graph_id", pa.string()), ("num_nodes", pa.int64()), ("num_edges", pa.int64())]),
    "communities": pa.schema([("graph_id", pa.string()), ("k", pa.int64()), ("community_id", pa.string()),
                              ("hash", pa.string()), ("hash_noattr", pa.string())]),
    "members": pa.schema([("graph_id", pa.string()), ("k", pa.int64()), ("idx", pa.int32())]),
    "targets": pa.schema([("graph_id", pa.string()), ("level", pa.string()), ("value", pa.string())]),
}

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class ExportError(ValueError):
    """An export cannot be made as asked (bad option, nothing selected...); one sentence."""


@dataclass
class Selection:
    """Which graphs to export: a query returning `graph_id` and/or a Cypher condition on `g`."""

    query: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    where: str | None = None

    def describe(self, backend: str) -> dict[str, Any]:
        out: dict[str, Any] = {"query": self.query, "params": self.params, "where": self.where}
        if self.query:
            from younger_graph.query import resolve

            out["cypher"] = resolve(self.query).text_for(backend)
        out["selection_cypher"] = _graphs_cypher(self.where, by_ids=bool(self.query))
        return out


def _graphs_cypher(where: str | None, *, by_ids: bool) -> str:
    conditions = (["g.graph_id IN $ids"] if by_ids else []) + ([f"({where})"] if where else [])
    text = "MATCH (g:Graph) "
    if conditions:
        text += "WHERE " + " AND ".join(conditions) + " "
    return text + "RETURN " + GRAPH_FIELDS


def select_graphs(store: Store, selection: Selection | None = None) -> pd.DataFrame:
    """graph_id, num_nodes, num_edges of the selected graphs, sorted by graph_id (unique)."""
    from younger_graph.query import looks_like_write, resolve

    selection = selection or Selection()
    if selection.where and looks_like_write(selection.where):
        raise ExportError("--where must be a condition on g (the Graph), e.g. 'g.num_operators < 5000'")
    if selection.query:
        q = resolve(selection.query)
        if q.writes or looks_like_write(q.text):
            raise ExportError(f"query {q.name} modifies the store; a selection query must only read")
        found = store.run(q.text_for(store.backend), q.bind(dict(selection.params)))
        if "graph_id" not in found.columns:
            raise ExportError(f"query {q.name} returns no graph_id column (it returns {', '.join(found.columns)})")
        ids = sorted({str(g) for g in found["graph_id"] if g is not None})
        frames = [store.run(dialect.translate(_graphs_cypher(selection.where, by_ids=True), store.backend),
                            {"ids": ids[i:i + ID_CHUNK]}) for i in range(0, len(ids), ID_CHUNK)]
        frames = [f for f in frames if len(f)]
        df = pd.concat(frames, ignore_index=True) if frames else _empty_graphs()
    else:
        df = store.run(dialect.translate(_graphs_cypher(selection.where, by_ids=False), store.backend))
    if not len(df):
        df = _empty_graphs()
    df = df.drop_duplicates("graph_id").sort_values("graph_id", kind="stable").reset_index(drop=True)
    for column in ("num_nodes", "num_edges"):
        df[column] = pd.to_numeric(df[column], errors="coerce").fillna(0).astype("int64")
    return df


def _empty_graphs() -> pd.DataFrame:
    return pd.DataFrame({"graph_id": pd.Series([], dtype=object), "num_nodes": pd.Series([], dtype="int64"),
                         "num_edges": pd.Series([], dtype="int64")})


def batches(graphs: pd.DataFrame, max_nodes: int | None = None, max_graphs: int = BATCH_GRAPHS) -> Iterator[list[str]]:
    """Runs of consecutive graph ids with at most max_nodes (BATCH_NODES) stored nodes (one graph at least)."""
    max_nodes = max_nodes or BATCH_NODES
    batch: list[str] = []
    nodes = 0
    for gid, n in zip(graphs["graph_id"], graphs["num_nodes"]):
        if batch and (nodes + int(n) > max_nodes or len(batch) >= max_graphs):
            yield batch
            batch, nodes = [], 0
        batch.append(str(gid))
        nodes += int(n)
    if batch:
        yield batch


def _typed(df: pd.DataFrame, schema: pa.Schema) -> pd.DataFrame:
    """The frame with the schema's columns, integers as int64 and strings with '' for nulls."""
    out = {}
    for f in schema:
        col = df[f.name] if f.name in df.columns else pd.Series([None] * len(df), dtype=object)
        if pa.types.is_integer(f.type):
            out[f.name] = pd.to_numeric(col, errors="coerce").fillna(0).astype("int64").to_numpy()
        else:
            out[f.name] = col.astype(object).where(col.notna(), "").to_numpy()
    return pd.DataFrame(out, index=pd.RangeIndex(len(df)))


def read_batch(store: Store, ids: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(operators, flows) of these graphs, typed and sorted (see the module docstring)."""
    ops = _typed(store.run(OPERATORS, {"ids": ids}), RAW_SCHEMAS["operators"])
    flows = _typed(store.run(FLOWS, {"ids": ids}), RAW_SCHEMAS["flows"])
    ops = ops.sort_values(["graph_id", "idx"], kind="stable").reset_index(drop=True)
    flows = flows.sort_values(["graph_id", "src", "dst", "src_slot", "dst_slot"], kind="stable").reset_index(drop=True)
    return ops, flows


def read_communities(store: Store, ids: list[str], method: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(communities, members) of these graphs for one method, sorted (graph_id, k[, idx])."""
    rows = store.run(COMMUNITY_MEMBERS, {"ids": ids, "method": method})
    rows = _typed(rows, pa.schema([*RAW_SCHEMAS["communities"], ("idx", pa.int32())]))
    rows = rows.sort_values(["graph_id", "k", "idx"], kind="stable").reset_index(drop=True)
    communities = rows.drop_duplicates(["graph_id", "k"])[RAW_SCHEMAS["communities"].names].reset_index(drop=True)
    return communities, rows[RAW_SCHEMAS["members"].names]


def graphs_with_communities(store: Store, method: str) -> set[str]:
    try:
        df = store.run(COMMUNITY_GRAPHS, {"method": method})
    except QueryError:  # the embedded store has no Community table yet
        return set()
    return {str(g) for g in df["graph_id"]} if len(df) else set()


def check_property(name: str) -> str:
    if not _IDENTIFIER.match(name):
        raise ExportError(f"{name!r} is not a property name (letters, digits and _)")
    return name


def read_targets(store: Store, ids: list[str], prop: str) -> pd.DataFrame:
    """graph_id, level (graph | model), value (text) of a property on the graphs or their models."""
    prop = check_property(prop)
    frames = []
    for level, text in (
        ("graph", f"MATCH (g:Graph) WHERE g.graph_id IN $ids RETURN g.graph_id AS graph_id, g.{prop} AS value"),
        ("model", f"MATCH (m:Model)-[:INSTANCE_OF]->(g:Graph) WHERE g.graph_id IN $ids "
                  f"RETURN g.graph_id AS graph_id, m.{prop} AS value"),
    ):
        try:
            df = store.run(text, {"ids": ids})
        except QueryError:  # the embedded store declares no such property on this label
            continue
        df = df[df["value"].notna()] if len(df) else df
        if len(df):
            frames.append(pd.DataFrame({"graph_id": df["graph_id"].astype(str), "level": level,
                                        "value": [_text(v) for v in df["value"]]}))
    if not frames:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in RAW_SCHEMAS["targets"].names})
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values(["graph_id", "level", "value"], kind="stable").reset_index(drop=True)


def _text(value: Any) -> str:
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def store_fingerprint(store: Store) -> dict[str, Any]:
    """sha256 over every Graph's id, node and edge counts (sorted by id): changes when the content does."""
    df = store.run(f"MATCH (g:Graph) RETURN {GRAPH_FIELDS}")
    h = hashlib.sha256()
    rows = sorted(zip(df["graph_id"], df["num_nodes"], df["num_edges"])) if len(df) else []
    for gid, n, e in rows:
        h.update(f"{gid}\t{_int(n)}\t{_int(e)}\n".encode())
    return {"graphs": len(rows), "sha256": h.hexdigest()}


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def release_memory() -> None:
    """Hand memory freed by the reading phase back to the OS before tensors are built (best effort):
    Python's garbage, pyarrow's allocator cache and glibc's free lists."""
    import ctypes
    import ctypes.util
    import gc

    gc.collect()
    pa.default_memory_pool().release_unused()
    name = ctypes.util.find_library("c")
    if name:
        try:
            libc = ctypes.CDLL(name)
            trim = getattr(libc, "malloc_trim", None)
            if trim is not None:
                trim(0)
        except OSError:
            pass


class RawWriter:
    """Append rows to <folder>/<name>.parquet, one row group per batch."""

    def __init__(self, folder: Path, names: list[str]) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.writers = {n: pq.ParquetWriter(folder / f"{n}.parquet", RAW_SCHEMAS[n], compression="zstd")
                        for n in names}
        self.rows = dict.fromkeys(names, 0)

    def write(self, name: str, df: pd.DataFrame) -> None:
        table = pa.Table.from_pandas(df[RAW_SCHEMAS[name].names], schema=RAW_SCHEMAS[name], preserve_index=False)
        self.writers[name].write_table(table)
        self.rows[name] += table.num_rows

    def close(self) -> None:
        for w in self.writers.values():
            w.close()

    def __enter__(self) -> RawWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def backend_versions(store: Store | None = None) -> dict[str, str]:
    """Versions of the packages an export depends on (torch ones only when already imported)."""
    import platform
    import sys
    from importlib import metadata

    import numpy

    import younger_graph

    out = {"younger_graph": younger_graph.__version__, "python": platform.python_version(),
           "numpy": numpy.__version__, "pyarrow": pa.__version__, "pandas": pd.__version__}
    for module, dist in (("torch", "torch"), ("torch_geometric", "torch_geometric"), ("ladybug", "ladybug"),
                         ("neo4j", "neo4j")):
        if module in sys.modules or (store is not None and store.backend == "embedded" and module == "ladybug"):
            try:
                out[dist] = metadata.version(dist)
            except metadata.PackageNotFoundError:
                continue
    if store is not None and store.backend == "neo4j":
        try:
            df = store.run("CALL dbms.components() YIELD name, versions RETURN name, versions")
            out["neo4j_server"] = str(df["versions"].iloc[0][0]) if len(df) else "?"
        except (QueryError, StoreError):
            pass
    return out
