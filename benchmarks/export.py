"""Export memory: peak RSS of `export pyg` / `export dense` against the bytes of the tensors they write.

Usage:
    python benchmarks/export.py [--scale 0.01] [--db DB] [--tasks link,link-disk,operator,graph,dense] [--json out.json]
                                [--quick]
    python benchmarks/export.py --processing-only --scale 1

The store is, in order of preference: --db (an existing store, exported as it is); with --scale, the
synthetic corpus of benchmarks/synth.py at that scale (built or reused from .bench/) loaded into an
embedded store there; otherwise the shipped sample/ (extracted and loaded into .bench/). Stores built
here are reused by later runs; cnm communities are computed once when the operator task is asked for.

Each export runs in a child process (open the store read-only, export, exit), as the CLI does it, so
its peak RSS (VmHWM of /proc/self/status; ru_maxrss elsewhere) is the export's own plus the
interpreter's: `baseline_mb` is the RSS before the export (younger_graph imported, torch not yet:
the export imports torch itself after reading the store, and torch's import, ~0.5-0.7 GiB with a
CUDA build, is part of the peak). `tensor_bytes` is the sum of nbytes of every tensor in the
files written (processed/{train,val,test}.pt; dense X, A, mask, node_idx; for `link-disk`, the
link export with --storage disk, every tensor of every item of processed/ondisk/*.db). Ratios: peak /
tensor bytes, (peak - baseline) / tensor bytes; `link-disk` also reports its peak over `link`'s.

`--processing-only --scale S` measures the tensor stage alone (build_processed of a link export, in
memory then on disk) on a raw/ folder made straight from the synthetic tables, without building a
store first (the embedded load of scale 1 takes ~4 minutes; reading a store is one batch deep). For
the whole export at that scale, load the tables into a store and pass it with --db.

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
TASKS = ("link", "link-disk", "operator", "graph", "dense")
QUICK_TASKS = ["link", "link-disk", "dense"]


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
    from younger_graph.datasets import build_processed
    from younger_graph.export.dense import DenseOptions, export_dense
    from younger_graph.export.raw import PygOptions, write_raw
    from younger_graph.store import open_store

    baseline = process_peak_mb()
    start = time.perf_counter()
    with open_store(db) as store:  # as the CLI does: read with the store open, build tensors after closing it
        if task == "dense":
            meta = export_dense(store, out, DenseOptions())
        else:
            pyg_task, storage = task.removesuffix("-disk"), "disk" if task.endswith("-disk") else "memory"
            write_raw(store, Path(out), PygOptions(task=pyg_task, storage=storage,
                                                   target="num_operators" if task == "graph" else None))
    if task != "dense":
        meta = build_processed(out)
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "baseline_mb": baseline, "peak_rss_mb": process_peak_mb(),
                      "counts": meta["counts"]}))


def process_child(root: str, storage: str) -> None:
    """Runs in a child process: only the tensor-building stage (build_processed) of a link export."""
    from younger_graph.datasets import build_processed

    baseline = process_peak_mb()
    start = time.perf_counter()
    meta = build_processed(root, storage=storage)
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "baseline_mb": baseline, "peak_rss_mb": process_peak_mb(),
                      "counts": meta["counts"]}))


def raw_from_tables(tables: Path, root: Path) -> None:
    """A link export's raw/ made straight from extraction tables (no store): what write_raw would read
    from a store holding them. Lets the tensor stage be measured at sizes a store load cannot reach here."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from younger_graph.export.raw import FORMAT, RAW_SCHEMAS, PygOptions

    raw = root / "raw"
    if (raw / "export.json").exists():
        return
    raw.mkdir(parents=True, exist_ok=True)
    counts = {}
    for name, source, keys in (("operators", "operators", ["graph_id", "idx"]),
                               ("flows", "edges", RAW_SCHEMAS["flows"].names)):
        table = pq.read_table(tables / f"{source}.parquet", columns=RAW_SCHEMAS[name].names)
        table = table.take(pc.sort_indices(table, [(k, "ascending") for k in keys])).cast(RAW_SCHEMAS[name])
        pq.write_table(table, raw / f"{name}.parquet", compression="zstd", row_group_size=100_000)
        counted = table.group_by("graph_id").aggregate([("graph_id", "count")])
        counts[name] = dict(zip(counted.column(0).to_pylist(), counted.column(1).to_pylist()))
        del table
    ids = sorted(pq.read_table(tables / "graphs.parquet", columns=["graph_id"]).column(0).to_pylist())
    pq.write_table(pa.table({"graph_id": ids, "num_nodes": [counts["operators"].get(g, 0) for g in ids],
                             "num_edges": [counts["flows"].get(g, 0) for g in ids]}, schema=RAW_SCHEMAS["graphs"]),
                   raw / "graphs.parquet")
    options = PygOptions(task="link")
    params = {"format": FORMAT, "task": "link", "options": {**options.__dict__, "split": list(options.split)},
              "selection": {}, "store": {"backend": f"none: raw/ made from {tables}"}, "read": {}}
    (raw / "export.json").write_text(json.dumps(params, indent=2) + "\n", encoding="utf-8")


def tensor_bytes(task: str, out: Path) -> int:
    import numpy as np
    import torch

    if task == "dense":
        z = np.load(out / "dense.npz")
        return int(sum(z[name].nbytes for name in ("X", "A", "mask", "node_idx")))
    if task.endswith("-disk"):
        return ondisk_tensor_bytes(out)
    total = 0
    for split in ("train", "val", "test"):
        data, slices, _ = torch.load(out / "processed" / f"{split}.pt", weights_only=False)
        total += sum(v.nbytes for v in data.values() if torch.is_tensor(v))
        total += sum(v.nbytes for v in (slices or {}).values() if torch.is_tensor(v))  # None: one item
    return total


def ondisk_tensor_bytes(out: Path, chunk: int = 1_000) -> int:
    """nbytes of every tensor of every item of processed/ondisk/{split}.db, read `chunk` items at a time."""
    import torch

    from younger_graph.datasets import SPLITS, YoungerOnDiskDataset

    total = 0
    for split in SPLITS:
        dataset = YoungerOnDiskDataset(out, split=split, log=False)
        for start in range(0, len(dataset), chunk):
            for data in dataset.multi_get(range(start, min(start + chunk, len(dataset)))):
                total += sum(value.nbytes for _, value in data if torch.is_tensor(value))
        dataset.close()
    return total


def build_store(tables: Path, db: Path, communities: bool) -> None:
    """Load `tables` into the embedded store `db` (once); cnm communities when the operator task needs them."""
    from younger_graph.communities import compute_communities
    from younger_graph.reading import graphs_with_communities
    from younger_graph.store import open_store

    if not db.exists():
        tmp = db.with_name(db.name + ".partial")
        if tmp.exists():
            tmp.unlink()
        with open_store(tmp, write=True) as store:
            store.load(tables)
        tmp.rename(db)
    if communities:
        with open_store(db) as store:
            done = bool(graphs_with_communities(store, "cnm"))
        if not done:
            with open_store(db, write=True) as store:
                compute_communities(store, "cnm")


def prepare(args: argparse.Namespace, communities: bool) -> tuple[Path, str]:
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
        build_store(folder, db, communities)
        c = manifest["counts"]
        return db, f"synthetic scale {args.scale:g}: {c['graphs']:,} graphs, {c['operators']:,} operators"
    tables = BENCH_DIR / "export-sample" / "tables"
    if not (tables / "graphs.parquet").exists():
        from younger_graph.extract import extract

        extract([SAMPLE_DIR], tables, workers=1, meta=SAMPLE_DIR / "meta.csv")
    db = BENCH_DIR / "export-sample" / "store.db"
    build_store(tables, db, communities)
    return db, "the shipped sample"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", help="export this store (embedded path or bolt:// URI) instead of building one")
    parser.add_argument("--scale", type=float, help="use benchmarks/synth.py's corpus at this scale")
    parser.add_argument("--tasks", default=",".join(TASKS), help=f"comma-separated, of {', '.join(TASKS)}")
    parser.add_argument("--json", help="write the result here")
    parser.add_argument("--quick", action="store_true", help="smoke mode: the sample, link, link-disk and dense only")
    parser.add_argument("--processing-only", action="store_true",
                        help="with --scale: measure only the tensor stage of a link export, on a raw/ folder made "
                             "straight from the synthetic tables (no store: reaches full scale on a small machine)")
    parser.add_argument("--child", nargs=3, metavar=("TASK", "DB", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument("--process-child", nargs=2, metavar=("ROOT", "STORAGE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(*args.child)
        return 0
    if args.process_child:
        process_child(*args.process_child)
        return 0
    if args.processing_only:
        return processing_only(args)
    tasks = QUICK_TASKS if args.quick else [t.strip() for t in args.tasks.split(",") if t.strip()]
    unknown = sorted(set(tasks) - set(TASKS))
    if unknown:
        parser.error(f"unknown task {', '.join(unknown)}")
    db, what = prepare(args, "operator" in tasks)
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
            if task.endswith("-disk") and task.removesuffix("-disk") in results:
                r["peak_over_memory_storage"] = r["peak_rss_mb"] / results[task.removesuffix("-disk")]["peak_rss_mb"]
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


def processing_only(args: argparse.Namespace) -> int:
    import synth

    if not args.scale:
        sys.exit("--processing-only needs --scale")
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    base = BENCH_DIR / f"export-synth-scale{args.scale:g}"
    tables, manifest, reused = synth.ensure(SAMPLE_DIR, base / "tables", args.scale)
    root = base / "raw-link"
    if not reused and root.exists():
        shutil.rmtree(root)
    raw_from_tables(tables, root)
    c = manifest["counts"]
    what = f"synthetic scale {args.scale:g}: {c['graphs']:,} graphs, {c['operators']:,} operators, {c['edges']:,} edges"
    print(f"tensor stage only (link): {what}", flush=True)
    results: dict[str, Any] = {}
    rows = []
    for storage in ("memory", "disk"):
        proc = subprocess.run([sys.executable, __file__, "--process-child", str(root), storage], capture_output=True,
                              text=True, env=quiet_env())
        if proc.returncode != 0:
            raise RuntimeError(f"processing ({storage}) failed:\n{proc.stderr[-3000:]}")
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        nbytes = tensor_bytes("link" if storage == "memory" else "link-disk", root)
        peak, target = r["peak_rss_mb"] * 2**20, 2 * nbytes + GIB
        r.update({"storage": storage, "tensor_bytes": nbytes, "peak_over_tensors": peak / nbytes,
                  "target_bytes": target, "increase_over_tensors": (peak - r["baseline_mb"] * 2**20) / nbytes,
                  "met": peak <= target})
        if storage == "disk":
            r["peak_over_memory_storage"] = r["peak_rss_mb"] / results["link-processing"]["peak_rss_mb"]
        results["link-processing" + ("-disk" if storage == "disk" else "")] = r
        rows.append([f"link tensors ({storage})", r["seconds"], nbytes / 2**20, r["baseline_mb"], r["peak_rss_mb"],
                     r["peak_over_tensors"], r["increase_over_tensors"], target / 2**20, r["met"]])
    print_table(["stage", "s", "tensors MiB", "baseline MiB", "peak MiB", "peak/tensors", "(peak-base)/tensors",
                 "target MiB", "met"], rows,
                title="tensor stage: peak memory vs tensor bytes (target: peak <= 2 x tensors + 1 GiB)")
    write_json(args.json, {"benchmark": "export", "mode": "processing-only", "store": what, "machine": machine(),
                           "results": results, "missed": [k for k, r in results.items() if not r["met"]]})
    return 0


if __name__ == "__main__":
    sys.exit(main())
