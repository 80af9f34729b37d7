"""`younger-graph stats` speed: the store's stats queries against pandas on the Parquet tables.

Usage:
    python benchmarks/stats.py [--quick] [--json out.json] [--repeat 5] [--synth-scale 0.01] [--no-synth]

For each dataset, in one run on the same machine:

* stats: `open_store(db)` + `compute_stats(store)` + `render_json(doc)` on the embedded store
  (LadybugDB) the tables were loaded into; everything the `stats` command computes, no plots;
* pandas: the same document computed from the four Parquet tables with pandas/numpy (read the
  columns it needs, group, join edges to their operators, bincount degrees): what a user would
  write without a graph store. The per-graph metrics come from graphs.parquet in both cases.

Both are timed `--repeat` times (median). The ratio stats / pandas is the target (<= 3). The two
documents must agree (`agree` in the result), so both sides do the same work.

Datasets: the shipped sample (extracted into a temporary folder), and, unless --no-synth or
--quick, the synthetic corpus of benchmarks/synth.py at --synth-scale when synth.py is there.
"""

from __future__ import annotations

import argparse
import math
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BENCH_DIR, SAMPLE_DIR, machine, median, print_table, ratio, target_row, write_json

from younger_graph.stats.compute import SCHEMA_VERSION, distribution

TARGET = 3.0
TOP = 30


# -- the pandas baseline ------------------------------------------------------------------------
def _counts(models: pd.DataFrame, by: str) -> list[dict[str, Any]]:
    m = models.assign(**{by: models[by].fillna(""), "ok": models.status == "ok"})
    g = m.groupby(by).agg(models=("status", "size"), models_ok=("ok", "sum"), graphs=("graph_id", "nunique"))
    rows = [{by: k, "models": int(r.models), "models_ok": int(r.models_ok),
             "models_failed": int(r.models - r.models_ok), "graphs": int(r.graphs)} for k, r in g.iterrows()]
    return sorted(rows, key=lambda r: (-r["models"], r[by]))


def _degrees(per_node: np.ndarray) -> dict[str, Any]:
    counts = np.bincount(per_node) if per_node.size else np.zeros(0, np.int64)
    hist = [{"degree": d, "nodes": int(c)} for d, c in enumerate(counts.tolist()) if c]
    nodes = int(per_node.size)
    return {"nodes": nodes, "mean": float(per_node.sum()) / nodes if nodes else None,
            "max": hist[-1]["degree"] if hist else None, "histogram": hist}


def pandas_stats(folder: Path, top: int = TOP) -> dict[str, Any]:
    """The stats document of every graph in an extraction folder, with pandas (no store)."""
    models = pd.read_parquet(folder / "models.parquet", columns=["status", "graph_id", "task", "origin"])
    graphs = pd.read_parquet(folder / "graphs.parquet")
    ops = pd.read_parquet(folder / "operators.parquet", columns=["graph_id", "idx", "kind", "op_type", "domain",
                                                                 "attrs"])
    edges = pd.read_parquet(folder / "edges.parquet", columns=["graph_id", "src", "dst"])
    n_ok = int((models.status == "ok").sum())
    n_graphs = len(graphs)
    is_op = (ops.kind == "operator").to_numpy()
    o = ops[is_op]

    types = o.groupby(["op_type", "domain"], sort=False).agg(occurrences=("idx", "size"),
                                                             graphs=("graph_id", "nunique"),
                                                             attr_variants=("attrs", "nunique"))
    rows = [{"op_type": t, "domain": d, "occurrences": int(r.occurrences), "graphs": int(r.graphs),
             "attr_variants": int(r.attr_variants), "share": r.occurrences / len(o)}
            for (t, d), r in types.iterrows()]

    # Node rows are grouped by graph with idx 0..n-1: a node's global row is its graph's first row + idx.
    first = ops.index[ops.idx.to_numpy() == 0]
    start = pd.Series(first.to_numpy(), index=ops.graph_id.to_numpy()[first])
    base = start.reindex(edges.graph_id.to_numpy()).to_numpy()
    src = base + edges.src.to_numpy()
    dst = base + edges.dst.to_numpy()
    n = len(ops)
    in_deg = np.bincount(dst, minlength=n)
    out_deg = np.bincount(src, minlength=n)
    both = is_op[src] & is_op[dst]
    op_type = ops.op_type.to_numpy()
    pairs = pd.DataFrame({"producer": op_type[src[both]], "consumer": op_type[dst[both]],
                          "graph_id": edges.graph_id.to_numpy()[both]})
    co = pairs.groupby(["producer", "consumer"], sort=False).agg(edges=("graph_id", "size"),
                                                                graphs=("graph_id", "nunique"))
    co = co.reset_index().sort_values(["edges", "producer", "consumer"], ascending=[False, True, True]).head(top)

    have = graphs[graphs.depth.notna()]
    acyclic = have[have.depth >= 0]
    counts = {
        "control_flow": int(graphs.has_control_flow.fillna(False).astype(bool).sum()),
        "subgraphs": int((graphs.num_subgraphs > 0).sum()),
        "functions": int((graphs.num_functions > 0).sum()),
        "custom_domain": int(graphs.has_custom_domain.fillna(False).astype(bool).sum()),
        "multi_component": int((graphs.num_components > 1).sum()),
        "cyclic": int((graphs.depth < 0).sum()),
        "missing_metrics": int(graphs.depth.isna().sum()),
    }
    return {
        "schema_version": SCHEMA_VERSION,
        "selection": {"view": "exact", "task": None, "where": None, "where_params": {}, "graphs": n_graphs},
        "overview": {
            "models": len(models), "models_ok": n_ok, "models_failed": len(models) - n_ok, "graphs": n_graphs,
            "graphs_noattr": int(graphs.graph_id_noattr.nunique()),
            "graphs_arch": int(graphs.graph_id_arch.nunique()) if "graph_id_arch" in graphs else 0,
            "dedup_ratio": n_ok / n_graphs if n_graphs else None,
            "nodes": n, "operators": len(o), "edges": len(edges), "op_types": int(o.op_type.nunique()),
            "vocabulary_with_attrs": int(types.attr_variants.sum()),
            "vocabulary_without_attrs": len(types),
        },
        "by_task": _counts(models, "task"),
        "by_origin": _counts(models, "origin"),
        "sizes": {k: distribution(graphs[f"num_{k}"]) for k in ("operators", "edges", "nodes")},
        "op_types": {
            "distinct": len(rows), "occurrences": len(o), "top": top,
            "by_occurrences": sorted(rows, key=lambda r: (-r["occurrences"], r["op_type"], r["domain"]))[:top],
            "by_graphs": sorted(rows, key=lambda r: (-r["graphs"], -r["occurrences"], r["op_type"],
                                                     r["domain"]))[:top],
        },
        "degrees": {"in": _degrees(in_deg), "out": _degrees(out_deg)},
        "structure": {
            "graphs": n_graphs, "with_metrics": len(have),
            "depth": distribution(acyclic.depth), "width": distribution(acyclic.width),
            "entropy": distribution(have.op_type_entropy, bins="linear"),
            "components": distribution(have.num_components),
            "op_types_per_graph": distribution(have.num_op_types),
            "max_in_degree": distribution(have.max_in_degree),
            "max_out_degree": distribution(have.max_out_degree),
            "counts": counts, "fractions": {k: v / n_graphs if n_graphs else None for k, v in counts.items()},
        },
        "cooccurrence": [{"producer": r.producer, "consumer": r.consumer, "edges": int(r.edges),
                          "graphs": int(r.graphs)} for r in co.itertuples()],
    }


def differences(a: Any, b: Any, path: str = "") -> list[str]:
    """Where two documents differ (floats compared to 1e-9 relative)."""
    if isinstance(a, dict) and isinstance(b, dict):
        if list(a) != list(b):
            return [f"{path}: keys {sorted(set(a) ^ set(b))}"]
        return [d for k in a for d in differences(a[k], b[k], f"{path}.{k}")]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: {len(a)} vs {len(b)} items"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in differences(x, y, f"{path}[{i}]")]
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None or not math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12):
            return [f"{path}: {a!r} vs {b!r}"]
        return []
    return [] if a == b else [f"{path}: {a!r} vs {b!r}"]


# -- the store side -----------------------------------------------------------------------------
def store_stats(db: Path) -> dict[str, Any]:
    from younger_graph.stats import compute_stats, render_json
    from younger_graph.store import open_store

    with open_store(db) as store:
        doc = compute_stats(store, top=TOP)
    render_json(doc)
    return doc


def timed(fn: Any, repeat: int) -> tuple[float, list[float], float, Any]:
    """(median wall s, wall runs, median CPU s of this process, all threads, the last result)."""
    runs, cpu, result = [], [], None
    for _ in range(repeat):
        start, cpu0 = time.perf_counter(), time.process_time()
        result = fn()
        runs.append(time.perf_counter() - start)
        cpu.append(time.process_time() - cpu0)
    return median(runs), runs, median(cpu), result


def bench(name: str, folder: Path, work: Path, repeat: int) -> dict[str, Any]:
    from younger_graph.store import open_store

    db = work / f"{name}.db"
    start = time.perf_counter()
    with open_store(db, write=True) as store:
        summary = store.load(folder)
    load_s = time.perf_counter() - start
    pandas_stats(folder)  # warm the OS page cache for both sides alike (the store's files were just written)
    stats_s, stats_runs, stats_cpu, doc = timed(lambda: store_stats(db), repeat)
    pandas_s, pandas_runs, pandas_cpu, expected = timed(lambda: pandas_stats(folder), repeat)
    diff = differences(doc, expected)
    result = {
        "tables": str(folder),
        "graphs": doc["overview"]["graphs"], "operators": doc["overview"]["nodes"], "edges": doc["overview"]["edges"],
        "load_s": load_s, "loaded": summary.as_dict(),
        "stats_s": stats_s, "stats_runs_s": stats_runs, "stats_cpu_s": stats_cpu,
        "pandas_s": pandas_s, "pandas_runs_s": pandas_runs, "pandas_cpu_s": pandas_cpu,
        "ratio_stats_over_pandas": ratio(stats_s, pandas_s),
        "cpu_ratio_stats_over_pandas": ratio(stats_cpu, pandas_cpu),
        "agree": not diff, "differences": diff[:20],
    }
    print(f"  {name}: {result['graphs']:,} graphs, {result['operators']:,} nodes, {result['edges']:,} edges; "
          f"stats {stats_s:.3f} s, pandas {pandas_s:.3f} s, ratio {result['ratio_stats_over_pandas']:.2f}; "
          f"documents {'agree' if not diff else 'DIFFER: ' + '; '.join(diff[:3])}", flush=True)
    return result


def sample_tables(work: Path, source: Path) -> Path:
    from younger_graph.extract import extract

    out = work / "sample-tables"
    meta = source / "meta.csv"
    extract([source], out, workers=1, meta=meta if meta.exists() else None)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", help="write the result here")
    parser.add_argument("--quick", action="store_true", help="smoke mode: the sample only, one repeat")
    parser.add_argument("--repeat", type=int, help="timed runs per side (median; default 5, --quick 1)")
    parser.add_argument("--sample", type=Path, default=SAMPLE_DIR, help="model folder (default sample/)")
    parser.add_argument("--no-synth", action="store_true", help="skip the synthetic corpus")
    parser.add_argument("--synth-scale", type=float, default=0.01, help="synthetic corpus scale (default 0.01)")
    parser.add_argument("--synth-out", type=Path, help="where the synthetic tables go (default .bench/)")
    args = parser.parse_args(argv)
    repeat = args.repeat or (1 if args.quick else 5)

    BENCH_DIR.mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="bench-stats-", dir=BENCH_DIR))
    datasets: dict[str, Any] = {}
    try:
        datasets["sample"] = bench("sample", sample_tables(work, args.sample), work, repeat)
        synth_py = Path(__file__).resolve().parent / "synth.py"
        if args.quick or args.no_synth or not synth_py.exists():
            reason = "--quick" if args.quick else "--no-synth" if args.no_synth else "benchmarks/synth.py is absent"
            datasets["synthetic"] = {"status": "skipped", "reason": reason}
        else:
            import synth

            folder, _, reused = synth.ensure(args.sample, args.synth_out, args.synth_scale, 0,
                                             base_out=work / "synth-base")
            print(f"synthetic tables at scale {args.synth_scale:g}: {folder} ({'reused' if reused else 'built'})")
            datasets["synthetic"] = bench("synthetic", folder, work, repeat)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    measured = {k: v for k, v in datasets.items() if "ratio_stats_over_pandas" in v}
    print_table(["dataset", "graphs", "nodes", "edges", "stats s", "pandas s", "stats / pandas", "CPU ratio",
                 "agree"],
                [[k, v["graphs"], v["operators"], v["edges"], v["stats_s"], v["pandas_s"],
                  v["ratio_stats_over_pandas"], v["cpu_ratio_stats_over_pandas"], v["agree"]]
                 for k, v in measured.items()],
                title=f"stats on the embedded store vs pandas on the tables (wall-clock median of {repeat}; "
                      "CPU ratio counts every thread)")
    targets = [target_row(f"{k}: stats / pandas", v["ratio_stats_over_pandas"], "<=", TARGET)
               for k, v in measured.items()]
    print_table(["target", "value", "target", "met"], targets, title="targets")
    write_json(args.json, {
        "benchmark": "stats",
        "quick": args.quick,
        "machine": machine(),
        "repeat": repeat,
        "datasets": datasets,
        "ratios": {k: v["ratio_stats_over_pandas"] for k, v in measured.items()},
        "targets": {row[0]: {"value": row[1], "target": row[2], "met": row[3]} for row in targets},
        "missed": [row[0] for row in targets if row[3] is False],
        "agree": all(v["agree"] for v in measured.values()),
    })
    return 0 if all(v["agree"] for v in measured.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
