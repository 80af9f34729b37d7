"""`match` over a Younger-scale store: a 3-operator chain and a 5-operator residual block.

Usage:
    python benchmarks/match.py [--scale 0.1] [--tables DIR] [--db PATH] [--neo4j-uri URI] [--repeat 3]
                               [--quick] [--json out.json]

The synthetic corpus of benchmarks/synth.py (built or reused at --scale, or --tables) is loaded into an
embedded store (reused when it already holds every graph) and, with --neo4j-uri or NEO4J_URI, into
Neo4j (reused when it holds every graph, loaded when empty; a server holding something else is left
alone unless --neo4j-clear). Then, per backend, each workload runs once to warm the caches and
--repeat times timed (wall clock, median):

* match_chain3: `store.match("Conv>Relu>Conv")`, every occurrence with its models;
* match_chain3_count: `store.match("Conv>Relu>Conv", count=True)`, one row per graph with its number of
  occurrences (`match --count`: no node lists collected or shipped); its total must equal match_chain3's;
* match_residual5: `store.match(tests/fixtures/patterns/residual.onnx)`: Relu → Conv → Relu → Conv → Add
  with the skip connection (a branching block, slot-exact flows);
* scan (baseline): `MATCH (o:Operator) WHERE o.op_type = 'Conv' RETURN count(*)`, the least a search
  anchored on Conv must touch;
* plain_chain3 (baseline): the chain as a hand-written Cypher count, `MATCH (a)-[:FLOWS]->(b)-[:FLOWS]->(c)
  WHERE <op types> RETURN count(*)`: what `match` adds on top of it is scopes, injectivity, one row per
  mapping, the models and every occurrence returned.

Wall seconds and CPU seconds are both recorded: the embedded store runs in this process (CPU: its
user+system time, every engine thread), Neo4j in its server (CPU read from /proc/<pid>/stat of the
server, --neo4j-pid or the pid file of scripts/neo4j). On a machine shared with other jobs the wall
time grows with the load average (recorded); the CPU seconds much less.

The issue's target is absolute: each match ≤ 10 s on each backend at Younger scale. Ratios to the two
baselines of the same run are reported beside it; below scale 1 the seconds are also extrapolated
linearly in the corpus size (said so in the output). Both backends must return identical rows (`agree`).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BENCH_DIR, REPO, SAMPLE_DIR, machine, median, print_table, ratio, target_row, write_json

CHAIN = "Conv>Relu>Conv"
RESIDUAL = REPO / "tests" / "fixtures" / "patterns" / "residual.onnx"
SCAN = "MATCH (o:Operator) WHERE o.op_type = $t RETURN count(*) AS n"
TARGET_S = 10.0
MATCHES = ("match_chain3", "match_chain3_count", "match_residual5")


PLAIN = ("MATCH (a:Operator)-[:FLOWS]->(b:Operator)-[:FLOWS]->(c:Operator) "
         "WHERE a.op_type = $a AND b.op_type = $b AND c.op_type = $c RETURN count(*) AS n")


def _server_cpu(pid: int | None) -> float:
    """user + system seconds of a process (the Neo4j server), 0 when unknown."""
    if not pid:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def _timed(work: Any, repeat: int, server_pid: int | None) -> tuple[list[float], list[float], Any]:
    work()  # warm: the first read of a column pays the disk
    runs, cpus, result = [], [], None
    for _ in range(repeat):
        start, cpu0, server0 = time.perf_counter(), time.process_time(), _server_cpu(server_pid)
        result = work()
        runs.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu0 + _server_cpu(server_pid) - server0)
    return runs, cpus, result


def workloads(store: Any) -> dict[str, Any]:
    a, b, c = CHAIN.split(">")
    return {
        "match_chain3": lambda: store.match(CHAIN),
        "match_chain3_count": lambda: store.match(CHAIN, count=True),
        "match_residual5": lambda: store.match(RESIDUAL),
        "scan": lambda: store.run(SCAN, {"t": "Conv"}),
        "plain_chain3": lambda: store.run(PLAIN, {"a": a, "b": b, "c": c}),
    }


def bench_store(store: Any, repeat: int, server_pid: int | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    timings, results = {}, {}
    for name, work in workloads(store).items():
        load = os.getloadavg()[0]
        runs, cpus, result = _timed(work, repeat, server_pid)
        results[name] = result
        timings[name] = {"median_s": median(runs), "runs_s": runs, "cpu_median_s": median(cpus), "cpu_s": cpus,
                         "rows": len(result), "load_average": load}
        if name.startswith("match_"):
            timings[name]["graphs"] = int(result["graph_id"].nunique()) if len(result) else 0
        print(f"  {name}: {median(runs):.2f} s wall, {median(cpus):.2f} s CPU ({len(result):,} rows; load "
              f"average {load:.1f})", flush=True)
    return timings, results


def neo4j_pid(given: int | None) -> int | None:
    if given:
        return given
    folder = Path(os.environ.get("NEO4J_LOCAL_DIR") or REPO / ".neo4j")
    try:
        return int((folder / "run" / "server.pid").read_text().strip())
    except (OSError, ValueError):
        return None


def ensure_embedded(tables: Path, db: Path, graphs: int) -> dict[str, Any]:
    from younger_graph.store import open_store

    if db.exists():
        with open_store(db) as store:
            if store.counts()["Graph"] == graphs:
                return {"loaded": False}
    start = time.perf_counter()
    with open_store(db, write=True) as store:
        summary = store.load(tables)
    return {"loaded": True, "seconds": time.perf_counter() - start, "summary": summary.as_dict()}


def ensure_neo4j(tables: Path, uri: str, graphs: int, clear: bool) -> tuple[Any, dict[str, Any]]:
    from younger_graph.store import open_store

    store = open_store(uri, write=True)
    present = store.counts()["Graph"]
    if present == graphs:
        return store, {"loaded": False}
    if present and not clear:
        store.close()
        raise RuntimeError(f"{uri} holds {present} graphs, not the {graphs} of {tables}: pass --neo4j-clear")
    while present and int(store.run("MATCH (n) WITH n LIMIT 20000 DETACH DELETE n RETURN count(*) AS n",
                                    write=True)["n"].iloc[0]):
        pass
    start = time.perf_counter()
    summary = store.load(tables)
    return store, {"loaded": True, "seconds": time.perf_counter() - start, "summary": summary.as_dict()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, help="synthetic corpus scale (default 0.1; --quick 0.0005)")
    parser.add_argument("--tables", type=Path, help="an extraction folder to use instead of building one")
    parser.add_argument("--db", type=Path, help="embedded store (default .bench/match-<tables name>.db)")
    parser.add_argument("--neo4j-uri", default=os.environ.get("NEO4J_URI"), help="also run on this Neo4j")
    parser.add_argument("--neo4j-clear", action="store_true", help="empty a Neo4j holding other data first")
    parser.add_argument("--neo4j-pid", type=int, help="the server's pid, for its CPU seconds")
    parser.add_argument("--repeat", type=int, help="timed runs per workload (default 3; --quick 1)")
    parser.add_argument("--quick", action="store_true", help="smoke mode: tiny corpus, embedded only")
    parser.add_argument("--json", help="write the result here")
    args = parser.parse_args(argv)
    scale = args.scale if args.scale is not None else (0.0005 if args.quick else 0.1)
    repeat = args.repeat or (1 if args.quick else 3)

    import pandas as pd

    if args.tables is not None:
        tables = args.tables
    else:
        import synth

        tables, _, reused = synth.ensure(SAMPLE_DIR, None, scale, 0)
        print(f"synthetic tables at scale {scale:g}: {tables} ({'reused' if reused else 'built'})")
    graphs = len(pd.read_parquet(tables / "graphs.parquet", columns=["graph_id"]))
    operators = pd.read_parquet(tables / "operators.parquet", columns=["kind"])
    counts = {"graphs": graphs, "nodes": len(operators), "operators": int((operators["kind"] == "operator").sum()),
              "edges": pd.read_parquet(tables / "edges.parquet", columns=["src"]).shape[0]}
    del operators
    size_factor = 12_600_000 / max(counts["nodes"], 1)  # Younger has 12.6M nodes (synth.py's operators)
    print(f"corpus: {counts['graphs']:,} graphs, {counts['nodes']:,} nodes, {counts['edges']:,} edges "
          f"(Younger is {size_factor:.1f}x this)")

    result: dict[str, Any] = {"benchmark": "match", "quick": args.quick, "machine": machine(), "tables": str(tables),
                              "scale": scale, "counts": counts, "repeat": repeat, "backends": {}}
    db = args.db or BENCH_DIR / f"match-{tables.name}.db"
    result["embedded_load"] = ensure_embedded(tables, db, graphs)
    from younger_graph.store import open_store

    frames = {}
    print("embedded:")
    with open_store(db) as store:
        result["backends"]["embedded"], frames["embedded"] = bench_store(store, repeat)
    from younger_graph.match import totals

    chain, counted = frames["embedded"]["match_chain3"], frames["embedded"]["match_chain3_count"]
    result["count_consistent"] = totals(counted) == totals(chain)
    if not result["count_consistent"]:
        print("INCONSISTENT: match --count's total differs from the occurrence rows")
    if args.neo4j_uri and not args.quick:
        print(f"neo4j ({args.neo4j_uri}):")
        try:
            store, loaded = ensure_neo4j(tables, args.neo4j_uri, graphs, args.neo4j_clear)
            result["neo4j_load"] = loaded
            with store:
                result["backends"]["neo4j"], frames["neo4j"] = bench_store(store, repeat, neo4j_pid(args.neo4j_pid))
            result["agree"] = all(frames["embedded"][k].to_dict("records") == frames["neo4j"][k].to_dict("records")
                                  for k in MATCHES)
        except Exception as exc:  # a missing or refusing server is reported, not fatal
            result["neo4j"] = {"status": "failed", "reason": str(exc).splitlines()[0]}
            print(f"  neo4j skipped: {result['neo4j']['reason']}")

    rows, targets = [], []
    for backend, t in result["backends"].items():
        for name in MATCHES:
            seconds, cpu = t[name]["median_s"], t[name]["cpu_median_s"]
            t[name]["over_scan"] = ratio(seconds, t["scan"]["median_s"])
            t[name]["over_plain_chain3"] = ratio(seconds, t["plain_chain3"]["median_s"])
            t[name]["cpu_over_plain_chain3"] = ratio(cpu, t["plain_chain3"]["cpu_median_s"])
            t[name]["extrapolated_younger_s"] = seconds * size_factor
            rows.append([backend, name, t[name]["rows"], t[name]["graphs"], seconds, cpu, t[name]["over_scan"],
                         t[name]["over_plain_chain3"], t[name]["cpu_over_plain_chain3"], seconds * size_factor])
            suffix = " (extrapolated)" if size_factor > 1.05 else ""
            targets.append(target_row(f"{backend} {name} wall s at Younger scale{suffix}", seconds * size_factor,
                                      "<=", TARGET_S))
            targets.append(target_row(f"{backend} {name} CPU s at Younger scale{suffix}", cpu * size_factor,
                                      "<=", TARGET_S))
    print_table(["backend", "workload", "rows", "graphs", "wall s", "CPU s", "/ scan", "/ plain", "CPU / plain",
                 "Younger-scale s"], rows, "match (medians)")
    print_table(["target", "value", "target", "met"], targets, "targets")
    result["targets"] = [{"name": r[0], "value": r[1], "target": r[2], "met": r[3]} for r in targets]
    if "agree" in result:
        print(f"\nembedded and Neo4j rows identical: {result['agree']}")
    write_json(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
