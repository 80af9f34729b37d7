"""Extraction speed of the native core: native -j1 / -j2 against the touch floor, Younger's converter
and our Python walker, on a corpus with weights, the same corpus with weights stripped, and a
corpus of several hundred files for the -j2 / -j1 ratio.

Usage:
    python benchmarks/extract_native.py [--json out.json] [--repeat 3] [--quick] [--no-younger]

Every contender is a whole process (interpreter start, imports, writing the tables), timed by wall
clock, rounds interleaved, median kept; CPU seconds are reported too. Contenders:

* native-j1 / native-j2: `younger-graph extract CORPUS -j N` as a user runs it, on the native core
  (younger_graph.walk._native with N Rust threads), writing the four Parquet tables;
* python-j1: the same command with YOUNGER_GRAPH_NATIVE=0 (the Python walker);
* touch-floor, younger: exactly as in benchmarks/extract.py.

Corpora (built once under .bench/native-corpus/):
* weights: the 34 sample/ models with their initializers filled again (random bytes of each
  initializer's dtype and shape: sample/ ships them stripped) + the onnx backend test models;
* structure: the same files with weights stripped (younger_graph.loaders.zoo.strip_weights);
* many-weights: the weights corpus twice over (each copy with its own producer_version, so every
  file is distinct content), and many-structure: the structure corpus 4 times over; both several
  hundred files, for the -j2 / -j1 ratio.

Targets (ratios within one run): native-j1 / touch floor <= 0.6 and Younger / native-j1 >= 10, on
the weights and the structure corpus; native-j1 / native-j2 >= 1.7 on the many-files corpora. The
tables written by native-j1 are compared with python-j1's (and native-j2's): they must be equal.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
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
    quiet_env,
    ratio,
    run_timed,
    target_row,
    write_json,
)
from extract import TOUCH_SCRIPT, YOUNGER_SCRIPT, _backend_name, backend_models, younger_python

CORPUS_DIR = BENCH_DIR / "native-corpus"
COPIES = {"many-weights": ("weights", 2), "many-structure": ("structure", 4)}


# -- corpora ------------------------------------------------------------------------------------
def _graphs(graph):
    yield graph
    for node in graph.node:
        for attr in node.attribute:
            if attr.type == 5:
                yield from _graphs(attr.g)
            elif attr.type == 10:
                for g in attr.graphs:
                    yield from _graphs(g)


def rehydrate(model, seed: int):
    """Fill every external (stripped) initializer with random bytes of its dtype and shape."""
    import numpy as np
    import onnx

    rng = np.random.default_rng(seed)
    for graph in _graphs(model.graph):
        for t in graph.initializer:
            if t.data_location != onnx.TensorProto.EXTERNAL:
                continue
            count = int(np.prod(t.dims, dtype=np.int64)) if len(t.dims) else 1
            if t.data_type in (onnx.TensorProto.INT4, onnx.TensorProto.UINT4, onnx.TensorProto.FLOAT4E2M1):
                size = (count + 1) // 2
            else:
                size = count * onnx.helper.tensor_dtype_to_np_dtype(t.data_type).itemsize
            del t.external_data[:]
            t.data_location = onnx.TensorProto.DEFAULT
            t.raw_data = rng.bytes(size)
    return model


def build_corpora(root: Path, quick: bool) -> dict[str, Path]:
    import onnx
    from younger_graph.loaders.zoo import strip_weights

    weights, structure = root / "weights", root / "structure"
    if not (root / "complete").exists():
        shutil.rmtree(root, ignore_errors=True)
        samples = sorted(SAMPLE_DIR.glob("*.onnx"))
        backend = backend_models()
        if quick:
            samples, backend = samples[:3], backend[:5]
        for k, path in enumerate(samples):
            model = rehydrate(onnx.load(str(path), load_external_data=False), k)
            (weights / "sample").mkdir(parents=True, exist_ok=True)
            (weights / "sample" / path.name).write_bytes(model.SerializeToString())
        for path in backend:
            (weights / "backend").mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, weights / "backend" / _backend_name(path))
        for path in sorted(weights.rglob("*.onnx")):
            model = onnx.load(str(path), load_external_data=False)
            dest = structure / path.relative_to(weights)
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(strip_weights(model).SerializeToString())
        for name, (base, copies) in COPIES.items():
            for copy in range(copies):
                for path in sorted((root / base).rglob("*.onnx")):
                    model = onnx.load(str(path), load_external_data=False)
                    model.producer_version = f"{model.producer_version}+copy{copy}"
                    dest = root / name / f"copy{copy}" / path.relative_to(root / base)
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    dest.write_bytes(model.SerializeToString())
        (root / "complete").write_text("ok\n")
    return {"weights": weights, "structure": structure, **{name: root / name for name in COPIES}}


def corpus_info(folder: Path) -> dict[str, Any]:
    files = sorted(p for p in folder.rglob("*.onnx") if p.is_file())
    return {"path": str(folder), "files": len(files), "bytes": sum(f.stat().st_size for f in files)}


# -- timing ------------------------------------------------------------------------------------
def time_corpus(name: str, corpus: Path, work: Path, repeat: int, contenders: list[str]) -> dict[str, Any]:
    envs = {c: quiet_env(YOUNGER_GRAPH_NATIVE="0" if c.startswith("python-") else "1") for c in contenders}
    files = sorted(str(p) for p in corpus.rglob("*.onnx") if p.is_file())
    listing = work / f"{name}-files.txt"
    listing.write_text("\n".join(files) + "\n", encoding="utf-8")
    empty_listing = work / "no-files.txt"
    empty_listing.write_text("", encoding="utf-8")
    empty_dir = work / "empty-corpus"
    empty_dir.mkdir(exist_ok=True)
    ypython = younger_python()

    def command(contender: str, tag: str, empty: bool) -> tuple[list[str], tuple[int, ...]]:
        source = str(empty_dir if empty else corpus)
        out = work / f"out-{name}-{contender}-{tag}"
        shutil.rmtree(out, ignore_errors=True)
        if contender.startswith(("native-j", "python-j")):
            return [*cli_executable(), "extract", source, "--out", str(out), "-j", contender[-1]], (0, 1)
        if contender == "touch-floor":
            return [sys.executable, str(work / "touch_floor.py"), str(empty_listing if empty else listing)], (0,)
        assert contender == "younger" and ypython is not None
        return [str(ypython), str(work / "younger_convert.py"), str(empty_listing if empty else listing)], (0,)

    runs: dict[str, list[float]] = {c: [] for c in contenders}
    cpus: dict[str, list[float]] = {c: [] for c in contenders}
    startup: dict[str, list[float]] = {c: [] for c in contenders}
    outputs: dict[str, str] = {}
    for r in range(repeat):
        for c in contenders:  # interleaved: drifting load hits every contender alike
            cmd, ok = command(c, str(r), False)
            wall, cpu, proc = run_timed(cmd, env=envs[c], ok_codes=ok)
            runs[c].append(wall)
            cpus[c].append(cpu)
            outputs[c] = (proc.stdout.strip().splitlines() or [""])[-1][:200]
            print(
                f"  {name:<9} round {r + 1}/{repeat}  {c:<12} {wall:7.2f} s wall {cpu:7.2f} s cpu   {outputs[c][:60]}",
                flush=True,
            )
    for r in range(repeat):
        for c in contenders:
            cmd, ok = command(c, f"empty{r}", True)
            startup[c].append(run_timed(cmd, env=envs[c], ok_codes=ok)[0])
    timings = {}
    for c in contenders:
        start = median(startup[c])
        timings[c] = {
            "runs_s": runs[c],
            "median_s": median(runs[c]),
            "cpu_runs_s": cpus[c],
            "cpu_median_s": median(cpus[c]),
            "startup_runs_s": startup[c],
            "startup_median_s": start,
            "ms_per_model": median(runs[c]) * 1000 / len(files),
            "marginal_ms_per_model": max(median(runs[c]) - start, 0.0) * 1000 / len(files),
            "output": outputs[c],
        }
    return {"files": len(files), "timings": timings}


def same_tables(a: Path, b: Path) -> dict[str, bool]:
    import pyarrow.parquet as pq

    return {
        t: pq.read_table(a / f"{t}.parquet").equals(pq.read_table(b / f"{t}.parquet"))
        for t in ("models", "graphs", "operators", "edges")
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", help="write the result here")
    parser.add_argument("--repeat", type=int, help="runs per contender, median kept (default 3, quick 1)")
    parser.add_argument("--quick", action="store_true", help="smoke mode: 3 sample + 5 backend models, one run")
    parser.add_argument("--corpus", type=Path, help=f"corpus root (default {CORPUS_DIR}, quick: a -quick one)")
    parser.add_argument("--no-younger", action="store_true", help="skip Younger's converter")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args(argv)
    try:
        from younger_graph.walk import _native
    except ImportError as exc:
        print(f"the native extension is not built ({exc}): run native/build_dev.sh")
        return 2
    repeat = args.repeat or (1 if args.quick else 3)
    root = args.corpus or (CORPUS_DIR.with_name(CORPUS_DIR.name + "-quick") if args.quick else CORPUS_DIR)
    corpora = build_corpora(root, args.quick)
    info = {k: corpus_info(v) for k, v in corpora.items()}
    for k, v in info.items():
        print(f"corpus {k}: {v['files']} files, {v['bytes'] / 2**20:.1f} MiB")
    BENCH_DIR.mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="bench-native-", dir=BENCH_DIR))
    (work / "touch_floor.py").write_text(TOUCH_SCRIPT, encoding="utf-8")
    (work / "younger_convert.py").write_text(YOUNGER_SCRIPT, encoding="utf-8")
    use_younger = not args.no_younger and younger_python() is not None
    if not args.no_younger and not use_younger:
        print("younger: skipped (no venv at .bench/younger-venv, see benchmarks/README.md)")
    try:
        results: dict[str, Any] = {}
        plan = {
            "weights": ["native-j1", "native-j2", "python-j1", "touch-floor"] + (["younger"] if use_younger else []),
            "structure": ["native-j1", "native-j2", "python-j1", "touch-floor"] + (["younger"] if use_younger else []),
            "many-weights": ["native-j1", "native-j2", "touch-floor"],
            "many-structure": ["native-j1", "native-j2", "touch-floor"],
        }
        for name, contenders in plan.items():
            results[name] = time_corpus(name, corpora[name], work, repeat, contenders)
            t = results[name]["timings"]
            n1 = t["native-j1"]["median_s"]
            results[name]["ratios"] = {
                "native_j1_over_touch_floor": ratio(n1, t["touch-floor"]["median_s"]),
                "younger_over_native_j1": ratio(t.get("younger", {}).get("median_s"), n1),
                "native_j1_over_native_j2": ratio(n1, t["native-j2"]["median_s"]),
                "python_j1_over_native_j1": ratio(t.get("python-j1", {}).get("median_s"), n1),
                "cpu_native_j1_over_touch_floor": ratio(
                    t["native-j1"]["cpu_median_s"], t["touch-floor"]["cpu_median_s"]
                ),
                "cpu_younger_over_native_j1": ratio(
                    t.get("younger", {}).get("cpu_median_s"), t["native-j1"]["cpu_median_s"]
                ),
                "marginal_native_j1_over_touch_floor": ratio(
                    t["native-j1"]["marginal_ms_per_model"], t["touch-floor"]["marginal_ms_per_model"]
                ),
                "marginal_native_j1_over_native_j2": ratio(
                    t["native-j1"]["marginal_ms_per_model"], t["native-j2"]["marginal_ms_per_model"]
                ),
            }
            last = str(repeat - 1)
            ref = "python-j1" if "python-j1" in contenders else "native-j2"
            results[name]["tables_equal"] = {
                f"native-j1 vs {ref}": same_tables(
                    work / f"out-{name}-native-j1-{last}", work / f"out-{name}-{ref}-{last}"
                )
            }
            print_table(
                ["contender", "median s", "ms/model", "cpu s", "start-up s", "marginal ms/model", "runs (s)"],
                [
                    [
                        c,
                        x["median_s"],
                        x["ms_per_model"],
                        x["cpu_median_s"],
                        x["startup_median_s"],
                        x["marginal_ms_per_model"],
                        " ".join(f"{v:.2f}" for v in x["runs_s"]),
                    ]
                    for c, x in t.items()
                ],
                title=f"{name}: {results[name]['files']} files, whole processes, median of {repeat}",
            )
            print(f"tables equal: {results[name]['tables_equal']}")
        targets = [
            target_row(
                "weights: native-j1 / touch floor",
                results["weights"]["ratios"]["native_j1_over_touch_floor"],
                "<=",
                0.6,
            ),
            target_row(
                "structure: native-j1 / touch floor",
                results["structure"]["ratios"]["native_j1_over_touch_floor"],
                "<=",
                0.6,
            ),
            target_row(
                "weights: younger / native-j1", results["weights"]["ratios"]["younger_over_native_j1"], ">=", 10
            ),
            target_row(
                "structure: younger / native-j1", results["structure"]["ratios"]["younger_over_native_j1"], ">=", 10
            ),
            target_row(
                "many-weights: native-j1 / native-j2",
                results["many-weights"]["ratios"]["native_j1_over_native_j2"],
                ">=",
                1.7,
            ),
            target_row(
                "many-structure: native-j1 / native-j2",
                results["many-structure"]["ratios"]["native_j1_over_native_j2"],
                ">=",
                1.7,
            ),
        ]
        print_table(["ratio", "value", "target", "met"], targets, title="targets (wall clock, same run)")
        print_table(
            [
                "corpus",
                "python-j1 / native-j1",
                "cpu: native-j1 / floor",
                "cpu: younger / native-j1",
                "marginal: native-j1 / floor",
                "native-j1 / native-j2",
                "marginal: j1 / j2",
            ],
            [
                [
                    k,
                    r["ratios"]["python_j1_over_native_j1"],
                    r["ratios"]["cpu_native_j1_over_touch_floor"],
                    r["ratios"]["cpu_younger_over_native_j1"],
                    r["ratios"]["marginal_native_j1_over_touch_floor"],
                    r["ratios"]["native_j1_over_native_j2"],
                    r["ratios"]["marginal_native_j1_over_native_j2"],
                ]
                for k, r in results.items()
            ],
            title="other ratios",
        )
        print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
        write_json(
            args.json,
            {
                "benchmark": "extract_native",
                "quick": args.quick,
                "machine": machine(),
                "repeat": repeat,
                "native_version": _native.version(),
                "corpora": info,
                "results": results,
                "targets": {row[0]: {"value": row[1], "target": row[2], "met": row[3]} for row in targets},
                "missed": [row[0] for row in targets if row[3] is False],
            },
        )
    finally:
        if args.keep:
            print(f"work folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
