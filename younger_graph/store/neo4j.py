"""The Neo4j store, through the official `neo4j` driver.

Loads write whole graphs per transaction, so a graph is committed entirely or not at all, and a
killed load resumes by loading again. The graphs a load writes are new (the load skips those
present), so they are CREATEd, never MERGEd, in one statement per chunk (`WRITE_NESTED`): each graph
with its operators as a list, whose nodes are collected in idx order inside the statement, so a FLOWS
relationship joins `nodes[src]` to `nodes[dst]`, nodes of the same transaction, with no index lookup.
Independent chunks commit in `parallel_transactions` concurrent transactions. (`write_mode =
"match"` keeps the former statements: FLOWS endpoints found through the `uid` index; benchmarks/load.py
measures both.) Queries run in READ sessions unless a write was asked for, so the server itself
refuses writes from read-only queries.
"""

from __future__ import annotations

import math
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from younger_graph.errors import StoreErrorKind, first_line
from younger_graph.store.base import (
    GRAPH_NODE_COLUMNS,
    NODE_KEYS,
    REL_ENDPOINTS,
    GraphChunk,
    QueryError,
    Store,
    StoreError,
    model_rows,
)
from younger_graph.store.readonly import check_neo4j_read
from younger_graph.views import ViewChunk

DEFAULT_USER = "neo4j"
DEFAULT_PASSWORD = "younger-graph"

CONSTRAINTS = [
    "CREATE CONSTRAINT model_id IF NOT EXISTS FOR (m:Model) REQUIRE m.model_id IS UNIQUE",
    "CREATE CONSTRAINT graph_id IF NOT EXISTS FOR (g:Graph) REQUIRE g.graph_id IS UNIQUE",
    "CREATE CONSTRAINT operator_uid IF NOT EXISTS FOR (o:Operator) REQUIRE o.uid IS UNIQUE",
    "CREATE INDEX operator_graph IF NOT EXISTS FOR (o:Operator) ON (o.graph_id)",
    "CREATE INDEX operator_type IF NOT EXISTS FOR (o:Operator) ON (o.op_type)",
    "CREATE INDEX graph_noattr IF NOT EXISTS FOR (g:Graph) ON (g.graph_id_noattr)",
    "CREATE INDEX model_graph IF NOT EXISTS FOR (m:Model) ON (m.graph_id)",
    "CREATE INDEX staging_graph IF NOT EXISTS FOR (g:GraphStaging) ON (g.graph_id)",
    "CREATE INDEX staging_operator IF NOT EXISTS FOR (o:OperatorStaging) ON (o.uid)",
    # The architecture view (younger_graph.views), written at load with its graph.
    "CREATE CONSTRAINT arch_operator_uid IF NOT EXISTS FOR (o:ArchOperator) REQUIRE o.uid IS UNIQUE",
    "CREATE INDEX arch_operator_graph IF NOT EXISTS FOR (o:ArchOperator) ON (o.graph_id)",
    "CREATE INDEX arch_operator_type IF NOT EXISTS FOR (o:ArchOperator) ON (o.op_type)",
    "CREATE INDEX graph_arch IF NOT EXISTS FOR (g:Graph) ON (g.graph_id_arch)",
    "CREATE INDEX staging_arch_operator IF NOT EXISTS FOR (o:ArchOperatorStaging) ON (o.uid)",
    # Written by `younger-graph communities`.
    "CREATE CONSTRAINT community_id IF NOT EXISTS FOR (c:Community) REQUIRE c.community_id IS UNIQUE",
    "CREATE INDEX community_graph IF NOT EXISTS FOR (c:Community) ON (c.graph_id)",
    "CREATE INDEX community_method IF NOT EXISTS FOR (c:Community) ON (c.method)",
    "CREATE INDEX community_hash IF NOT EXISTS FOR (c:Community) ON (c.hash)",
]

# Graphs too large for one transaction (a 150k-operator graph exceeds a default server's
# transaction memory) are written under staging labels in many transactions, then published
# (relabelled Graph/Operator) in one: queries never see them half-written, and a killed load
# leaves only staging nodes, which the next load deletes.
STAGE_GRAPHS = "UNWIND $rows AS r CREATE (g:GraphStaging) SET g = r"
STAGE_OPERATORS = (
    "UNWIND $rows AS r MATCH (g:GraphStaging {graph_id: r.graph_id}) "
    "CREATE (g)-[:CONTAINS]->(o:OperatorStaging) SET o = r"
)
STAGE_FLOWS = (
    "UNWIND $rows AS r MATCH (a:OperatorStaging {uid: r.src}) MATCH (b:OperatorStaging {uid: r.dst}) "
    "CREATE (a)-[:FLOWS {src_slot: r.src_slot, dst_slot: r.dst_slot, scope: r.scope, tensor: r.tensor, "
    "dtype: r.dtype, shape: r.shape}]->(b)"
)
STAGE_ARCH_OPERATORS = (
    "UNWIND $rows AS r MATCH (g:GraphStaging {graph_id: r.graph_id}) "
    "CREATE (g)-[:ARCH_CONTAINS]->(o:ArchOperatorStaging) SET o = r"
)
STAGE_ARCH_FLOWS = (
    "UNWIND $rows AS r MATCH (a:ArchOperatorStaging {uid: r.src}) MATCH (b:ArchOperatorStaging {uid: r.dst}) "
    "CREATE (a)-[:ARCH_FLOWS {src_slot: r.src_slot, dst_slot: r.dst_slot, scope: r.scope, tensor: r.tensor, "
    "dtype: r.dtype, shape: r.shape}]->(b)"
)
PUBLISH_GRAPH = (
    "MATCH (g:GraphStaging {graph_id: $graph_id}) SET g:Graph REMOVE g:GraphStaging "
    "WITH g OPTIONAL MATCH (g)-[:CONTAINS]->(o:OperatorStaging) SET o:Operator REMOVE o:OperatorStaging "
    "WITH DISTINCT g OPTIONAL MATCH (g)-[:ARCH_CONTAINS]->(a:ArchOperatorStaging) "
    "SET a:ArchOperator REMOVE a:ArchOperatorStaging"
)
DELETE_STAGING = (
    "MATCH (n) WHERE n:GraphStaging OR n:OperatorStaging OR n:ArchOperatorStaging WITH n LIMIT 10000 "
    "DETACH DELETE n RETURN count(*) AS n"
)

WRITE_GRAPHS = "UNWIND $rows AS r CREATE (g:Graph) SET g = r"
WRITE_OPERATORS = (
    "UNWIND $rows AS r MATCH (g:Graph {graph_id: r.graph_id}) "
    "CREATE (g)-[:CONTAINS]->(o:Operator) SET o = r"
)
WRITE_FLOWS = (
    "UNWIND $rows AS r MATCH (a:Operator {uid: r.src}) MATCH (b:Operator {uid: r.dst}) "
    "CREATE (a)-[:FLOWS {src_slot: r.src_slot, dst_slot: r.dst_slot, scope: r.scope, tensor: r.tensor, "
    "dtype: r.dtype, shape: r.shape}]->(b)"
)
# One statement per chunk: graphs with their operators (idx order) and their edges as plain lists
# [src, dst, *FLOW_PROPERTIES] (no map keys repeated per edge; a null is simply not stored).
FLOW_PROPERTIES = ("src_slot", "dst_slot", "scope", "tensor", "dtype", "shape")
WRITE_NESTED = (
    "UNWIND $graphs AS g CREATE (gn:Graph) SET gn = g.props "
    "WITH gn, g CALL (gn, g) { UNWIND g.ops AS r CREATE (gn)-[:CONTAINS]->(o:Operator) SET o = r "
    "RETURN collect(o) AS nodes } "
    "UNWIND g.edges AS e WITH nodes[e[0]] AS a, nodes[e[1]] AS b, e "
    "CREATE (a)-[:FLOWS {" + ", ".join(f"{p}: e[{i + 2}]" for i, p in enumerate(FLOW_PROPERTIES)) + "}]->(b)"
)
WRITE_ARCH_OPERATORS = (
    "UNWIND $rows AS r MATCH (g:Graph {graph_id: r.graph_id}) "
    "CREATE (g)-[:ARCH_CONTAINS]->(o:ArchOperator) SET o = r"
)
WRITE_ARCH_FLOWS = (
    "UNWIND $rows AS r MATCH (a:ArchOperator {uid: r.src}) MATCH (b:ArchOperator {uid: r.dst}) "
    "CREATE (a)-[:ARCH_FLOWS {src_slot: r.src_slot, dst_slot: r.dst_slot, scope: r.scope, tensor: r.tensor, "
    "dtype: r.dtype, shape: r.shape}]->(b)"
)
# The vector indexes `similar` searches (younger_graph.arch.similar), one per view's embedding property;
# `nearest` fetches more candidates than asked (RESCORE_MARGIN) and rescores them exactly.
RESCORE_MARGIN = 20
VECTOR_INDEXES = {"arch": "graph_embedding_arch", "exact": "graph_embedding_exact"}
CREATE_VECTOR_INDEX = (
    "CREATE VECTOR INDEX {name} IF NOT EXISTS FOR (g:Graph) ON (g.{prop}) "
    "OPTIONS {{indexConfig: {{`vector.dimensions`: {dim}, `vector.similarity_function`: 'cosine', "
    "`vector.quantization.enabled`: false}}}}"
)
WRITE_MODELS = (
    "UNWIND $rows AS r MERGE (m:Model {model_id: r.model_id}) SET m += r "
    "WITH m, r WHERE r.graph_id IS NOT NULL "
    "MATCH (g:Graph {graph_id: r.graph_id}) MERGE (m)-[:INSTANCE_OF]->(g)"
)


def _clean(row: dict[str, Any]) -> dict[str, Any]:
    """Neo4j stores no nulls and no NaN placeholders: drop them."""
    return {k: v for k, v in row.items() if v is not None and not (isinstance(v, float) and math.isnan(v))}


class Neo4jStore(Store):
    backend = "neo4j"
    chunk_rows = 10_000
    batch_rows = 10_000
    stage_rows = 50_000  # chunks larger than this are staged (see STAGE_GRAPHS)
    write_mode = "nested"  # "nested" (WRITE_NESTED) | "match" (WRITE_OPERATORS + WRITE_FLOWS by uid lookups)
    # Chunks of independent graphs committed concurrently (1.15x in benchmarks/load.py); serial by default,
    # so that a graph the server rejects is skipped and reported alone (Store._write_or_reject).
    parallel_transactions = 1

    def __init__(self, uri: str, *, username: str | None = None, password: str | None = None,
                 write: bool = False, database: str | None = None) -> None:
        try:
            import neo4j
        except ImportError:
            raise StoreError("the neo4j driver is not installed: pip install 'younger-graph[neo4j]'",
                             StoreErrorKind.INVALID) from None
        self._neo4j = neo4j
        self.location = uri
        self.writable = write
        self.database = database or os.environ.get("NEO4J_DATABASE") or None
        user = username or os.environ.get("NEO4J_USERNAME") or DEFAULT_USER
        secret = password or os.environ.get("NEO4J_PASSWORD") or DEFAULT_PASSWORD
        try:
            self.driver = neo4j.GraphDatabase.driver(uri, auth=(user, secret))
            self.driver.verify_connectivity()
        except neo4j.exceptions.AuthError:
            raise StoreError(f"Neo4j at {uri} refused the credentials of user {user!r} "
                             "(set NEO4J_USERNAME / NEO4J_PASSWORD)", StoreErrorKind.AUTH) from None
        except (neo4j.exceptions.ServiceUnavailable, OSError) as exc:
            raise StoreError(f"cannot reach Neo4j at {uri}: {first_line(exc)}", StoreErrorKind.UNREACHABLE) from None
        except (neo4j.exceptions.ConfigurationError, ValueError) as exc:
            raise StoreError(f"bad Neo4j URI {uri!r}: {first_line(exc)}", StoreErrorKind.INVALID) from None

        self._pool: ThreadPoolExecutor | None = None
        self._pending: list[Future[None]] = []
        self._slots = threading.BoundedSemaphore(1)

    def close(self) -> None:
        pool = getattr(self, "_pool", None)
        if pool is not None:
            pool.shutdown(wait=True)
        driver = getattr(self, "driver", None)
        if driver is not None:
            driver.close()

    def _session(self, write: bool) -> Any:
        mode = self._neo4j.WRITE_ACCESS if write else self._neo4j.READ_ACCESS
        return self.driver.session(default_access_mode=mode, database=self.database)

    def run(self, cypher: str, params: dict[str, Any] | None = None, *, write: bool = False) -> pd.DataFrame:
        if write and not self.writable:
            raise self.read_only_error()
        if not write:  # a READ session still reaches files and URLs (store/readonly.py)
            check_neo4j_read(cypher)

        def work(tx: Any) -> pd.DataFrame:
            return _frame(tx.run(cypher, params or {}))

        try:
            with self._session(write) as session:
                return session.execute_write(work) if write else session.execute_read(work)
        except self._neo4j.exceptions.Neo4jError as exc:
            raise _query_error(exc) from None
        except self._neo4j.exceptions.ServiceUnavailable as exc:
            raise StoreError(f"lost the connection to Neo4j at {self.location}: {first_line(exc)}",
                             StoreErrorKind.UNREACHABLE) from None

    def nearest(self, vectors: np.ndarray, k: int, view: str = "arch") -> list[list[tuple[str, float]]]:
        """Candidates from Neo4j's vector index of the view (HNSW, approximate), over-fetched and
        rescored exactly with their stored embeddings, so scores and order match the exact index."""
        from younger_graph.query import resolve
        from younger_graph.views import EMBEDDING_PROPERTY

        index = VECTOR_INDEXES[view]
        self.query("await_index", index=index)
        search = resolve("vector_search")
        fetch = max(2 * k, k + RESCORE_MARGIN)
        out = []
        for vector in vectors:
            q = np.asarray(vector, dtype=np.float64)
            df = self.run(search.text_for(self.backend), search.bind({
                "index": index, "k": fetch, "vector": q.tolist(), "property": EMBEDDING_PROPERTY[view]}))
            found = [(str(g), float(np.dot(q, np.asarray(e, dtype=np.float64))))
                     for g, e in zip(df["graph_id"], df["embedding"])] if len(df) else []
            out.append(sorted(found, key=lambda item: (-item[1], item[0]))[:k])
        return out

    # -- schema and loading ---------------------------------------------------------------------
    def ensure_schema(self, attr_kinds: dict[str, str], model_columns: list[str]) -> dict[str, str]:
        from younger_graph.arch.embed import DIM
        from younger_graph.views import EMBEDDING_PROPERTY

        vector_indexes = [CREATE_VECTOR_INDEX.format(name=name, prop=EMBEDDING_PROPERTY[view], dim=DIM)
                          for view, name in VECTOR_INDEXES.items()]
        with self._session(True) as session:
            for statement in [*CONSTRAINTS, *vector_indexes]:
                session.run(statement).consume()
            while session.run(DELETE_STAGING).single()["n"]:  # leftovers of a killed load
                pass
        return attr_kinds

    def ensure_properties(self, label: str, properties: dict[str, str]) -> dict[str, str]:
        if label not in NODE_KEYS:
            raise StoreError(f"unknown node label {label!r}")
        return dict(properties)  # schema-free: a property exists once a SET writes it

    def _in_batches(self, tx: Any, statement: str, rows: list[dict[str, Any]]) -> None:
        for start in range(0, len(rows), self.batch_rows):
            tx.run(statement, rows=rows[start:start + self.batch_rows]).consume()

    def write_graph_chunk(self, chunk: GraphChunk) -> None:
        arch_operators, arch_flows = self._arch_rows(chunk)
        if chunk.rows > self.stage_rows:
            self.wait_for_writes()
            try:
                self._write_staged(*self._chunk_rows(chunk), arch_operators, arch_flows)
            except self._neo4j.exceptions.Neo4jError as exc:
                error = _load_error(exc)
                if error.kind is StoreErrorKind.REJECTED:  # a staged write leaves staging nodes: remove them
                    with self._session(True) as session:
                        while session.run(DELETE_STAGING).single()["n"]:
                            pass
                raise error from None
            return
        exact = self._nested_work(chunk) if self.write_mode == "nested" else self._match_work(chunk)

        def work(tx: Any) -> None:
            exact(tx)
            self._in_batches(tx, WRITE_ARCH_OPERATORS, arch_operators)
            self._in_batches(tx, WRITE_ARCH_FLOWS, arch_flows)

        if self.parallel_transactions <= 1:
            self._commit(work)
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.parallel_transactions, thread_name_prefix="neo4j-load")
            self._slots = threading.BoundedSemaphore(self.parallel_transactions)
        self._slots.acquire()  # at most `parallel_transactions` chunks in memory and in flight
        self._check_pending()
        future = self._pool.submit(self._commit, work)
        future.add_done_callback(lambda _f: self._slots.release())
        self._pending.append(future)

    def wait_for_writes(self) -> None:
        pending, self._pending = self._pending, []
        errors = [f.exception() for f in pending]  # every transaction finishes before one error is raised
        self._raise_parallel([e for e in errors if e is not None])

    def _check_pending(self) -> None:
        done = [f for f in self._pending if f.done()]
        self._pending = [f for f in self._pending if not f.done()]
        self._raise_parallel([e for e in (f.exception() for f in done) if e is not None])

    @staticmethod
    def _raise_parallel(errors: list[BaseException]) -> None:
        """A chunk committed in parallel failed. Its graphs cannot be told apart from the chunk being
        written now, so a rejection is not isolated graph by graph (as serial loads do): say so."""
        if not errors:
            return
        error = errors[0]
        if isinstance(error, StoreError) and error.kind is StoreErrorKind.REJECTED:
            raise StoreError(f"{error} (a chunk committed in a parallel transaction; load with "
                             "parallel_transactions=1 to skip and report the graph the store rejects)",
                             StoreErrorKind.QUERY) from None
        raise error

    def _commit(self, work: Any) -> None:
        try:
            with self._session(True) as session:
                session.execute_write(work)
        except self._neo4j.exceptions.Neo4jError as exc:
            raise _load_error(exc) from None

    def _match_work(self, chunk: GraphChunk) -> Any:
        graphs, operators, flows = self._chunk_rows(chunk)

        def work(tx: Any) -> None:
            self._in_batches(tx, WRITE_GRAPHS, graphs)
            self._in_batches(tx, WRITE_OPERATORS, operators)
            self._in_batches(tx, WRITE_FLOWS, flows)

        return work

    def _nested_work(self, chunk: GraphChunk) -> Any:
        graphs = nested_graphs(chunk)

        def work(tx: Any) -> None:
            tx.run(WRITE_NESTED, graphs=graphs).consume()

        return work

    def _write_staged(self, graphs: list[dict[str, Any]], operators: list[dict[str, Any]],
                      flows: list[dict[str, Any]], arch_operators: list[dict[str, Any]],
                      arch_flows: list[dict[str, Any]]) -> None:
        with self._session(True) as session:
            for statement, rows in ((STAGE_GRAPHS, graphs), (STAGE_OPERATORS, operators), (STAGE_FLOWS, flows),
                                    (STAGE_ARCH_OPERATORS, arch_operators), (STAGE_ARCH_FLOWS, arch_flows)):
                for start in range(0, len(rows), self.batch_rows):
                    batch = rows[start:start + self.batch_rows]
                    session.execute_write(lambda tx, st=statement, b=batch: tx.run(st, rows=b).consume())
            for g in graphs:
                session.execute_write(lambda tx, gid=g["graph_id"]: tx.run(PUBLISH_GRAPH, graph_id=gid).consume())

    @staticmethod
    def _chunk_rows(chunk: GraphChunk) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
        graphs = [_clean(r) for r in chunk.graphs.select(GRAPH_NODE_COLUMNS).to_pylist()]
        operators = []
        for row, attrs in zip(chunk.operators.to_pylist(), chunk.attr_props):
            row["uid"] = f"{row['graph_id']}:{row['idx']}"
            operators.append(_clean({**row, **attrs}))
        flows = []
        for e in chunk.edges.to_pylist():
            e["src"] = f"{e['graph_id']}:{e['src']}"
            e["dst"] = f"{e['graph_id']}:{e['dst']}"
            flows.append(e)
        return graphs, operators, flows

    def write_arch_view(self, chunk: ViewChunk) -> None:
        if not self.writable:
            raise self.read_only_error()
        operators, flows = self._arch_rows(chunk)

        def work(tx: Any) -> None:
            self._in_batches(tx, WRITE_ARCH_OPERATORS, operators)
            self._in_batches(tx, WRITE_ARCH_FLOWS, flows)

        with self._session(True) as session:
            session.execute_write(work)

    @staticmethod
    def _arch_rows(arch: ViewChunk | GraphChunk | None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The architecture view's nodes (uid `<graph_id>:<idx>`, like operators) and flows."""
        if isinstance(arch, GraphChunk):
            arch = arch.arch
        if arch is None:
            return [], []
        operators = []
        for row in arch.operators.to_pylist():
            row["uid"] = f"{row['graph_id']}:{row['idx']}"
            operators.append(_clean(row))
        flows = []
        for e in arch.edges.to_pylist():
            e["src"] = f"{e['graph_id']}:{e['src']}"
            e["dst"] = f"{e['graph_id']}:{e['dst']}"
            flows.append(e)
        return operators, flows

    def write_models(self, models: pa.Table) -> None:
        rows = [_clean(r) for r in model_rows(models)]
        with self._session(True) as session:
            session.execute_write(lambda tx: self._in_batches(tx, WRITE_MODELS, rows))

    def write_rows(self, steps: list[tuple[str, pa.Table]], *,
                   prepare: list[tuple[str, dict[str, Any]]] | None = None) -> None:
        if not self.writable:
            raise self.read_only_error()
        work_items: list[tuple[str, list[dict[str, Any]]]] = []
        for name, table in steps:
            rows = table.to_pylist()
            if name in REL_ENDPOINTS:
                a, b = REL_ENDPOINTS[name]
                ka, kb = NODE_KEYS[a], NODE_KEYS[b]
                statement = (f"UNWIND $rows AS r MATCH (a:{a} {{{ka}: r.from}}) MATCH (b:{b} {{{kb}: r.to}}) "
                             f"CREATE (a)-[x:{name}]->(b) SET x = r.props")
                rows = [{"from": r.pop("from"), "to": r.pop("to"), "props": _clean(r)} for r in rows]
            elif name in NODE_KEYS:
                statement = f"UNWIND $rows AS r CREATE (n:{name}) SET n = r"
                rows = [_clean(r) for r in rows]
            else:
                raise StoreError(f"unknown node label or relationship type {name!r}")
            work_items.append((statement, rows))

        def work(tx: Any) -> None:
            for statement, params in prepare or []:
                tx.run(statement, params).consume()
            for statement, rows in work_items:
                self._in_batches(tx, statement, rows)

        try:
            with self._session(True) as session:
                session.execute_write(work)
        except self._neo4j.exceptions.Neo4jError as exc:
            raise _query_error(exc) from None


def nested_graphs(chunk: GraphChunk) -> list[dict[str, Any]]:
    """The chunk as WRITE_NESTED's parameter: per graph its properties, its operators in idx order (so a
    list position is an idx) and its edges as [src, dst, properties]."""
    ops_by_graph: dict[str, list[dict[str, Any]]] = {}
    for row, attrs in zip(chunk.operators.to_pylist(), chunk.attr_props):
        row["uid"] = f"{row['graph_id']}:{row['idx']}"
        ops_by_graph.setdefault(row["graph_id"], []).append(_clean({**row, **attrs}))
    edges_by_graph: dict[str, list[list[Any]]] = {}
    columns = [chunk.edges.column(c).to_pylist() for c in ("graph_id", "src", "dst", *FLOW_PROPERTIES)]
    for gid, *edge in zip(*columns):
        edges_by_graph.setdefault(gid, []).append(edge)
    out = []
    for props in chunk.graphs.select(GRAPH_NODE_COLUMNS).to_pylist():
        ops = sorted(ops_by_graph.get(props["graph_id"], []), key=lambda r: r["idx"])
        if [r["idx"] for r in ops] != list(range(len(ops))):
            raise StoreError(f"graph {props['graph_id']}: operator idx values are not 0..n-1", StoreErrorKind.REJECTED)
        out.append({"props": _clean(props), "ops": ops, "edges": edges_by_graph.get(props["graph_id"], [])})
    return out


# Server status codes of statements refused because the session or transaction only reads.
_READ_ONLY_CODES = ("Neo.ClientError.Statement.AccessMode", "Neo.ClientError.General.ForbiddenOnReadOnlyDatabase")


# Errors of a write the server refused for its data, not for the statement or the connection: the
# graph is reported and skipped, the load goes on (base.Store._write_or_reject).
_REJECTED_CODES = ("Neo.ClientError.Schema.ConstraintValidationFailed", "Neo.ClientError.Statement.TypeError",
                   "Neo.ClientError.Statement.ArgumentError")
_REJECTED_WORDS = ("too large", "exceeds", "limit")


def _load_error(exc: Any) -> StoreError:
    message = f"{exc.code}: {exc.message}"
    if exc.code in _REJECTED_CODES or any(word in (exc.message or "").lower() for word in _REJECTED_WORDS):
        return StoreError(message, StoreErrorKind.REJECTED)
    return _query_error(exc)


def _query_error(exc: Any) -> QueryError:
    kind = StoreErrorKind.READ_ONLY if exc.code in _READ_ONLY_CODES else StoreErrorKind.QUERY
    return QueryError(f"{exc.code}: {exc.message}", kind)


def _frame(result: Any) -> pd.DataFrame:
    keys = list(result.keys())
    records = [[_plain(v) for v in rec.values()] for rec in result]
    return pd.DataFrame(records, columns=keys) if records else pd.DataFrame({k: [] for k in keys})


def _plain(value: Any) -> Any:
    """Nodes and relationships → property dicts, so both backends return plain values."""
    if hasattr(value, "items") and hasattr(value, "element_id"):
        return dict(value.items())
    if isinstance(value, list):
        # collected scalars (match's node lists: 10^5-10^6 values) pass through without a call each
        if all(type(v) in _SCALARS for v in value):
            return value
        return [_plain(v) for v in value]
    return value


_SCALARS = frozenset({int, float, str, bool, type(None)})

