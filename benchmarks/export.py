"""Export memory: peak RSS of `export pyg` / `export dense` against the bytes of the tensors they write.

Usage:
    python benchmarks/export.py [--scale 0.01] [--db DB] [--tasks link,operator,graph,dense] [--json out.json] [--quick]

The store is, in order of preference: --db (an existing store, exported as it is); with --scale, the
synthetic corpus of benchmarks/synth.py at that scale (built or reused from .bench/) loaded into an
embedded store there; otherwise the shipped sample/ (extracted and loaded into .bench/). Stores built
here get cnm communities (for the operator task) and are reused by later runs.

Each export runs in a child process (open the store read-only, export, exit), so its peak RSS
(VmHWM of /proc/self/status; ru_maxrss elsewhere) is the export's own plus the interpreter with torch imported, which
is reported separately (`baseline_mb`: RSS after imports, before the export). `tensor_bytes` is the
sum of nbytes of every tensor in the files written (processed/{train,val,test}.pt; dense X, A,
mask, node_idx). Reported ratios: peak / tensor bytes, and (peak - baseline) / tensor bytes.

Target: peak <= 2 x tensor bytes + 1 GiB (on the sample the 1 GiB allowance dominates: its tensors
are a few hundred KiB; run with --scale for a meaningful ratio).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BENCH_DIR, SAMPLE_DIR, fmt, machine, peak_rss_mb, print_table, quiet_env, write_json

GIB = 2**30
TASKS = ("link", "operator", "graph", "dense")


def process_peak_mb() -> float:
    """Peak RSS of this process since its exec (VmHWM). ru_maxrss is not used: Linux carries it over
    fork and exec, so a child would report its parent's peak when that was higher."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return peak_rss_mb()


def child(task: str, db: str, out: str) -> None:
    """Runs in a child process: one export, then one JSON line with its timings and memory."""
    import torch  # noqa: F401  (imported before the baseline, as any user of the export has it)
    import torch_geometric  # noqa: F401

    from younger_graph.export.dense import DenseOptions, export_dense
    from younger_graph.export.pyg import PygOptions, export_pyg
    from younger_graph.store import open_store

    baseline = process_peak_mb()
    start = time.perf_counter()
    with open_store(db) as store:
        if task == "dense":
            meta = export_dense(store, out, DenseOptions())
        else:
            options = PygOptions(task=task, target="num_operators" if task == "graph" else None)
            meta = export_pyg(store, out, options)
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "baseline_mb": baseline, "peak_rss_mb": process_peak_mb(),
                      "counts": meta["counts"]}))


def tensor_bytes(task: str, out: Path) -> int:
    import numpy as np
    import torch

    if task == "dense":
        z = np.load(out / "dense.npz")
        return int(sum(z[name].nbytes for name in ("X", "A", "mask", "node_idx")))
    total = 0
    for split in ("train", "val", "test"):
        data, slices, _ = torch.load(out / "processed" / f"{split}.pt", weights_only=False)
        total += sum(v.nbytes for v in data.values() if torch.is_tensor(v))
        total += sum(v.nbytes for v in (slices or {}).values() if torch.is_tensor(v))  # None: one item
    return total


def build_store(tables: Path, db: Path) -> None:
    from younger_graph.communities import compute_communities
    from younger_graph.store import open_store

    if db.exists():
        return
    tmp = db.with_name(db.name + ".partial")
    if tmp.exists():
        tmp.unlink()
    with open_store(tmp, write=True) as store:
        store.load(tables)
        compute_communities(store, "cnm")
    tmp.rename(db)


def prepare(args: argparse.Namespace) -> tuple[Path, str]:
    if args.db:
        return Path(args.db), f"store {args.db}"
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    if args.scale:
        import synth

        # Our own copy of the tables (a shared .bench/synth-* folder may be rebuilt by another run);
        # the store is rebuilt when the tables' parameters change.
        base = BENCH_DIR / f"export-synth-scale{args.scale:g}"
        folder, manifest, reused = synth.ensure(SAMPLE_DIR, base / "tables", args.scale)
        db = base / "store.db"
        if not reused and db.exists():
            db.unlink()
        build_store(folder, db)
        c = manifest["counts"]
        return db, f"synthetic scale {args.scale:g}: {c['graphs']:,} graphs, {c['operators']:,} operators"
    tables = BENCH_DIR / "export-sample" / "tables"
    if not (tables / "graphs.parquet").exists():
        from younger_graph.extract import extract

        extract([SAMPLE_DIR], tables, workers=1, meta=SAMPLE_DIR / "meta.csv")
    db = BENCH_DIR / "export-sample" / "store.db"
    build_store(tables, db)
    return db, "the shipped sample"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", help="export this store (embedded path or bolt:// URI) instead of building one")
    parser.add_argument("--scale", type=float, help="use benchmarks/synth.py's corpus at this scale")
    parser.add_argument("--tasks", default=",".join(TASKS), help=f"comma-separated, of {', '.join(TASKS)}")
    parser.add_argument("--json", help="write the result here")
    parser.add_argument("--quick", action="store_true", help="smoke mode: the sample, link and dense only")
    parser.add_argument("--child", nargs=3, metavar=("TASK", "DB", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(*args.child)
        return 0
    tasks = ["link", "dense"] if args.quick else [t.strip() for t in args.tasks.split(",") if t.strip()]
    unknown = sorted(set(tasks) - set(TASKS))
    if unknown:
        parser.error(f"unknown task {', '.join(unknown)}")
    db, what = prepare(args)
    print(f"store: {what} ({db})", flush=True)
    work = Path(tempfile.mkdtemp(prefix="bench-export-", dir=BENCH_DIR if BENCH_DIR.exists() else None))
    results: dict[str, Any] = {}
    rows, missed = [], []
    try:
        for task in tasks:
            out = work / task
            proc = subprocess.run([sys.executable, __file__, "--child", task, str(db), str(out)], capture_output=True,
                                  text=True, env=quiet_env())
            if proc.returncode != 0:
                raise RuntimeError(f"export {task} failed:\n{proc.stderr[-3000:]}")
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            nbytes = tensor_bytes(task, out)
            peak = r["peak_rss_mb"] * 2**20
            target = 2 * nbytes + GIB
            r.update({"tensor_bytes": nbytes, "peak_over_tensors": peak / nbytes if nbytes else None,
                      "increase_over_tensors": (peak - r["baseline_mb"] * 2**20) / nbytes if nbytes else None,
                      "target_bytes": target, "met": peak <= target})
            results[task] = r
            if not r["met"]:
                missed.append(task)
            rows.append([task, r["seconds"], nbytes / 2**20, r["baseline_mb"], r["peak_rss_mb"],
                         r["peak_over_tensors"], r["increase_over_tensors"], target / 2**20, r["met"]])
            print(f"  {task}: {r['seconds']:.1f} s, tensors {fmt(nbytes / 2**20)} MiB, "
                  f"peak {fmt(r['peak_rss_mb'])} MiB", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print_table(["export", "s", "tensors MiB", "baseline MiB", "peak MiB", "peak/tensors", "(peak-base)/tensors",
                 "target MiB", "met"], rows, title="peak memory vs tensor bytes (target: peak <= 2 x tensors + 1 GiB)")
    write_json(args.json, {"benchmark": "export", "quick": args.quick, "store": what, "db": str(db),
                           "machine": machine(), "results": results, "missed": missed,
                           "cpu_count": os.cpu_count()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
