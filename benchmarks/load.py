"""Store load speed: embedded (LadybugDB) and Neo4j (batched vs one MERGE per row), same tables.

Usage:
    python benchmarks/load.py [--scale 0.05] [--json out.json] [--quick] [--no-neo4j] [--profile]

The tables are the synthetic corpus of benchmarks/synth.py at --scale (built or reused from
.bench/). In one run:

* embedded: `open_store(fresh_path, write=True).load(folder)` in a child process (open, load,
  close), timed by wall clock; rows/s counts operator + edge rows; the child's peak RSS
  (resource.getrusage) is reported next to its RSS before the load;
* embedded, bare: the same with `attr_properties=False` (`load --no-attr-properties`: attributes
  only in the attrs JSON, no typed attr_* columns), skipped with --no-bare;
* LadybugDB raw COPY floor (baseline for the embedded figure): the same operator and edge rows as
  bare (INT64 id, op_type) nodes and (from, to, src_slot) relationships, one COPY each, in a
  fresh database: what the engine itself does on this machine, without our keys and properties;
* Neo4j batched: `open_store("bolt://127.0.0.1:7687", write=True).load(folder)` (the store's
  batched UNWIND load) into an emptied database;
* Neo4j naive: the first --naive-rows operator+edge rows (whole graphs), one auto-commit
  `MERGE (o:Operator {uid:$uid}) SET o += $props` per operator and one MATCH/MATCH/MERGE per edge.

Neo4j is reached at $NEO4J_URI (default bolt://127.0.0.1:7687, user/password from
$NEO4J_USERNAME/$NEO4J_PASSWORD or the store's defaults). When it does not answer, `scripts/neo4j
start` is tried (and the server stopped again afterwards); if that is missing or fails, the Neo4j
part is skipped with the reason. The database is emptied before and after (it must be local unless
--force-clear); --quick deletes only the nodes of its own synthetic graphs, so a smoke run next to
other tests on a shared server leaves their data alone, and starts no server.

Targets: batched / naive >= 20 (a ratio within this run); embedded >= 1M rows/s (absolute).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent))

import synth
from common import (
    BENCH_DIR,
    REPO,
    SAMPLE_DIR,
    fmt,
    machine,
    peak_rss_mb,
    print_table,
    ratio,
    target_row,
    write_json,
)

DEFAULT_URI = "bolt://127.0.0.1:7687"
CLEAR = "MATCH (n) CALL { WITH n DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS"
CLEAR_SCOPED = ("MATCH (n) WHERE n.graph_id IN $ids "
                "CALL { WITH n DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS")
NAIVE_OPERATOR = "MERGE (o:Operator {uid: $uid}) SET o += $props"
NAIVE_EDGE = ("MATCH (a:Operator {uid: $src}) MATCH (b:Operator {uid: $dst}) "
              "MERGE (a)-[r:FLOWS {src_slot: $src_slot, dst_slot: $dst_slot}]->(b) SET r += $props")
NEO4J_SCRIPT = REPO / "scripts" / "neo4j"


# -- embedded -----------------------------------------------------------------------------------
def embedded_child(folder: str, db: str, profile: str | None, attr_properties: bool = True) -> None:
    """Runs in a child process so its peak RSS is the load's own; prints one JSON line."""
    from younger_graph.store import open_store

    rss_before = peak_rss_mb()
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    start = time.perf_counter()
    with open_store(db, write=True) as store:
        summary = store.load(folder, attr_properties=attr_properties)
    seconds = time.perf_counter() - start
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(profile)
    print(json.dumps({"seconds": seconds, "summary": summary.as_dict(), "rss_before_mb": rss_before,
                      "peak_rss_mb": peak_rss_mb()}))


def floor_child(folder: str, db: str, full: bool = False) -> None:
    """LadybugDB's own COPY floor on the same rows: operators as (INT64 id, op_type), edges as
    (from, to, src_slot), no string keys, no attribute columns, no CONTAINS. With `full`, the same
    COPYs with every column the store keeps (operators: all operators.parquet columns; FLOWS: slots,
    scope, tensor, dtype, shape), still without CONTAINS, Graph nodes and attr_* columns: what the
    engine itself costs for the store's own columns. Prints one JSON line."""
    import ladybug
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    graphs = pq.ParquetFile(Path(folder) / "graphs.parquet").read(columns=["graph_id", "num_nodes"])
    ops = pq.ParquetFile(Path(folder) / "operators.parquet").read(columns=None if full else ["op_type"])
    edges = pq.ParquetFile(Path(folder) / "edges.parquet").read(
        columns=None if full else ["graph_id", "src", "dst", "src_slot"])
    starts = np.concatenate([[0], np.cumsum(graphs.column("num_nodes").to_numpy())[:-1]])
    offset = starts[pc.index_in(edges.column("graph_id"), value_set=graphs.column("graph_id")).to_numpy()]
    node_columns = ops.column_names if full else ["op_type"]
    rel_columns = ["src_slot", "dst_slot", "scope", "tensor", "dtype", "shape"] if full else ["src_slot"]
    nodes = pa.table({"id": pa.array(np.arange(ops.num_rows, dtype=np.int64)),
                      **{c: ops.column(c) for c in node_columns}}).combine_chunks()
    rels = pa.table({"from": pa.array(offset + edges.column("src").to_numpy()),
                     "to": pa.array(offset + edges.column("dst").to_numpy()),
                     **{c: edges.column(c) for c in rel_columns}}).combine_chunks()
    db_types = {pa.string(): "STRING", pa.int64(): "INT64", pa.int32(): "INT32"}
    database = ladybug.Database(db)
    conn = ladybug.Connection(database)
    node_ddl = ", ".join(f"{c} {db_types[nodes.schema.field(c).type]}" for c in node_columns)
    rel_ddl = ", ".join(f"{c} {db_types[rels.schema.field(c).type]}" for c in rel_columns)
    conn.execute(f"CREATE NODE TABLE Op(id INT64, {node_ddl}, PRIMARY KEY(id))")
    conn.execute(f"CREATE REL TABLE Flow(FROM Op TO Op, {rel_ddl})")
    start = time.perf_counter()
    conn.execute("BEGIN TRANSACTION")
    conn.execute("COPY Op FROM $rows", {"rows": nodes})
    conn.execute("COPY Flow FROM $rows", {"rows": rels})
    conn.execute("COMMIT")
    seconds = time.perf_counter() - start
    conn.close()
    database.close()
    print(json.dumps({"seconds": seconds, "rows": nodes.num_rows + rels.num_rows}))


def run_floor(folder: Path, work: Path, full: bool = False) -> dict[str, Any]:
    db = work / ("floor-full.db" if full else "floor.db")
    proc = subprocess.run([sys.executable, __file__, "--floor-child", str(folder), str(db),
                           *(["--floor-full"] if full else [])], capture_output=True, text=True)
    if proc.returncode != 0:
        return {"status": "failed", "reason": (proc.stderr.strip().splitlines() or ["?"])[-1]}
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["rows_per_s"] = result["rows"] / result["seconds"]
    result["status"] = "ok"
    return result


def run_embedded(folder: Path, work: Path, rows: int, profile: bool, attr_properties: bool = True) -> dict[str, Any]:
    db = work / ("embedded.db" if attr_properties else "embedded-bare.db")
    shutil.rmtree(db, ignore_errors=True)
    if db.exists():
        db.unlink()
    prof = work / "embedded.prof" if profile else None
    cmd = [sys.executable, __file__, "--embedded-child", str(folder), str(db)]
    if prof:
        cmd += ["--child-profile", str(prof)]
    if not attr_properties:
        cmd += ["--child-no-attr-properties"]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"embedded load failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["process_wall_s"] = wall
    result["rows_per_s"] = rows / result["seconds"]
    if prof:
        result["profile"] = top_functions(prof)
    return result


def top_functions(stats_file: Path, top: int = 20) -> dict[str, Any]:
    import pstats

    stats = pstats.Stats(str(stats_file))
    total = stats.total_tt  # type: ignore[attr-defined]
    rows = []
    for (file, line, func), (_cc, ncalls, tottime, cumtime, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        name = file.split("site-packages/")[-1].split("/work/main/")[-1]
        rows.append({"function": f"{name}:{line}({func})", "calls": ncalls, "own_s": tottime,
                     "own_share": tottime / total if total else 0.0, "cum_s": cumtime,
                     "cum_share": cumtime / total if total else 0.0})
    return {
        "total_s": total,
        "by_own_time": sorted(rows, key=lambda r: r["own_s"], reverse=True)[:top],
        "younger_graph_by_cumulative": sorted((r for r in rows if "younger_graph" in r["function"]),
                                              key=lambda r: r["cum_s"], reverse=True)[:top],
    }


# -- Neo4j --------------------------------------------------------------------------------------
def _is_local(uri: str) -> bool:
    host = urlparse(uri).hostname or ""
    return host in ("localhost", "127.0.0.1", "::1")


def connect_neo4j(uri: str, may_start: bool) -> tuple[Any | None, str | None, bool]:
    """(store, reason it is unavailable, whether we started the server)."""
    try:
        import neo4j  # noqa: F401
    except ImportError:
        return None, "the neo4j driver is not installed (pip install 'younger-graph[neo4j]')", False
    from younger_graph.store import StoreError, open_store

    try:
        return open_store(uri, write=True), None, False
    except StoreError as exc:
        first = str(exc)
    if not may_start:
        return None, f"{first} (not starting one: --no-start or --quick)", False
    if not NEO4J_SCRIPT.exists():
        return None, f"{first}; scripts/neo4j is not there to start one", False
    print(f"Neo4j not reachable ({first}); running scripts/neo4j start ...", flush=True)
    env = dict(os.environ)
    port = urlparse(uri).port
    if port and "NEO4J_BOLT_PORT" not in env:
        env["NEO4J_BOLT_PORT"] = str(port)
    proc = subprocess.run([str(NEO4J_SCRIPT), "start"], capture_output=True, text=True, cwd=REPO, env=env)
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-5:]
        return None, f"scripts/neo4j start failed ({proc.returncode}): {' | '.join(tail)}", False
    deadline = time.monotonic() + 120
    while True:
        try:
            return open_store(uri, write=True), None, True
        except StoreError as exc:
            if time.monotonic() > deadline:
                return None, f"scripts/neo4j start ran but {exc}", True
            time.sleep(2)


def clear(store: Any, graph_ids: list[str] | None = None) -> None:
    """Empty the database in an auto-commit session (CALL ... IN TRANSACTIONS needs one).

    With `graph_ids`, only the Model/Graph/Operator nodes of those graphs go (what this run wrote),
    so a smoke run never wipes data another test put into a shared server.
    """
    # Neo4j 5.26 flags the CALL { WITH n ... } form as deprecated; keep the log quiet.
    with store.driver.session(database=store.database, notifications_min_severity="OFF") as session:
        if graph_ids is None:
            session.run(CLEAR).consume()
        else:
            session.run(CLEAR_SCOPED, ids=graph_ids).consume()


def naive_slice(folder: Path, limit: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Operators and edges of the first graphs, until operator+edge rows reach `limit`."""
    from younger_graph.store.base import iter_graph_rows

    operators: list[dict[str, Any]] = []
    edges: list[dict[str, Any]] = []
    edge_runs = iter_graph_rows(folder, "edges")
    next_edges = next(edge_runs, None)
    for gid, ops in iter_graph_rows(folder, "operators"):
        graph_edges: list[dict[str, Any]] = []
        if next_edges is not None and next_edges[0] == gid:
            graph_edges = next_edges[1].to_pylist()
            next_edges = next(edge_runs, None)
        room = limit - len(operators) - len(edges)
        if room <= 0:
            break
        rows = ops.to_pylist()
        if len(rows) + len(graph_edges) > room:  # a partial graph: its first nodes and edges among them
            rows = rows[:max(1, room * len(rows) // (len(rows) + len(graph_edges)))]
            keep = len(rows)
            graph_edges = [e for e in graph_edges if e["src"] < keep and e["dst"] < keep]
            graph_edges = graph_edges[:max(0, limit - len(operators) - len(rows))]
        operators.extend(rows)
        edges.extend(graph_edges)
    return operators, edges


def run_naive(store: Any, operators: list[dict[str, Any]], edges: list[dict[str, Any]]) -> dict[str, Any]:
    start = time.perf_counter()
    with store.driver.session(database=store.database) as session:
        for op in operators:
            uid = f"{op['graph_id']}:{op['idx']}"
            props = {k: v for k, v in op.items() if v is not None}
            session.run(NAIVE_OPERATOR, uid=uid, props=props).consume()
        for e in edges:
            props = {k: v for k, v in e.items() if v is not None and k not in ("src", "dst", "src_slot", "dst_slot")}
            session.run(NAIVE_EDGE, src=f"{e['graph_id']}:{e['src']}", dst=f"{e['graph_id']}:{e['dst']}",
                        src_slot=e["src_slot"], dst_slot=e["dst_slot"], props=props).consume()
    seconds = time.perf_counter() - start
    rows = len(operators) + len(edges)
    return {"operators": len(operators), "edges": len(edges), "rows": rows, "seconds": seconds,
            "rows_per_s": rows / seconds if seconds else None}


def batched_load(store: Any, folder: Path, rows: int) -> dict[str, Any]:
    """The store's own load, timed; a failure (e.g. Neo4j's transaction memory limit) is a result."""
    from younger_graph.store import StoreError

    neo4j = store._neo4j
    start = time.perf_counter()
    try:
        summary = store.load(folder)
    except (StoreError, neo4j.exceptions.Neo4jError, neo4j.exceptions.DriverError) as exc:
        seconds = time.perf_counter() - start
        try:
            loaded: int | None = int(store.run("MATCH (g:Graph) RETURN count(g) AS n")["n"].iloc[0])
        except (StoreError, neo4j.exceptions.Neo4jError, neo4j.exceptions.DriverError):
            loaded = None
        return {"status": "failed", "seconds": seconds, "error": f"{type(exc).__name__}: {exc}",
                "graphs_committed_before_failure": loaded}
    seconds = time.perf_counter() - start
    return {"status": "ok", "seconds": seconds, "rows": rows, "rows_per_s": rows / seconds,
            "summary": summary.as_dict()}


def filter_graphs(folder: Path, work: Path, max_rows: int) -> tuple[Path, int, dict[str, int]] | None:
    """A copy of the tables without the graphs over `max_rows` operator+edge rows (None: none to drop)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from younger_graph.schema import SCHEMAS

    graphs = pq.ParquetFile(folder / "graphs.parquet").read()
    sizes = pc.add(graphs.column("num_nodes"), graphs.column("num_edges"))
    keep_mask = pc.less_equal(sizes, max_rows)
    if pc.all(keep_mask).as_py():
        return None
    kept = graphs.filter(keep_mask)
    ids = kept.column("graph_id")
    out = work / f"tables-max{max_rows}"
    out.mkdir(parents=True, exist_ok=True)
    rows = 0
    for table in ("operators", "edges"):
        with pq.ParquetWriter(out / f"{table}.parquet", SCHEMAS[table]) as writer:
            for batch in pq.ParquetFile(folder / f"{table}.parquet").iter_batches(batch_size=200_000):
                part = pa.Table.from_batches([batch]).filter(pc.is_in(batch.column("graph_id"), value_set=ids))
                rows += part.num_rows
                writer.write_table(part)
    pq.write_table(kept, out / "graphs.parquet")
    models = pq.ParquetFile(folder / "models.parquet").read()
    pq.write_table(models.filter(pc.is_in(models.column("graph_id"), value_set=ids)), out / "models.parquet")
    dropped = {"graphs": graphs.num_rows - kept.num_rows,
               "rows": int(pc.sum(sizes).as_py()) - int(pc.sum(pc.add(kept.column("num_nodes"),
                                                                      kept.column("num_edges"))).as_py())}
    return out, rows, dropped


# Incremental Bolt load techniques, each the store's own load with one setting changed (store/neo4j.py).
TECHNIQUES = [
    ("today: UNWIND maps, MATCH endpoints by uid, 1 transaction at a time", {"write_mode": "match",
                                                                             "parallel_transactions": 1}),
    ("CREATE nested per graph: plain-list edges, endpoints from collect() (no uid lookup)",
     {"write_mode": "nested", "parallel_transactions": 1}),
    ("nested + 2 parallel transactions (the default)", {"write_mode": "nested", "parallel_transactions": 2}),
    ("nested + 4 parallel transactions", {"write_mode": "nested", "parallel_transactions": 4}),
]


def rust_extension() -> bool:
    """Whether the neo4j driver runs with its Rust packstream extension (pip install neo4j-rust-ext)."""
    import importlib.util

    return importlib.util.find_spec("neo4j._rust") is not None


def run_techniques(uri: str, folder: Path, rows: int, scope: list[str] | None) -> list[dict[str, Any]]:
    from younger_graph.store import open_store

    out = []
    for name, settings in TECHNIQUES:
        with open_store(uri, write=True) as store:
            clear(store, scope)
            for key, value in settings.items():
                setattr(store, key, value)
            result = batched_load(store, folder, rows)
            clear(store, scope)
        result.update(name=name, settings=settings)
        print(f"  neo4j technique: {name}: {fmt(result.get('rows_per_s'))} rows/s", flush=True)
        out.append(result)
    return out


def run_admin_import(store: Any, folder: Path, work: Path, bolt_counts: dict[str, int]) -> dict[str, Any]:
    """`export neo4j-import` + `scripts/neo4j import --yes` into the server of NEO4J_LOCAL_DIR/ports (env)."""
    from younger_graph.store.neo4j_import import export_neo4j_import

    files = work / "neo4j-import"
    start = time.perf_counter()
    export_neo4j_import(folder, files)
    export_s = time.perf_counter() - start
    uri = store.location
    store.close()
    start = time.perf_counter()
    proc = subprocess.run([str(NEO4J_SCRIPT), "import", str(files), "--yes"], capture_output=True, text=True,
                          cwd=REPO, stdin=subprocess.DEVNULL)
    script_s = time.perf_counter() - start
    if proc.returncode != 0:
        return {"status": "failed", "reason": (proc.stdout + proc.stderr).strip().splitlines()[-3:]}
    admin_s = next((float(line.split("imported in ")[1].split(" s")[0]) for line in proc.stdout.splitlines()
                    if "imported in " in line), None)
    from younger_graph.store import open_store

    with open_store(uri) as imported:
        counts = imported.counts()
    return {"status": "ok", "export_s": export_s, "admin_import_s": admin_s, "script_s": script_s,
            "counts_equal_bolt": counts == bolt_counts, "counts": counts,
            "note": "script_s includes stopping the server, neo4j-admin, restarting, constraints and indexes"}


def run_neo4j(folder: Path, rows: int, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    uri = args.neo4j_uri or os.environ.get("NEO4J_URI") or DEFAULT_URI
    if not _is_local(uri) and not args.force_clear:
        return {"status": "skipped", "uri": uri,
                "reason": f"{uri} is not local and this benchmark empties the database (use --force-clear)"}
    store, reason, started = connect_neo4j(uri, may_start=not (args.no_start or args.quick))
    if store is None:
        return {"status": "skipped", "uri": uri, "reason": reason}
    result: dict[str, Any] = {"status": "ok", "uri": uri, "started_by_benchmark": started,
                               "cleared": "this corpus's graphs only" if args.quick else "whole database"}
    scope = _graph_ids(folder) if args.quick else None
    try:
        clear(store, scope)
        result["batched"] = batched_load(store, folder, rows)
        if result["batched"]["status"] != "ok":
            print(f"  neo4j batched load FAILED after {result['batched']['seconds']:.1f} s: "
                  f"{result['batched']['error'][:300]}", flush=True)
            clear(store, scope)
            small = filter_graphs(folder, work, args.neo4j_max_graph_rows)
            if small is not None:
                small_folder, small_rows, dropped = small
                print(f"  retrying without the {dropped['graphs']} graphs over {args.neo4j_max_graph_rows:,} rows "
                      f"({small_rows:,} rows left)", flush=True)
                result["batched_small_graphs"] = batched_load(store, small_folder, small_rows)
                result["batched_small_graphs"].update(max_graph_rows=args.neo4j_max_graph_rows, dropped=dropped)
        for key in ("batched", "batched_small_graphs"):
            if result.get(key, {}).get("status") == "ok":
                print(f"  neo4j {key}: {result[key]['rows']:,} rows in {result[key]['seconds']:.1f} s", flush=True)
        if not args.quick and result["batched"]["status"] == "ok":
            bolt_counts = store.counts()
            if args.admin_import:
                result["admin_import"] = run_admin_import(store, folder, work, bolt_counts)
                print(f"  neo4j admin import: {result['admin_import']}", flush=True)
                store, _, _ = connect_neo4j(uri, may_start=False)
        clear(store, scope)
        if args.techniques:
            small = filter_graphs(folder, work, args.neo4j_max_graph_rows)
            tech_folder, tech_rows = (small[0], small[1]) if small else (folder, rows)
            result["techniques"] = run_techniques(uri, tech_folder, tech_rows, scope)
        result["rust_extension"] = rust_extension()
        operators, edges = naive_slice(folder, args.naive_rows)
        result["naive"] = run_naive(store, operators, edges)
        print(f"  neo4j naive: {result['naive']['rows']:,} rows in {result['naive']['seconds']:.1f} s", flush=True)
        clear(store, scope)
    finally:
        store.close()
        if started and NEO4J_SCRIPT.exists():
            env = dict(os.environ)
            port = urlparse(uri).port
            if port and "NEO4J_BOLT_PORT" not in env:
                env["NEO4J_BOLT_PORT"] = str(port)
            subprocess.run([str(NEO4J_SCRIPT), "stop"], capture_output=True, text=True, cwd=REPO, env=env)
    return result


# -- main ---------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", help="write the result here")
    parser.add_argument("--scale", type=float, help="synthetic corpus scale (default 0.05; --quick 0.0005)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--from", dest="source", type=Path, default=SAMPLE_DIR,
                        help="what synth.py samples from (default sample/)")
    parser.add_argument("--tables", type=Path, help="load this extraction folder instead of a synthetic one")
    parser.add_argument("--synth-out", type=Path, help="where the synthetic tables go (default .bench/)")
    parser.add_argument("--base-out", type=Path, help="where synth.py extracts --from when it is a model folder")
    parser.add_argument("--naive-rows", type=int, help="rows for the naive Neo4j load (default 20000; quick 500)")
    parser.add_argument("--no-neo4j", action="store_true", help="embedded only")
    parser.add_argument("--no-start", action="store_true", help="never run scripts/neo4j start")
    parser.add_argument("--neo4j-uri", help=f"default $NEO4J_URI or {DEFAULT_URI}")
    parser.add_argument("--force-clear", action="store_true", help="allow emptying a non-local Neo4j")
    parser.add_argument("--neo4j-max-graph-rows", type=int, default=50_000,
                        help="when the batched Neo4j load fails, retry without graphs over this many rows")
    parser.add_argument("--profile", action="store_true", help="cProfile the embedded load (in the child)")
    parser.add_argument("--techniques", action="store_true",
                        help="also measure each incremental Bolt technique (graphs <= --neo4j-max-graph-rows)")
    parser.add_argument("--admin-import", action="store_true",
                        help="also time export neo4j-import + scripts/neo4j import (replaces the database of the "
                             "server scripts/neo4j manages with NEO4J_LOCAL_DIR/NEO4J_BOLT_PORT/...)")
    parser.add_argument("--quick", action="store_true", help="smoke mode: tiny tables, embedded unless NEO4J_URI")
    parser.add_argument("--embedded-child", nargs=2, metavar=("FOLDER", "DB"), help=argparse.SUPPRESS)
    parser.add_argument("--child-profile", help=argparse.SUPPRESS)
    parser.add_argument("--child-no-attr-properties", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--no-bare", action="store_true", help="skip the embedded load without attr_* properties")
    parser.add_argument("--floor-child", nargs=2, metavar=("FOLDER", "DB"), help=argparse.SUPPRESS)
    parser.add_argument("--floor-full", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.embedded_child:
        embedded_child(*args.embedded_child, args.child_profile, not args.child_no_attr_properties)
        return 0
    if args.floor_child:
        floor_child(*args.floor_child, full=args.floor_full)
        return 0
    scale = args.scale if args.scale is not None else (0.0005 if args.quick else 0.05)
    args.naive_rows = args.naive_rows or (500 if args.quick else 20_000)

    if args.tables:
        folder = args.tables
        manifest = {"counts": _counts(folder)}
        print(f"tables: {folder}")
    else:
        t0 = time.perf_counter()
        folder, manifest, reused = synth.ensure(args.source, args.synth_out, scale, args.seed, base_out=args.base_out)
        print(f"synthetic tables at scale {scale:g}: {folder} ({'reused' if reused else 'built'} in "
              f"{time.perf_counter() - t0:.1f} s)")
    counts = manifest["counts"]
    rows = counts["operators"] + counts["edges"]
    print(f"  {counts['graphs']:,} graphs, {counts['operators']:,} operators, {counts['edges']:,} edges "
          f"= {rows:,} rows", flush=True)

    work = Path(tempfile.mkdtemp(prefix="bench-load-", dir=BENCH_DIR if BENCH_DIR.exists() else None))
    try:
        embedded = run_embedded(folder, work, rows, args.profile)
        print(f"  embedded: {rows:,} rows in {embedded['seconds']:.1f} s", flush=True)
        bare = None if args.no_bare else run_embedded(folder, work, rows, False, attr_properties=False)
        if bare:
            print(f"  embedded --no-attr-properties: {rows:,} rows in {bare['seconds']:.1f} s", flush=True)
        floor = run_floor(folder, work)
        if floor["status"] == "ok":
            print(f"  LadybugDB COPY floor: {floor['rows']:,} rows in {floor['seconds']:.1f} s", flush=True)
        floor_full = {"status": "skipped"} if args.quick else run_floor(folder, work, full=True)
        if floor_full["status"] == "ok":
            print(f"  LadybugDB COPY, the store's columns: {floor_full['rows']:,} rows in "
                  f"{floor_full['seconds']:.1f} s", flush=True)
        if args.no_neo4j or (args.quick and not os.environ.get("NEO4J_URI")):
            neo = {"status": "skipped", "reason": "--no-neo4j" if args.no_neo4j else "--quick without NEO4J_URI"}
        else:
            try:
                neo = run_neo4j(folder, rows, args, work)
            except Exception as exc:  # the server went away mid-run, etc.: report, keep the embedded figures
                neo = {"status": "failed", "reason": f"the Neo4j part failed: {type(exc).__name__}: {exc}"}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if neo["status"] != "ok":
        print(f"  neo4j: {neo['status']}: {neo['reason']}")

    batched_key = "batched" if neo.get("batched", {}).get("status") == "ok" else "batched_small_graphs"
    batched = neo.get(batched_key, {}).get("rows_per_s")
    naive = neo.get("naive", {}).get("rows_per_s")
    ratios = {"neo4j_batched_over_naive": ratio(batched, naive),
              "embedded_over_neo4j_batched": ratio(embedded["rows_per_s"], batched),
              "embedded_over_ladybug_floor": ratio(embedded["rows_per_s"], floor.get("rows_per_s")),
              "embedded_bare_over_ladybug_floor": ratio(bare and bare["rows_per_s"], floor.get("rows_per_s")),
              "embedded_bare_over_embedded": ratio(bare and bare["rows_per_s"], embedded["rows_per_s"]),
              "embedded_bare_over_copy_of_store_columns": ratio(bare and bare["rows_per_s"],
                                                                floor_full.get("rows_per_s")),
              "copy_of_store_columns_over_floor": ratio(floor_full.get("rows_per_s"), floor.get("rows_per_s"))}
    techniques = neo.get("techniques") or []
    today = next((t.get("rows_per_s") for t in techniques if t["settings"]["write_mode"] == "match"), None)
    for t in techniques:
        t["over_naive"], t["over_today"] = ratio(t.get("rows_per_s"), naive), ratio(t.get("rows_per_s"), today)
    # The same tables for both sides: the techniques run on the graphs of <= --neo4j-max-graph-rows rows,
    # so the store's default technique (not the load of every graph, staged ones included) faces today's.
    default = next((t.get("rows_per_s") for t in techniques
                    if t["settings"] == {"write_mode": "nested", "parallel_transactions": 2}), None)
    ratios["neo4j_default_technique_over_today"] = ratio(default, today)
    ratios["neo4j_default_technique_over_naive"] = ratio(default, naive)
    admin = neo.get("admin_import") or {}
    if admin.get("status") == "ok" and neo.get("batched", {}).get("status") == "ok":
        bolt_s = neo["batched"]["seconds"]
        ratios["neo4j_bolt_over_admin_import"] = ratio(bolt_s, admin["export_s"] + (admin["admin_import_s"] or 0))
        ratios["neo4j_bolt_over_admin_import_with_restart"] = ratio(bolt_s, admin["export_s"] + admin["script_s"])
    table = [["embedded (LadybugDB)", rows, embedded["seconds"], embedded["rows_per_s"], embedded["peak_rss_mb"]]]
    if bare:
        table.append(["embedded --no-attr-properties", rows, bare["seconds"], bare["rows_per_s"], bare["peak_rss_mb"]])
    if floor["status"] == "ok":
        table.append(["LadybugDB raw COPY floor", floor["rows"], floor["seconds"], floor["rows_per_s"], None])
    if floor_full["status"] == "ok":
        table.append(["LadybugDB raw COPY, the store's columns", floor_full["rows"], floor_full["seconds"],
                      floor_full["rows_per_s"], None])
    if neo["status"] == "ok":
        b = neo["batched"]
        table.append(["neo4j batched" + ("" if b["status"] == "ok" else " (FAILED)"), rows, b["seconds"],
                      b.get("rows_per_s"), None])
        small = neo.get("batched_small_graphs")
        if small:
            table.append([f"neo4j batched, graphs <= {small['max_graph_rows']:,} rows", small.get("rows"),
                          small["seconds"], small.get("rows_per_s"), None])
        table.append(["neo4j naive (MERGE per row)", neo["naive"]["rows"], neo["naive"]["seconds"], naive, None])
        if admin.get("status") == "ok":
            table.append(["neo4j export neo4j-import + neo4j-admin", rows,
                          admin["export_s"] + (admin["admin_import_s"] or 0), None, None])
            table.append(["  ... + stop, restart, constraints", rows, admin["export_s"] + admin["script_s"],
                          None, None])
    print_table(["load", "rows", "seconds", "rows/s", "peak RSS MiB"], table,
                title=f"loads of {rows:,} operator+edge rows ({folder if args.tables else f'scale {scale:g}'})")
    print(f"embedded child RSS before the load {embedded['rss_before_mb']:.0f} MiB, "
          f"peak {embedded['peak_rss_mb']:.0f} MiB")
    if neo["status"] == "ok" and neo["batched"]["status"] != "ok":
        print(f"neo4j batched load of all graphs failed: {neo['batched']['error'][:400]}")
    if techniques:
        print_table(["incremental Bolt technique", "rows", "seconds", "rows/s", "/ naive", "/ today"],
                    [[t["name"], t.get("rows"), t["seconds"], t.get("rows_per_s"), t["over_naive"], t["over_today"]]
                     for t in techniques],
                    title=f"Neo4j incremental loads (rust extension: {neo.get('rust_extension')})")
    targets = [
        target_row("neo4j batched / naive" + ("" if batched_key == "batched" else " (small graphs)"),
                   ratios["neo4j_batched_over_naive"], ">=", 20),
        target_row("neo4j default technique / naive", ratios["neo4j_default_technique_over_naive"], ">=", 150),
        target_row("neo4j default technique / today's statements", ratios["neo4j_default_technique_over_today"],
                   ">=", 4),
        target_row("neo4j Bolt load / admin import", ratios.get("neo4j_bolt_over_admin_import"), ">=", 10),
        target_row("embedded rows/s", embedded["rows_per_s"], ">=", 1_000_000),
        target_row("embedded / raw COPY floor", ratios["embedded_over_ladybug_floor"], ">=", 0.7),
    ]
    if bare:
        targets.append(target_row("embedded rows/s, --no-attr-properties", bare["rows_per_s"], ">=", 1_000_000))
    print_table(["target", "value", "target", "met"], targets, title="targets")
    print(f"embedded / LadybugDB raw COPY floor: {fmt(ratios['embedded_over_ladybug_floor'])} "
          f"(--no-attr-properties: {fmt(ratios['embedded_bare_over_ladybug_floor'])}); "
          f"embedded / neo4j batched: {fmt(ratios['embedded_over_neo4j_batched'])}")
    if embedded.get("profile"):
        prof = embedded["profile"]
        print_table(["function (own time)", "calls", "own s", "share"],
                    [[r["function"][-70:], r["calls"], r["own_s"], f"{r['own_share']:.1%}"]
                     for r in prof["by_own_time"][:15]],
                    title=f"embedded load hot spots (total {prof['total_s']:.2f} s)")
        print_table(["younger_graph function (cumulative)", "calls", "cum s", "share"],
                    [[r["function"][-70:], r["calls"], r["cum_s"], f"{r['cum_share']:.1%}"]
                     for r in prof["younger_graph_by_cumulative"][:15]])
    write_json(args.json, {
        "benchmark": "load",
        "quick": args.quick,
        "machine": machine(),
        "scale": None if args.tables else scale,
        "tables": {"folder": str(folder), "counts": counts, "rows": rows},
        "embedded": embedded,
        "embedded_bare": bare,
        "ladybug_floor": floor,
        "ladybug_copy_store_columns": floor_full,
        "neo4j": neo,
        "ratios": ratios,
        "targets": {row[0]: {"value": row[1], "target": row[2], "met": row[3]} for row in targets},
        "missed": [row[0] for row in targets if row[3] is False],
        "peak_rss_mb_parent": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    })
    return 0


def _graph_ids(folder: Path) -> list[str]:
    import pyarrow.parquet as pq

    return pq.ParquetFile(folder / "graphs.parquet").read(columns=["graph_id"]).column("graph_id").to_pylist()


def _counts(folder: Path) -> dict[str, int]:
    import pyarrow.parquet as pq

    return {t: pq.ParquetFile(folder / f"{t}.parquet").metadata.num_rows
            for t in ("models", "graphs", "operators", "edges")}


if __name__ == "__main__":
    sys.exit(main())
