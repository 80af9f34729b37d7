"""`younger-graph communities` at scale, and what its results add to `younger-graph stats`.

Usage:
    python benchmarks/communities.py [--scale 1] [--method cnm] [--repeat 3] [--json out.json] [--quick]
        [--db PATH] [--keep]

In one run, on the synthetic corpus of benchmarks/synth.py at --scale (1 = the Younger release:
7.6k graphs, 12.6M operators, 16.1M edges):

1. the tables are loaded into a fresh embedded store by `younger-graph load` in a child process (timed
   for the record, not a target; `--db PATH` of an existing store holding the corpus and no
   communities of the method reuses it, since a Younger-scale load takes minutes);
2. **stats before** (the baseline): `open_store` + `compute_stats` + `render_json`, --repeat times
   (median): the document without a communities section;
3. **communities**: `younger-graph communities --method M` as a child process: wall time, CPU
   seconds (user + system) and its own peak RSS (measured by a small wrapper process around it);
4. **stats after**, --repeat times: the same call, now with the communities section. The section's
   cost is after − before (seconds) and after / before (ratio), both from this run; each
   `stats_community_*` query's share is reported (time between progress ticks, median).

Target: the communities section adds at most 10 s to `stats` at Younger scale. The section is checked
for consistency with the rest of the document (every graph and operator is in some community).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    BENCH_DIR,
    SAMPLE_DIR,
    cli_executable,
    machine,
    median,
    print_table,
    ratio,
    run_timed,
    target_row,
    write_json,
)

TARGET_ADDED_S = 10.0
QUICK_SCALE = 0.0005
# Runs a command and reports its peak RSS on stderr's last line: ru_maxrss of RUSAGE_CHILDREN is the
# largest child ever waited for, so each measured command gets a process of its own.
WRAPPER = ("import json, resource, subprocess, sys; rc = subprocess.run(sys.argv[1:]).returncode; "
           "print(json.dumps({'maxrss_kb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}), "
           "file=sys.stderr); sys.exit(rc)")


def measured(cmd: list[str]) -> dict[str, Any]:
    """A whole command: wall s, CPU s (user + system, its children included), its peak RSS, stdout."""
    wall, cpu, proc = run_timed([sys.executable, "-c", WRAPPER, *cmd])
    rss_kb = json.loads(proc.stderr.strip().splitlines()[-1])["maxrss_kb"]
    return {"wall_s": wall, "cpu_s": cpu, "peak_rss_mb": rss_kb / 1024, "output": proc.stdout.strip()}


def reusable(db: Path, graphs: int, method: str) -> bool:
    """Does this store hold the corpus (same graph count) and no communities of `method` yet?"""
    from younger_graph.reading import graphs_with_communities
    from younger_graph.store import open_store

    with open_store(db) as store:
        held = int(store.run("MATCH (g:Graph) RETURN count(g) AS n")["n"].iloc[0])
        return held == graphs and not graphs_with_communities(store, method)


def timed_stats(db: Path, repeat: int) -> dict[str, Any]:
    """compute_stats + render_json on the store, `repeat` times: wall and CPU medians, per-query times."""
    from younger_graph.stats import compute_stats, render_json
    from younger_graph.store import open_store

    walls, cpus, per_query, doc = [], [], defaultdict(list), None
    for _ in range(repeat):
        last = [time.perf_counter()]

        def tick(label: str, done: int, total: int, last: list[float] = last) -> None:
            now = time.perf_counter()
            per_query[label].append(now - last[0])
            last[0] = now

        start, cpu0 = time.perf_counter(), time.process_time()
        with open_store(db) as store:
            doc = compute_stats(store, on_progress=tick)
        render_json(doc)
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu0)
    # A query that runs several times per document (per method, per hash kind) sums within a run.
    queries = {k: sum(v) / repeat for k, v in per_query.items()}
    return {"wall_s": median(walls), "wall_runs_s": walls, "cpu_s": median(cpus), "queries_s": queries, "doc": doc}


def consistency(doc: dict[str, Any], method: str) -> list[str]:
    """What must hold once every graph has communities: each graph and operator is in one of them."""
    entry = (doc.get("communities") or {}).get(method)
    if entry is None:
        return [f"no {method} entry in the communities section"]
    problems = []
    if entry["graphs"] != doc["overview"]["graphs"]:
        problems.append(f"graphs {entry['graphs']} != overview {doc['overview']['graphs']}")
    if entry["coverage"]["operators"] != doc["overview"]["operators"]:
        problems.append(f"operators {entry['coverage']['operators']} != overview {doc['overview']['operators']}")
    if entry["size"]["count"] != entry["communities"] or entry["graphs_outdated"]:
        problems.append("community counts disagree")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0, help="synthetic corpus scale (default 1: Younger)")
    parser.add_argument("--method", default="cnm", help="community method (default cnm)")
    parser.add_argument("--repeat", type=int, help="stats runs before and after (median; default 3, --quick 1)")
    parser.add_argument("--quick", action="store_true", help=f"smoke mode: scale {QUICK_SCALE:g}, one run")
    parser.add_argument("--sample", type=Path, default=SAMPLE_DIR, help="models the corpus is built from")
    parser.add_argument("--synth-out", type=Path, help="where the synthetic tables go (default .bench/)")
    parser.add_argument("--db", type=Path, help="the store to create, or an existing one holding the corpus "
                                                "without communities to reuse (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep a store the benchmark created")
    parser.add_argument("--json", help="write the result here")
    args = parser.parse_args(argv)
    scale = QUICK_SCALE if args.quick else args.scale
    repeat = args.repeat or (1 if args.quick else 3)

    import synth

    BENCH_DIR.mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="bench-communities-", dir=BENCH_DIR))
    db = args.db or work / "store.db"
    created = not db.exists()  # a store given with --db that already exists is never deleted
    try:
        folder, manifest, reused = synth.ensure(args.sample, args.synth_out, scale, 0, base_out=work / "base")
        print(f"synthetic tables at scale {scale:g}: {folder} ({'reused' if reused else 'built'})", flush=True)
        if db.exists():
            if not reusable(db, manifest["counts"]["graphs"], args.method):
                raise SystemExit(f"{db} exists and does not hold the corpus without {args.method} communities")
            load = None
            print(f"reusing the store {db}", flush=True)
        else:
            load = measured([*cli_executable(), "load", str(folder), "--db", str(db)])
            print(f"loaded in {load['wall_s']:.1f} s, peak RSS {load['peak_rss_mb']:,.0f} MiB: {load['output']}",
                  flush=True)

        before = timed_stats(db, repeat)
        print(f"stats before: {before['wall_s']:.2f} s (CPU {before['cpu_s']:.2f} s)", flush=True)
        command = measured([*cli_executable(), "communities", "--db", str(db), "--method", args.method])
        print(f"communities: {command['wall_s']:.1f} s wall, {command['cpu_s']:.1f} s CPU, peak RSS "
              f"{command['peak_rss_mb']:,.0f} MiB: {command['output']}", flush=True)
        after = timed_stats(db, repeat)
        print(f"stats after: {after['wall_s']:.2f} s (CPU {after['cpu_s']:.2f} s)", flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
            if args.db is not None and created:
                db.unlink(missing_ok=True)  # an embedded store is one file

    doc = after.pop("doc")
    before.pop("doc")
    entry = doc["communities"][args.method]
    problems = consistency(doc, args.method)
    added = after["wall_s"] - before["wall_s"]
    section_queries = {k: v for k, v in after["queries_s"].items() if k.startswith("stats_community")}
    print_table(["run", "graphs", "operators", "communities", "seconds", "CPU s", "peak RSS MiB"], [
        ["load" if load else "load (store reused)", doc["overview"]["graphs"], doc["overview"]["operators"], None,
         load and load["wall_s"], load and load["cpu_s"], load and load["peak_rss_mb"]],
        [f"communities --method {args.method}", entry["graphs"], doc["overview"]["operators"], entry["communities"],
         command["wall_s"], command["cpu_s"], command["peak_rss_mb"]],
        ["stats before (baseline)", doc["overview"]["graphs"], doc["overview"]["operators"], None, before["wall_s"],
         before["cpu_s"], None],
        ["stats after", doc["overview"]["graphs"], doc["overview"]["operators"], entry["communities"],
         after["wall_s"], after["cpu_s"], None],
    ], title=f"scale {scale:g} (wall-clock medians of {repeat} for stats)")
    print_table(["query", "seconds"], sorted(section_queries.items(), key=lambda kv: -kv[1]),
                title="the communities section's queries (summed over methods and hash kinds, per document)")
    targets = [target_row("seconds the communities section adds to stats", added, "<=", TARGET_ADDED_S)]
    print_table(["target", "value", "target", "met"], targets, title="targets")
    if problems:
        print("INCONSISTENT: " + "; ".join(problems))
    write_json(args.json, {
        "benchmark": "communities",
        "quick": args.quick,
        "machine": machine(),
        "scale": scale,
        "synthetic": manifest.get("synthetic"),
        "repeat": repeat,
        "method": args.method,
        "corpus": {"graphs": doc["overview"]["graphs"], "operators": doc["overview"]["operators"],
                   "nodes": doc["overview"]["nodes"], "edges": doc["overview"]["edges"]},
        "load": load,
        "communities_command": {**command, "communities": entry["communities"],
                                "distinct_blocks": entry["blocks"]["hash"]["distinct"],
                                "shared_blocks": entry["blocks"]["hash"]["shared"],
                                "coverage": entry["coverage"]["hash"]["share"]},
        "stats_before": before,
        "stats_after": after,
        "added_s": added,
        "ratios": {"stats_after_over_before": ratio(after["wall_s"], before["wall_s"]),
                   "cpu_after_over_before": ratio(after["cpu_s"], before["cpu_s"])},
        "section_queries_s": section_queries,
        "targets": {row[0]: {"value": row[1], "target": row[2], "met": row[3]} for row in targets},
        "missed": [row[0] for row in targets if row[3] is False],
        "consistent": not problems,
        "problems": problems,
    })
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
