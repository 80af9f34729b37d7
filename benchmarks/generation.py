"""`to-onnx` and `check-generated` speed, each against a baseline timed in the same run.

Usage:
    python benchmarks/generation.py [--quick] [--json out.json] [--repeat 3]

On the shipped sample (extracted and loaded into a temporary embedded store, untimed):

* to-onnx: `yg.export_onnx(store, out)`, every graph rebuilt, written, re-hashed and checked by
  onnx.checker; and `check=False` (no checker);
* its baseline, extract: `extract_file(path)` on every sample model (read, hash, parse, walk: what
  the rebuilt files cost to extract again), per graph;
* check-generated: `yg.check_generated(store, dense.npz)` on the store's own dense export (validity,
  view hashes, reading the reference, MMD with its baseline halves);
* its baseline, export dense: `yg.export_dense(store, out)`, which reads the same graphs.

Each is timed `--repeat` times (medians of wall and of process CPU seconds). The ratios use CPU
seconds per item: all contenders run in this process, and on a shared machine wall time mostly
measures the neighbours (and to-onnx's fsyncs: every file is written atomically). Targets
(budgets from what each side does): to-onnx / extract ≤ 5 per graph (to-onnx reads the graph from
the store, builds the protobuf, extracts the result again to re-hash it, runs onnx.checker and writes
atomically: about four extractions' worth) and check-generated / export dense ≤ 5 (it reads what the
export reads, then checks, hashes and describes every sample and reference graph).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import SAMPLE_DIR, machine, median, print_table, ratio, target_row, write_json

TARGETS = {"to_onnx_over_extract": 5.0, "check_over_dense_export": 5.0}


def _timed(work: Callable[[], Any], repeat: int) -> dict[str, Any]:
    walls, cpus = [], []
    for _ in range(repeat):
        cpu0, start = time.process_time(), time.perf_counter()
        work()
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu0)
    return {"median_s": median(walls), "cpu_median_s": median(cpus), "runs_s": walls}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one run on a few sample models")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", help="write the result here")
    args = parser.parse_args()
    repeat = 1 if args.quick else max(1, args.repeat)

    from younger_graph.loaders.onnx_files import extract_file

    import younger_graph as yg
    from younger_graph.store import open_store

    files = sorted(SAMPLE_DIR.glob("*.onnx"))
    if args.quick:
        files = [f for f in files if f.stat().st_size < 2_000_000][:6]
    tmp = Path(tempfile.mkdtemp(prefix="yg-bench-generation-"))
    try:
        models = tmp / "models"
        models.mkdir()
        for f in files:
            shutil.copy(f, models / f.name)
        summary = yg.extract([models], tmp / "tables", workers=1)
        db = tmp / "store.db"
        with open_store(db, write=True) as store:
            store.load(tmp / "tables")
        graphs = summary.new_graphs
        timings: dict[str, Any] = {}
        timings["extract"] = _timed(lambda: [extract_file(str(f)) for f in files], repeat)
        with open_store(db) as store:
            timings["to-onnx"] = _timed(lambda: yg.export_onnx(store, tmp / "onnx"), repeat)
            timings["to-onnx-no-check"] = _timed(lambda: yg.export_onnx(store, tmp / "onnx2", check=False), repeat)
            timings["export-dense"] = _timed(lambda: yg.export_dense(store, tmp / "dense"), repeat)
            timings["check-generated"] = _timed(lambda: yg.check_generated(store, tmp / "dense" / "dense.npz"),
                                                repeat)
            rebuilt = yg.export_onnx(store, tmp / "onnx3")
        per_graph = {k: v["cpu_median_s"] / max(graphs, 1) * 1000 for k, v in timings.items() if k != "extract"}
        per_graph["extract"] = timings["extract"]["cpu_median_s"] / max(len(files), 1) * 1000
        ratios = {
            # extract runs per model file; to-onnx per distinct graph: compare per-item costs
            "to_onnx_over_extract": ratio(per_graph["to-onnx"], per_graph["extract"]),
            "to_onnx_no_check_over_extract": ratio(per_graph["to-onnx-no-check"], per_graph["extract"]),
            "check_over_dense_export": ratio(timings["check-generated"]["cpu_median_s"],
                                             timings["export-dense"]["cpu_median_s"]),
        }
        print_table(["contender", "median s", "cpu s", "cpu ms per item"],
                    [[k, v["median_s"], v["cpu_median_s"], per_graph[k]] for k, v in timings.items()],
                    title=f"generation: {len(files)} models, {graphs} graphs, {repeat} runs")
        rows = [target_row(k, ratios[k], "<=", t) for k, t in TARGETS.items()]
        print_table(["ratio", "value", "target", "met"], rows, title="targets")
        result = {"benchmark": "generation", "quick": args.quick, "machine": machine(),
                  "corpus": {"files": len(files), "graphs": graphs}, "timings": timings, "cpu_ms_per_item": per_graph,
                  "ratios": ratios, "targets": TARGETS,
                  "missed": [r[0] for r in rows if r[3] is False],
                  "round_trip": {"exact": rebuilt.exact, "checker_ok": rebuilt.checked, "graphs": len(rebuilt.graphs)}}
        write_json(args.json, result)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
